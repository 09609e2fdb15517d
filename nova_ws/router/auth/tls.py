"""TLS client certificates: the certificate the handshake verified is the identity.

The subject's CN is the authid and its OU the role, as ``nova-cert`` issues
them (``CN=compute-1, OU=compute``). The router's TLS listener only lets a
certificate through when it chains to the configured CA
(:func:`nova_ws.router.tls.server_tls_options`), so this authenticator
trusts ``TransportInfo.peer_cert`` as given.
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.router.auth.interfaces import Accept, Deny, HelloInfo, IAuthenticator

NOT_AUTHORIZED = "wamp.error.not_authorized"


@implementer(IAuthenticator)
class TlsAuthenticator:
    """Authenticates HELLOs asking for ``tls`` by the verified client certificate.

    Accepts with authid = subject CN and authrole = subject OU; the session's
    authextra carries the certificate's ``cert_sha256`` fingerprint and
    ``cert_serial`` (hex). Denies without a certificate, without a CN or an
    OU, or when HELLO names an authid other than the CN.
    """

    authmethod = "tls"

    def hello(self, info: HelloInfo) -> Accept | Deny:
        """Accept or deny at once; there is no challenge."""
        cert = info.transport.peer_cert
        if cert is None:
            return Deny(NOT_AUTHORIZED, "tls authentication needs a verified client certificate")
        subject = cert.get("subject") or {}
        cn, ou = subject.get("CN"), subject.get("OU")
        if not cn:
            return Deny(NOT_AUTHORIZED, "the client certificate's subject has no CN")
        if info.authid is not None and info.authid != cn:
            return Deny(
                NOT_AUTHORIZED,
                f"authid {info.authid!r} does not match the client certificate's CN {cn!r}",
            )
        if not ou:
            return Deny(
                NOT_AUTHORIZED,
                f"the client certificate of {cn!r} has no OU, so it names no role",
            )
        extra = {"cert_sha256": cert.get("sha256", "")}
        serial = cert.get("serial")
        if isinstance(serial, int):
            extra["cert_serial"] = format(serial, "x")
        return Accept(cn, ou, self.authmethod, "static", extra)
