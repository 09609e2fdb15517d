"""How other services reach nova-cert: its URIs, errors and a typed client.

``fetch_ca`` and ``fetch_crl`` give the authority's certificate and its
current CRL (PEM text); ``generate_x509_cert`` issues a user's certificate
as Nova's did for os-certificates. The admin procedures -- ``issue`` (server
and service certificates), ``revoke``, the ``revoke_certs_by_*`` family and
``list`` -- are for the ``admin`` role only: the router's built-in roles let
nova-api call just the first three.
"""

from __future__ import annotations

from typing import Any, Protocol

from twisted.internet.defer import Deferred

PREFIX = "nova.cert."
FETCH_CA = PREFIX + "fetch_ca"
FETCH_CRL = PREFIX + "fetch_crl"
GENERATE_X509_CERT = PREFIX + "generate_x509_cert"
ISSUE = PREFIX + "issue"
REVOKE = PREFIX + "revoke"
REVOKE_BY_USER = PREFIX + "revoke_certs_by_user"
REVOKE_BY_PROJECT = PREFIX + "revoke_certs_by_project"
REVOKE_BY_USER_AND_PROJECT = PREFIX + "revoke_certs_by_user_and_project"
LIST = PREFIX + "list"

#: The procedures nova-api may call (``nova.cert.*`` is otherwise the admin's).
API_PROCEDURES = (FETCH_CA, FETCH_CRL, GENERATE_X509_CERT)

#: A request the authority will not sign (bad kind, name or role).
INVALID = "nova.error.certificate_invalid"
#: No certificate with that serial was issued here.
NOT_FOUND = "nova.error.certificate_not_found"
#: The close reason of a session ended because its certificate was revoked.
CLOSE_REVOKED = "nova.close.certificate_revoked"

#: Kinds of certificate ``issue`` signs.
KINDS = ("server", "service")


class Caller(Protocol):
    """Anything that can call a WAMP procedure."""

    def call(self, procedure: str, *args: Any, **kwargs: Any) -> Deferred[Any]: ...


class CertAPI:
    """A typed client for nova-cert's procedures."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    def fetch_ca(self, project_id: str | None = None) -> Deferred[Any]:
        """The CA certificate, PEM text (*project_id* is accepted as Nova did, and unused)."""
        return self._caller.call(FETCH_CA, project_id=project_id)

    def fetch_crl(self) -> Deferred[Any]:
        """The current CRL, PEM text."""
        return self._caller.call(FETCH_CRL)

    def generate_x509_cert(self, user_id: str, project_id: str) -> Deferred[Any]:
        """A new user certificate: ``{"certificate", "private_key", "serial"}`` (PEM, hex)."""
        return self._caller.call(GENERATE_X509_CERT, user_id, project_id)

    def issue(self, kind: str, name: str, *, role: str | None = None,
              sans: list[str] | None = None, days: int | None = None) -> Deferred[Any]:
        """A server or service certificate (admin): as ``generate_x509_cert``, plus ``ca``."""
        return self._caller.call(ISSUE, kind, name, role=role, sans=sans or [], days=days)

    def revoke(self, serial: str) -> Deferred[Any]:
        """Revoke one certificate by serial (hex); fires True, or False if it already was."""
        return self._caller.call(REVOKE, serial)
