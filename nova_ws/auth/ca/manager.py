"""nova-cert's procedures: issue, fetch the CA and CRL, revoke, list.

Every certificate issued is recorded in the database (serial, subject,
holder, expiry; never the key) so that it can be listed and revoked; the
private key goes to the caller once and is kept nowhere. Each revocation
re-signs the CRL and rewrites its file at once, so the TLS listeners that
watch that file refuse the certificate at the next handshake, and ends the
sessions already joined with it (the router's meta API: ``wamp.session.list``,
``get``, ``kill``; the TLS authenticator puts the serial in a session's
``authextra.cert_serial``). The CRL names revoked certificates until they
expire, and is re-signed regularly (:meth:`CertManager.refresh_crl`) so it
never goes stale; each re-signing also ends sessions of certificates revoked
meanwhile by ``nova-ws ca revoke``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from autobahn.wamp.exception import ApplicationError
from cryptography.hazmat.primitives import serialization
from twisted.logger import Logger

from nova_ws.auth.ca import rpcapi
from nova_ws.auth.ca.authority import CaPaths, CertificateAuthority, Issued, write_crl
from nova_ws.config import CaSection
from nova_ws.db.engine import Database
from nova_ws.db.errors import NotFound
from nova_ws.db.queries import certificates

log = Logger()


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        raise ApplicationError(rpcapi.INVALID, f"{name} must be a non-empty string")
    return value


def certificate_view(row: certificates.Certificate) -> dict[str, Any]:
    """What ``list`` answers for one recorded certificate."""
    return {"serial": row.serial, "subject": row.subject, "user_id": row.user_id,
            "project_id": row.project_id, "file_name": row.file_name,
            "not_after": row.not_after.isoformat(),
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            "created_at": row.created_at.isoformat()}


def crl_entries(rows: Sequence[certificates.Certificate], now: datetime
                ) -> list[tuple[str, datetime]]:
    """The revoked certificates a CRL must still name: those not yet expired."""
    return [(row.serial, row.revoked_at) for row in rows
            if row.revoked_at is not None and _aware(row.not_after) >= now]


class CertManager:
    """The authority's procedures over a ``Database``; the CRL file at ``paths.crl``.

    ``caller`` (nova-cert's router client) ends the sessions of revoked
    certificates; without it, revocation waits for their next connection.
    """

    def __init__(self, db: Database, authority: CertificateAuthority, paths: CaPaths,
                 config: CaSection, caller: Any = None) -> None:
        self.db = db
        self.authority = authority
        self.paths = paths
        self.config = config
        self.caller = caller

    def procedures(self) -> dict[str, Callable[..., Any]]:
        """The WAMP procedures this manager answers, by URI."""
        return {rpcapi.FETCH_CA: self.fetch_ca, rpcapi.FETCH_CRL: self.fetch_crl,
                rpcapi.GENERATE_X509_CERT: self.generate_x509_cert, rpcapi.ISSUE: self.issue,
                rpcapi.REVOKE: self.revoke, rpcapi.REVOKE_BY_USER: self.revoke_certs_by_user,
                rpcapi.REVOKE_BY_PROJECT: self.revoke_certs_by_project,
                rpcapi.REVOKE_BY_USER_AND_PROJECT: self.revoke_certs_by_user_and_project,
                rpcapi.LIST: self.list_certificates}

    async def fetch_ca(self, project_id: str | None = None) -> str:
        """The CA certificate (and its issuers' for an intermediate), PEM text."""
        return self.authority.cert_pem.decode("ascii")

    async def fetch_crl(self) -> str:
        """The current CRL, PEM text (signed now if there is none yet)."""
        try:
            return self.paths.crl.read_text("ascii")
        except OSError:
            return (await self.refresh_crl()).decode("ascii")

    async def generate_x509_cert(self, user_id: str, project_id: str) -> dict[str, Any]:
        """A certificate for a user of a project, recorded under both (os-certificates)."""
        issued = self.authority.issue_user(_text("user_id", user_id),
                                           _text("project_id", project_id),
                                           self.config.cert_days)
        await self._record(issued, user_id=user_id, project_id=project_id)
        log.info("nova-cert: issued a user certificate {serial} to {user} of {project}",
                 serial=issued.serial, user=user_id, project=project_id)
        return self._answer(issued)

    async def issue(self, kind: str, name: str, role: str | None = None,
                    sans: Sequence[str] = (), days: int | None = None) -> dict[str, Any]:
        """A ``server`` (CN=name, SANs) or ``service`` (CN=name, OU=role) certificate.

        Fails with ``INVALID`` for an unknown kind, a service without a role
        or a name the router could not use as an authid.
        """
        days = self.config.cert_days if days is None else days
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise ApplicationError(rpcapi.INVALID, "days must be a positive integer")
        _text("name", name)
        if not isinstance(sans, list | tuple) or not all(isinstance(s, str) for s in sans):
            raise ApplicationError(rpcapi.INVALID, "sans must be a list of names")
        try:
            if kind == "server":
                issued = self.authority.issue_server(name, sans, days)
            elif kind == "service":
                issued = self.authority.issue_service(name, _text("role", role), days)
            else:
                raise ApplicationError(rpcapi.INVALID, f"kind must be one of {rpcapi.KINDS}")
        except ValueError as e:
            raise ApplicationError(rpcapi.INVALID, str(e)) from e
        await self._record(issued, file_name=f"{kind}:{name}")
        log.info("nova-cert: issued a {kind} certificate {serial}: {subject}", kind=kind,
                 serial=issued.serial, subject=issued.subject)
        return self._answer(issued)

    async def revoke(self, serial: str) -> bool:
        """Revoke one certificate; False when it already was. ``NOT_FOUND`` if unknown."""
        serial = _serial(serial)
        try:
            revoked = await self.db.run(certificates.revoke_certificate, serial,
                                        now=self.authority.now())
        except NotFound as e:
            raise ApplicationError(rpcapi.NOT_FOUND, f"no certificate {serial}") from e
        if revoked:
            log.info("nova-cert: revoked certificate {serial}", serial=serial)
            await self.refresh_crl()
            await self.end_revoked_sessions({serial})
        return bool(revoked)

    async def revoke_certs_by_user(self, user_id: str) -> list[str]:
        """Revoke every certificate of a user; the serials revoked."""
        return await self._revoke_many(user_id=_text("user_id", user_id))

    async def revoke_certs_by_project(self, project_id: str) -> list[str]:
        """Revoke every certificate of a project; the serials revoked."""
        return await self._revoke_many(project_id=_text("project_id", project_id))

    async def revoke_certs_by_user_and_project(self, user_id: str,
                                               project_id: str) -> list[str]:
        """Revoke a user's certificates in one project; the serials revoked."""
        return await self._revoke_many(user_id=_text("user_id", user_id),
                                       project_id=_text("project_id", project_id))

    async def list_certificates(self, user_id: str | None = None, project_id: str | None = None,
                   revoked: bool | None = None) -> list[dict[str, Any]]:
        """Recorded certificates, oldest first, filtered by holder and revocation."""
        rows = await self.db.run(certificates.list_certificates, user_id=user_id,
                                 project_id=project_id, revoked=revoked)
        return [certificate_view(row) for row in rows]

    async def refresh_crl(self) -> bytes:
        """Sign a CRL of every revoked, unexpired certificate and write it; its PEM."""
        rows = await self.db.run(certificates.list_certificates, revoked=True)
        crl = self.authority.crl(crl_entries(rows, self.authority.now()), self.config.crl_days)
        write_crl(self.paths.crl, crl)
        return crl.public_bytes(serialization.Encoding.PEM)

    async def end_revoked_sessions(self, serials: Collection[str] | None = None) -> int:
        """Kill the joined sessions whose certificate is revoked; how many.

        *serials* are the ones just revoked (default: every revoked one in
        the database). Without a router connection, or against a router that
        does not let nova-cert use its session meta API, nothing is killed
        and the reason is logged.
        """
        if self.caller is None:
            return 0
        if serials is None:
            rows = await self.db.run(certificates.list_certificates, revoked=True)
            serials = {row.serial for row in rows}
        if not serials:
            return 0
        killed = 0
        try:
            for session_id in await self.caller.call("wamp.session.list"):
                try:
                    details = await self.caller.call("wamp.session.get", session_id)
                except ApplicationError:
                    continue  # gone meanwhile
                serial = (details.get("authextra") or {}).get("cert_serial")
                if serial in serials:
                    await self.caller.call("wamp.session.kill", session_id,
                                           reason=rpcapi.CLOSE_REVOKED,
                                           message="the session's certificate was revoked")
                    log.info("nova-cert: ended session {id} of {authid}: certificate "
                             "{serial} revoked", id=session_id, authid=details.get("authid"),
                             serial=serial)
                    killed += 1
        except ApplicationError as e:
            log.warn("nova-cert: cannot end the sessions of revoked certificates: {error}",
                     error=e.error)
        return killed

    async def _revoke_many(self, **holder: str) -> list[str]:
        serials = await self.db.run(certificates.revoke_certificates, now=self.authority.now(),
                                    **holder)
        if serials:
            log.info("nova-cert: revoked {count} certificate(s) of {holder}",
                     count=len(serials), holder=holder)
            await self.refresh_crl()
            await self.end_revoked_sessions(set(serials))
        return list(serials)

    async def _record(self, issued: Issued, **holder: str | None) -> None:
        await self.db.run(certificates.record_certificate, serial=issued.serial,
                          subject=issued.subject, not_after=issued.not_after,
                          now=self.authority.now(), **holder)

    def _answer(self, issued: Issued) -> dict[str, Any]:
        return {"certificate": issued.cert_pem.decode("ascii"),
                "private_key": issued.key_pem.decode("ascii"), "serial": issued.serial,
                "subject": issued.subject, "not_after": issued.not_after.isoformat(),
                "ca": self.authority.cert_pem.decode("ascii")}


def _serial(value: Any) -> str:
    """A serial as the database keeps it: lower-case hex without leading zeros."""
    try:
        return format(int(_text("serial", value).replace(":", ""), 16), "x")
    except ValueError as e:
        raise ApplicationError(rpcapi.INVALID, f"serial {value!r} is not hexadecimal") from e


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
