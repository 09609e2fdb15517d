"""The all-in-one's one switch, ``[ca] secure_bus = true``: TLS everywhere, certificates
for identities.

With it, at each start (before the reactor runs), the all-in-one:

- reads its CA, or creates it (as nova-cert would at its first start);
- revokes the certificates the previous start issued for itself (their
  ``file_name`` starts ``allinone:``), then issues fresh ones -- a server
  certificate naming every address of this host, and one client certificate
  per service (``CN=<authid>, OU=<role>``) -- records them (never the keys),
  writes them under ``<keys_path>/allinone/`` (keys mode 0600) and re-signs
  the CRL;
- rewrites the configuration: the router listens with TLS (``wss://``,
  RawSocket over TLS), verifies client certificates against the CA and the
  CRL, and takes ``tls`` authentication; each service joins with its own
  certificate instead of a WAMP-CRA secret; nova-api serves https; the
  console proxies serve https/wss; the fake guests' VNC serves VeNCrypt x509
  only and demands the proxy's certificate, which the proxy presents while
  verifying theirs.

People still join the router with WAMP-Ticket (an Identity token), over TLS.
:func:`secured` is the pure part (what the configuration becomes);
:func:`issue_identities` does the files and the database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nova_ws.allinone.identities import ROLES, TICKET_PROCEDURE, authid_for
from nova_ws.auth.ca import authority, offline
from nova_ws.auth.ca.authority import CaPaths
from nova_ws.config import NovaConfig
from nova_ws.db.queries import certificates

#: ``file_name`` prefix of the certificates the all-in-one issues for itself.
MARK = "allinone:"
_SCHEMES = {"http": "https", "ws": "wss", "rs": "rss"}


@dataclass(frozen=True)
class Layout:
    """Where the all-in-one's certificates live."""

    ca: CaPaths
    directory: Path

    @classmethod
    def of(cls, config: NovaConfig) -> Layout:
        """The layout for ``config``'s ``[ca]``."""
        paths = CaPaths.from_config(config.ca, config.default.state_path)
        return cls(paths, paths.keys / "allinone")

    @property
    def server(self) -> tuple[str, str]:
        """The server certificate and key files."""
        return str(self.directory / "server-cert.pem"), str(self.directory / "server-key.pem")

    def client(self, authid: str) -> tuple[str, str]:
        """A service's client certificate and key files."""
        return (str(self.directory / f"{authid}-cert.pem"),
                str(self.directory / f"{authid}-key.pem"))

    @property
    def vnc(self) -> Path:
        """The guests' VNC certificate directory, in QEMU's layout."""
        return self.directory / "vnc"


def _secure_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=_SCHEMES.get(parts.scheme, parts.scheme)))


def server_names(config: NovaConfig) -> list[str]:
    """Every name and address this host's TLS servers may be reached at."""
    d = config.default
    names = ["localhost", "127.0.0.1", "::1", d.host, d.my_ip, config.router.listen_host,
             d.osapi_compute_listen, config.vnc.server_listen, config.vnc.novncproxy_host,
             config.spice.html5proxy_host, config.serial_console.serialproxy_host]
    for url in (config.vnc.novncproxy_base_url, config.spice.html5proxy_base_url,
                config.serial_console.base_url, config.wamp.url):
        names.append(urlsplit(url).hostname or "")
    return [n for n in dict.fromkeys(names) if n and n not in ("0.0.0.0", "::")]


