"""nova-cert as a Twisted service: the authority, its procedures, its CRL, published.

At build time the CA is read, or created the first time (:mod:`authority`).
The service registers ``nova.cert.*`` (shared round-robin: several may run
against one CA and database), re-signs the CRL at start and every
``CRL_INTERVAL`` seconds (ending the sessions of certificates revoked
meanwhile), and publishes the CA certificate and the CRL over
HTTP at ``/ca.pem`` and ``/crl.pem`` on ``[ca] listen:port`` (-1: off), so
hosts without the CA's files can fetch them.
"""

from __future__ import annotations

from typing import Any

from twisted.application.internet import TimerService
from twisted.application.service import MultiService
from twisted.internet.defer import ensureDeferred
from twisted.logger import Logger
from twisted.web.resource import Resource

from nova_ws.auth.ca.authority import CaPaths, load_or_create
from nova_ws.auth.ca.manager import CertManager
from nova_ws.conductor.rpcapi import ConductorAPI
from nova_ws.config import NovaConfig
from nova_ws.db.engine import Database, database_service
from nova_ws.listener import HttpListener
from nova_ws.wamp.client import Procedure, ServiceClient
from nova_ws.wamp.heartbeat import Heartbeat

log = Logger()

#: Seconds between CRL signings (the CRL itself is valid ``[ca] crl_days``).
CRL_INTERVAL = 3600.0


class Publication(Resource):
    """``GET /ca.pem`` and ``GET /crl.pem``, read from their files at each request."""

    isLeaf = True

    def __init__(self, paths: CaPaths) -> None:
        super().__init__()
        self._files = {b"/ca.pem": paths.cert, b"/crl.pem": paths.crl}

    def render_GET(self, request: Any) -> bytes:
        """The file's PEM, or 404 for any other path (or a file not written yet)."""
        path = self._files.get(request.path)
        try:
            data = path.read_bytes() if path is not None else None
        except OSError:
            data = None
        if data is None:
            request.setResponseCode(404)
            request.setHeader(b"Content-Type", b"text/plain")
            return b"not found\n"
        request.setHeader(b"Content-Type", b"application/x-pem-file")
        request.setHeader(b"Cache-Control", b"no-cache")
        return data


class CertService(MultiService):
    """One nova-cert; several may share the procedures, the CA files and the database."""

    def __init__(self, config: NovaConfig, reactor: Any, db: Database | None = None) -> None:
        super().__init__()
        ca = config.ca
        self.paths = CaPaths.from_config(ca, config.default.state_path)
        authority, created = load_or_create(self.paths, ca.common_name, ca.ca_days)
        if created:
            log.info("nova-cert: created the CA {subject} in {path}",
                     subject=authority.cert.subject.rfc4514_string(), path=str(self.paths.cert))
        if db is None:  # a database of its own; a shared one is run by its owner
            db = database_service(config.database, config.default.state_path, reactor, self)
        self.db = db
        self.client = ServiceClient(config.wamp, reactor, procedures=self._procedures)
        self.client.setServiceParent(self)
        self.manager = CertManager(db, authority, self.paths, ca, caller=self.client)
        crl = TimerService(CRL_INTERVAL, self._refresh_crl)
        crl.clock = reactor
        crl.setServiceParent(self)
        self.http: HttpListener | None = None
        if ca.port >= 0:
            self.http = HttpListener(reactor, Publication(self.paths), ca.listen, ca.port,
                                     name="nova-cert")
            self.http.setServiceParent(self)
        Heartbeat(ConductorAPI(self.client), "nova-cert", config.default.host, "cert",
                  config.default.default_availability_zone, config.default.report_interval,
                  reactor, joined=self.client.when_joined).setServiceParent(self)

    def _procedures(self) -> dict[str, Procedure]:
        return {uri: Procedure(handler, invoke="roundrobin")
                for uri, handler in self.manager.procedures().items()}

    def _refresh_crl(self) -> Any:
        d = ensureDeferred(self._refresh())
        d.addErrback(lambda f: log.failure("nova-cert: signing the CRL failed", f))
        return d

    async def _refresh(self) -> None:
        await self.manager.refresh_crl()
        if self.client.session is not None:  # revocations made meanwhile by `nova-ws ca`
            await self.manager.end_revoked_sessions()
