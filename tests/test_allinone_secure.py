"""``[ca] secure_bus``: what the all-in-one's configuration becomes, and the certificates
each start issues (and the previous start's, revoked)."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session

from nova_ws.allinone.bootstrap import ensure_openrc
from nova_ws.allinone.identities import ROLES
from nova_ws.allinone.secure import MARK, Layout, issue_identities, secured, server_names
from nova_ws.config import NovaConfig, parse_config
from nova_ws.db import migrate
from nova_ws.db.engine import create_engine_from_config
from nova_ws.db.queries import certificates

TAPS = ["nova-router", *ROLES]


def _config(tmp_path: Path) -> NovaConfig:
    return parse_config(f"""
[DEFAULT]
host = aio
my_ip = 192.0.2.10
state_path = {tmp_path}
[wamp]
url = ws://127.0.0.1:8080/ws
[ca]
secure_bus = true
""")


def test_secured_configuration(tmp_path: Path) -> None:
    """When the switch is on, every listener gets TLS, every URL a secure scheme, every
    service its own certificate and tls authentication, and the guests VeNCrypt."""
    config = _config(tmp_path)
    router_config, per_service = secured(config, TAPS)
    layout = Layout.of(config)
    r = router_config.router
    assert (r.tls_ca_file, r.tls_crl_file) == (str(layout.ca.cert), str(layout.ca.crl))
    assert "tls" in r.auth_methods and "ticket" in r.auth_methods
    assert "wampcra" not in r.auth_methods  # no principals configured: no secrets at all
    assert set(per_service) == set(ROLES)
    compute = per_service["nova-compute"]
    assert (compute.wamp.url, compute.wamp.authmethod, compute.wamp.authid) == (
        "wss://127.0.0.1:8080/ws", "tls", "aio")
    assert compute.wamp.tls_cert_file == layout.client("aio")[0]
    assert compute.vnc.server_tls and compute.vnc.server_tls_x509_verify
    proxy = per_service["nova-novncproxy"]
    assert proxy.vnc.auth_schemes == ("vencrypt",)
    assert proxy.vnc.vencrypt_client_cert == layout.client("nova-novncproxy")[0]
    assert proxy.console.ssl_only
    api = per_service["nova-api"]
    assert api.wsgi.ssl_cert_file == layout.server[0]
    assert api.vnc.novncproxy_base_url.startswith("https://")
    assert api.serial_console.base_url.startswith("wss://")
    assert {"192.0.2.10", "aio", "127.0.0.1", "localhost"} <= set(server_names(config))


def test_each_start_issues_fresh_certificates_and_revokes_the_last(tmp_path: Path) -> None:
    """When the all-in-one starts twice, the first start's certificates are revoked (in the
    database and the CRL) and the files hold the second's, keys mode 0600."""
    config = _config(tmp_path)
    engine = create_engine_from_config(config.database, state_path=str(tmp_path))
    migrate.upgrade(engine)
    layout = Layout.of(config)
    try:
        first = issue_identities(config, TAPS, engine)
        first_compute = _cert(layout.client("aio")[0])
        assert first == len(ROLES) + 1
        assert issue_identities(config, TAPS, engine) == first
        second_compute = _cert(layout.client("aio")[0])
        with Session(engine) as session:
            rows = certificates.list_certificates(session)
        assert len(rows) == 2 * first and all(r.file_name.startswith(MARK) for r in rows)
        revoked = {r.serial for r in rows if r.revoked_at is not None}
        assert len(revoked) == first
        assert format(first_compute.serial_number, "x") in revoked
        assert format(second_compute.serial_number, "x") not in revoked
        crl = x509.load_pem_x509_crl(layout.ca.crl.read_bytes())
        assert {format(e.serial_number, "x") for e in crl} == revoked
    finally:
        engine.dispose()
    subject = second_compute.subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == (
        "compute")
    for cert_file, key_file in (layout.server, layout.client("nova-api")):
        assert stat.S_IMODE(Path(key_file).stat().st_mode) == 0o600
        assert len(x509.load_pem_x509_certificates(Path(cert_file).read_bytes())) == 2
    vnc = layout.vnc
    assert sorted(p.name for p in vnc.iterdir()) == [
        "ca-cert.pem", "ca-crl.pem", "server-cert.pem", "server-key.pem"]
    assert (vnc / "ca-crl.pem").read_bytes() == layout.ca.crl.read_bytes()  # the live CRL


def test_openrc_says_https_and_which_ca(tmp_path: Path) -> None:
    """When the switch is on, openrc points clients at https and at the CA to trust."""
    config = _config(tmp_path)
    credentials = ensure_openrc(config, tmp_path / "openrc")
    assert credentials.auth_url == "https://127.0.0.1:8774/identity"
    text = (tmp_path / "openrc").read_text()
    assert f"export OS_CACERT='{Layout.of(config).ca.cert.resolve()}'" in text


def _cert(path: str) -> x509.Certificate:
    return x509.load_pem_x509_certificates(Path(path).read_bytes())[0]