def secured(config: NovaConfig, tapnames: list[str]
            ) -> tuple[NovaConfig, dict[str, NovaConfig]]:
    """The router's configuration and each service's, with TLS and certificates.

    Pure: the files it names are written by :func:`issue_identities`.
    """
    layout = Layout.of(config)
    ca_file, crl_file = str(layout.ca.cert), str(layout.ca.crl)
    cert, key = layout.server
    proxy_cert, proxy_key = layout.client(authid_for("nova-novncproxy", config))
    base = replace(
        config,
        wamp=replace(config.wamp, url=_secure_url(config.wamp.url), tls_ca_file=ca_file),
        wsgi=replace(config.wsgi, ssl_cert_file=cert, ssl_key_file=key),
        console=replace(config.console, ssl_only=True, cert=cert, key=key),
        vnc=replace(config.vnc, novncproxy_base_url=_secure_url(config.vnc.novncproxy_base_url),
                    server_tls=True, server_tls_x509_cert_dir=str(layout.vnc),
                    server_tls_x509_verify=True, auth_schemes=("vencrypt",),
                    vencrypt_ca_certs=ca_file, vencrypt_client_cert=proxy_cert,
                    vencrypt_client_key=proxy_key),
        spice=replace(config.spice,
                      html5proxy_base_url=_secure_url(config.spice.html5proxy_base_url)),
        serial_console=replace(config.serial_console,
                               base_url=_secure_url(config.serial_console.base_url)),
    )
    per_service: dict[str, NovaConfig] = {}
    for tapname in tapnames:
        if tapname not in ROLES:
            continue
        authid = authid_for(tapname, config)
        client_cert, client_key = layout.client(authid)
        per_service[tapname] = replace(base, wamp=replace(
            base.wamp, authid=authid, authmethod="tls", secret="", tls_cert_file=client_cert,
            tls_key_file=client_key))
    methods = [m for m in config.router.auth_methods if m != "wampcra" or config.router_wampcra]
    methods += [m for m in ("tls", "ticket") if m not in methods]
    router = replace(config.router, tls_cert_file=cert, tls_key_file=key, tls_ca_file=ca_file,
                     tls_crl_file=crl_file, auth_methods=tuple(methods))
    if "nova-api" in tapnames and not router.ticket_authenticator:
        router = replace(router, ticket_authenticator=TICKET_PROCEDURE)
    return replace(base, router=router), per_service


def issue_identities(config: NovaConfig, tapnames: list[str], engine: Engine) -> int:
    """Make the CA if needed, revoke the last start's certificates, issue this start's.

    *engine* is the (migrated) database the certificates are recorded in.
    Returns how many certificates were issued. Raises CaError when the CA's
    files cannot be used.
    """
    ca_config = config.ca
    layout = Layout.of(config)
    ca, _ = authority.load_or_create(layout.ca, ca_config.common_name, ca_config.ca_days)
    days = ca_config.cert_days
    issued: list[tuple[str, authority.Issued, tuple[str, str]]] = [
        ("server", ca.issue_server(config.default.host, server_names(config), days),
         layout.server)]
    for tapname in tapnames:
        role = ROLES.get(tapname)
        if role is not None:
            authid = authid_for(tapname, config)
            issued.append((authid, ca.issue_service(authid, role, days), layout.client(authid)))
    with Session(engine) as session, session.begin():
        certificates.revoke_certificates(session, file_name_prefix=MARK, now=ca.now())
        for name, one, _files in issued:
            offline.record(session, ca, one, file_name=f"{MARK}{name}")
        offline.resign_crl(session, ca, layout.ca, ca_config.crl_days)
    for _name, one, (cert_file, key_file) in issued:
        authority.write_private(Path(key_file), one.key_pem)
        authority.write_public(Path(cert_file), one.cert_pem + ca.cert_pem)
    _vnc_directory(layout, issued[0][1], ca.cert_pem)
    return len(issued)


def _vnc_directory(layout: Layout, server: authority.Issued, ca_pem: bytes) -> None:
    """QEMU's layout for the guests' VNC: the server pair, the CA, the live CRL (a link)."""
    vnc = layout.vnc
    authority.write_issued(vnc, "server", server)
    authority.write_public(vnc / "ca-cert.pem", ca_pem)
    crl = vnc / "ca-crl.pem"
    if not crl.is_symlink():
        crl.unlink(missing_ok=True)
        os.symlink(os.path.relpath(layout.ca.crl, vnc), crl)
