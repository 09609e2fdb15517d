"""nova-api as a Twisted service: the HTTP listener, the router client, the database."""

from __future__ import annotations

from functools import partial
from typing import Any

from twisted.application.service import MultiService
from twisted.logger import Logger

from nova_ws.api.compute.app import ComputeApi
from nova_ws.api.compute.consoles import ConsoleUrls
from nova_ws.api.identity import IdentityApi
from nova_ws.api.identity import wamp as identity_wamp
from nova_ws.api.image import ImageApi
from nova_ws.api.root import ApiRoot
from nova_ws.conductor.rpcapi import ConductorAPI
from nova_ws.config import NovaConfig
from nova_ws.db.engine import database_service
from nova_ws.listener import HttpListener
from nova_ws.wamp.client import Procedure, ServiceClient
from nova_ws.wamp.heartbeat import Heartbeat

log = Logger()


class ApiService(MultiService):
    """The API server: Compute (and, as they land, Identity, Image, EC2)."""

    def __init__(self, config: NovaConfig, reactor: Any, db: Any = None) -> None:
        super().__init__()
        d = config.default
        if db is None:  # a database of its own; a shared one is run by its owner
            db = database_service(config.database, d.state_path, reactor, self)
        self.db = db
        self.public_url = f"http://{d.osapi_compute_listen}:{d.osapi_compute_listen_port}"
        self.client = ServiceClient(config.wamp, reactor, procedures=lambda: {
            identity_wamp.PROCEDURE: Procedure(partial(identity_wamp.authenticate_ticket, db),
                                               invoke="roundrobin")})
        self.client.setServiceParent(self)
        self.identity = IdentityApi(db, reactor, public_url=self.public_url)
        self.root = ApiRoot(ComputeApi(self.public_url, db=db, client=self.client,
                                       console_urls=ConsoleUrls.from_config(config),
                                       quota=config.quota),
                            identity=self.identity, image=ImageApi(db, self.public_url))
        self.http = HttpListener(reactor, self.root.resource(), d.osapi_compute_listen,
                                 d.osapi_compute_listen_port, name="nova-api")
        self.http.setServiceParent(self)
        Heartbeat(ConductorAPI(self.client), "nova-api", d.host, "api",
                  d.default_availability_zone, d.report_interval, reactor,
                  joined=self.client.when_joined).setServiceParent(self)
