"""nova-consoleauth as a Twisted service: database, manager, router client.

It registers the token procedures (shared round-robin, so several may run),
listens to every project's instance events (one prefix subscription on
``nova.project.``) to revoke the consoles of instances that stop, move or
go, and purges expired tokens every ``PURGE_INTERVAL`` seconds.
"""

from __future__ import annotations

from typing import Any

from twisted.application.internet import TimerService
from twisted.application.service import MultiService
from twisted.internet.defer import ensureDeferred
from twisted.logger import Logger

from nova_ws.auth.consoleauth.manager import ConsoleAuthManager
from nova_ws.conductor.rpcapi import ConductorAPI
from nova_ws.config import NovaConfig
from nova_ws.db.engine import Database, database_service
from nova_ws.wamp.client import Procedure, ServiceClient, Topic
from nova_ws.wamp.heartbeat import Heartbeat

log = Logger()

PROJECT_EVENTS = "nova.project."
PURGE_INTERVAL = 300.0


class ConsoleAuthService(MultiService):
    """One consoleauth; several may share the procedures."""

    def __init__(self, config: NovaConfig, reactor: Any, db: Database | None = None) -> None:
        super().__init__()
        if db is None:  # a database of its own; a shared one is run by its owner
            db = database_service(config.database, config.default.state_path, reactor, self)
        self.db = db
        self.client = ServiceClient(
            config.wamp, reactor, procedures=self._procedures,
            subscriptions={PROJECT_EVENTS: Topic(self._instance_event, match="prefix")})
        self.client.setServiceParent(self)
        self.manager = ConsoleAuthManager(db, self.client, self.client.publish,
                                          config.consoleauth)
        purge = TimerService(PURGE_INTERVAL, self._purge)
        purge.clock = reactor
        purge.setServiceParent(self)
        Heartbeat(ConductorAPI(self.client), "nova-consoleauth", config.default.host,
                  "consoleauth", config.default.default_availability_zone,
                  config.default.report_interval, reactor,
                  joined=self.client.when_joined).setServiceParent(self)

    def _procedures(self) -> dict[str, Procedure]:
        return {uri: Procedure(handler, invoke="roundrobin")
                for uri, handler in self.manager.procedures().items()}

    def _instance_event(self, view: Any = None, *args: Any, **kwargs: Any) -> Any:
        d = ensureDeferred(self.manager.on_instance_event(view))
        d.addErrback(lambda f: log.failure("revoking consoles on an instance event failed", f))
        return d

    def _purge(self) -> Any:
        d = ensureDeferred(self.manager.purge_expired())
        d.addErrback(lambda f: log.failure("purging expired console tokens failed", f))
        return d
