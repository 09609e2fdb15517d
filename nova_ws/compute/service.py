"""nova-compute as a Twisted service: driver, manager, router client, loops."""

from __future__ import annotations

import os
import secrets
from typing import Any

from twisted.application.service import MultiService
from twisted.internet.defer import ensureDeferred

from nova_ws.compute.drivers.interfaces import IComputeDriver
from nova_ws.compute.manager import ComputeManager
from nova_ws.compute.periodic import PeriodicTasks
from nova_ws.compute.rpcapi import uri
from nova_ws.conductor.rpcapi import ConductorAPI
from nova_ws.config import NovaConfig
from nova_ws.wamp.client import Procedure, ServiceClient
from nova_ws.wamp.heartbeat import Heartbeat


def make_driver(config: NovaConfig, reactor: Any) -> IComputeDriver:
    """The driver ``[DEFAULT] compute_driver`` names, built for this reactor."""
    from nova_ws.compute.drivers.registry import load_driver

    name = config.default.compute_driver
    if name == "fake":
        # Every fake guest's VNC screen asks for this host's random password,
        # which only the console proxy learns (through consoleauth): browsers
        # never see it, as with real hypervisors behind the RFB security proxy.
        return load_driver(name, reactor=reactor, vnc_password=secrets.token_hex(4),
                           listen_host=config.vnc.server_listen, vnc_tls=vnc_tls(config))
    if name == "libvirt":
        return load_driver(name, **libvirt_options(config, reactor))
    return load_driver(name)


def libvirt_options(config: NovaConfig, reactor: Any) -> dict[str, Any]:
    """The LibvirtDriver's arguments from nova.conf.

    ``[libvirt] connection_uri`` (empty: the driver's default,
    ``qemu:///system``), ``[vnc] server_listen`` for the guests' VNC and
    SPICE, ``[spice] enabled`` for a SPICE display and ``[DEFAULT]
    instances_path`` (empty: ``<state_path>/instances``).
    """
    options: dict[str, Any] = {
        "reactor": reactor,
        "listen": config.vnc.server_listen,
        "spice": config.spice.enabled,
        "instances_path": (config.default.instances_path
                           or os.path.join(config.default.state_path, "instances")),
    }
    if config.libvirt.connection_uri:
        options["uri"] = config.libvirt.connection_uri
    return options


def vnc_tls(config: NovaConfig) -> Any:
    """The fake guests' VeNCrypt server TLS from ``[vnc] server_tls*`` (None: off).

    Raises ValueError when ``server_tls`` is on without a certificate directory.
    """
    v = config.vnc
    if not v.server_tls:
        return None
    if not v.server_tls_x509_cert_dir:
        raise ValueError("[vnc] server_tls needs server_tls_x509_cert_dir")
    from nova_ws.compute.drivers.fake.rfb.security import vnc_server_tls

    return vnc_server_tls(v.server_tls_x509_cert_dir, v.server_tls_x509_verify)


class ComputeService(MultiService):
    """One compute host: its router client, heartbeat and periodic tasks."""

    def __init__(self, config: NovaConfig, reactor: Any,
                 driver: IComputeDriver | None = None) -> None:
        super().__init__()
        self.host = config.default.host
        self.driver = driver or make_driver(config, reactor)
        self.client = ServiceClient(config.wamp, reactor, procedures=self._procedures)
        self.client.setServiceParent(self)
        conductor = ConductorAPI(self.client)
        self.manager = ComputeManager(self.host, self.driver, conductor)
        self.periodic = PeriodicTasks(self.manager, reactor)
        Heartbeat(conductor, "nova-compute", self.host, "compute",
                  config.default.default_availability_zone, config.default.report_interval,
                  reactor, joined=self.client.when_joined).setServiceParent(self)
        self.client.on_join(self._joined)

    def _procedures(self) -> dict[str, Procedure]:
        return {uri(self.host, name): Procedure(handler)
                for name, handler in self.manager.procedures().items()}

    def _joined(self) -> None:
        self.periodic.stop()
        self.periodic.start()

    def startService(self) -> None:
        ensureDeferred(self._init_driver())
        super().startService()

    async def _init_driver(self) -> None:
        await self.driver.init_host(self.host)

    def stopService(self) -> Any:
        self.periodic.stop()
        return super().stopService()
