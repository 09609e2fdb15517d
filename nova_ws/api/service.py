"""nova-api as a Twisted service: the HTTP listener, the router client, the database.

The listener serves https when ``[wsgi] ssl_cert_file`` and ``ssl_key_file``
are set (Nova's option names), and the links it answers with say so.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from twisted.application.service import MultiService
from twisted.logger import Logger

from nova_ws.api.compute.app import ComputeApi
from nova_ws.api.compute.consoles import ConsoleUrls
from nova_ws.api.dashboard import Dashboard
from nova_ws.api.ec2 import Ec2Api
from nova_ws.api.identity import IdentityApi, credential_keys
from nova_ws.api.identity import wamp as identity_wamp
from nova_ws.api.identity.credential_keys import CredentialKeys
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
    """The API server: Compute, Identity, Image and EC2."""

    def __init__(self, config: NovaConfig, reactor: Any, db: Any = None) -> None:
        super().__init__()
        d = config.default
        if db is None:  # a database of its own; a shared one is run by its owner
            db = database_service(config.database, d.state_path, reactor, self)
        self.db = db
        w = config.wsgi
        tls = (w.ssl_cert_file, w.ssl_key_file) if w.ssl_cert_file and w.ssl_key_file else None
        scheme = "https" if tls else "http"
        self.public_url = f"{scheme}://{d.osapi_compute_listen}:{d.osapi_compute_listen_port}"
        self.client = ServiceClient(config.wamp, reactor, procedures=lambda: {
            identity_wamp.PROCEDURE: Procedure(partial(identity_wamp.authenticate_ticket, db),
                                               invoke="roundrobin")})
        self.client.setServiceParent(self)
        # EC2 secrets are sealed with keys kept outside the database
        keys = CredentialKeys.load_or_create(credential_keys.repository(config))
        self.identity = IdentityApi(db, reactor, public_url=self.public_url, codec=keys)
        compute = ComputeApi(self.public_url, db=db, client=self.client,
                             console_urls=ConsoleUrls.from_config(config), quota=config.quota)
        self.root = ApiRoot(compute, identity=self.identity, image=ImageApi(db, self.public_url),
                            ec2=Ec2Api(db, compute, reactor, codec=keys),
                            dashboard=Dashboard.from_config(config))
        self.http = HttpListener(reactor, self.root.resource(), d.osapi_compute_listen,
                                 d.osapi_compute_listen_port, name="nova-api", tls=tls)
        self.http.setServiceParent(self)
        Heartbeat(ConductorAPI(self.client), "nova-api", d.host, "api",
                  d.default_availability_zone, d.report_interval, reactor,
                  joined=self.client.when_joined).setServiceParent(self)
