"""nova-conductor as a Twisted service: database, manager, router client."""

from __future__ import annotations

from typing import Any

from twisted.application.internet import TimerService
from twisted.application.service import MultiService
from twisted.internet.defer import ensureDeferred
from twisted.logger import Logger

from nova_ws.conductor.host_guard import GUARDED, HostGuard
from nova_ws.conductor.manager import ConductorManager
from nova_ws.conductor.rpcapi import ConductorAPI
from nova_ws.config import NovaConfig
from nova_ws.db.engine import Database, database_service
from nova_ws.wamp.client import Procedure, ServiceClient
from nova_ws.wamp.heartbeat import Heartbeat

log = Logger()


class ConductorService(MultiService):
    """The conductor: the database writer and build orchestrator."""

    def __init__(self, config: NovaConfig, reactor: Any, db: Database | None = None) -> None:
        super().__init__()
        if db is None:  # a database of its own; a shared one is run by its owner
            db = database_service(config.database, config.default.state_path, reactor, self)
        self.db = db
        self.client = ServiceClient(config.wamp, reactor, procedures=self._procedures)
        self.client.setServiceParent(self)
        self.manager = ConductorManager(db, self.client, self.client.publish,
                                        max_attempts=config.filter_scheduler.max_attempts,
                                        service_down_time=config.default.service_down_time,
                                        clock=reactor)
        watch = TimerService(max(1.0, config.default.service_down_time / 4), self._watch)
        watch.clock = reactor
        watch.setServiceParent(self)
        Heartbeat(ConductorAPI(self.client), "nova-conductor", config.default.host,
                  "conductor", config.default.default_availability_zone,
                  config.default.report_interval, reactor,
                  joined=self.client.when_joined).setServiceParent(self)

    def _watch(self) -> Any:
        d = ensureDeferred(self.manager.watch_services())
        d.addErrback(lambda f: log.failure("watching services' up/down state failed", f))
        return d

    def _procedures(self) -> dict[str, Procedure]:
        guard = HostGuard(self.db)
        return {uri: (Procedure(guard.wrap(uri, handler), invoke="roundrobin", details=True)
                      if uri in GUARDED else Procedure(handler, invoke="roundrobin"))
                for uri, handler in self.manager.procedures().items()}

    def stopService(self) -> Any:
        """Stop, dropping hypervisor events not yet published."""
        self.manager.nodes.stop()
        return super().stopService()
