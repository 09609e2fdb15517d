"""nova-scheduler as a Twisted service: database, filters, router client."""

from __future__ import annotations

from typing import Any

from twisted.application.service import MultiService

from nova_ws.conductor.rpcapi import ConductorAPI
from nova_ws.config import NovaConfig
from nova_ws.db.engine import Database, database_service
from nova_ws.scheduler.manager import SchedulerManager
from nova_ws.wamp.client import Procedure, ServiceClient
from nova_ws.wamp.heartbeat import Heartbeat

SELECT_DESTINATIONS = "nova.scheduler.select_destinations"
SERVICE_EVENTS = "nova.event.service"  # the conductor publishes service changes here


class SchedulerService(MultiService):
    """One scheduler; several may run (the procedure is shared round-robin)."""

    def __init__(self, config: NovaConfig, reactor: Any, db: Database | None = None) -> None:
        super().__init__()
        from nova_ws.scheduler.select import build_filters, build_weighers

        if db is None:  # a database of its own; a shared one is run by its owner
            db = database_service(config.database, config.default.state_path, reactor, self)
        self.db = db
        fs = config.filter_scheduler
        self.manager = SchedulerManager(db, build_filters(fs.enabled_filters),
                                        build_weighers(fs),
                                        service_down_time=config.default.service_down_time,
                                        host_subset_size=fs.host_subset_size, clock=reactor)
        self.client = ServiceClient(config.wamp, reactor, procedures=lambda: {
            SELECT_DESTINATIONS: Procedure(self.manager.select_destinations,
                                           invoke="roundrobin")},
            subscriptions={SERVICE_EVENTS: self.manager.invalidate})
        self.client.setServiceParent(self)
        Heartbeat(ConductorAPI(self.client), "nova-scheduler", config.default.host,
                  "scheduler", config.default.default_availability_zone,
                  config.default.report_interval, reactor,
                  joined=self.client.when_joined).setServiceParent(self)
