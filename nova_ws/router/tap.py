"""``twistd -n nova-router --config etc/nova.conf``: the WAMP router."""

from __future__ import annotations

from twisted.application.service import IService
from twisted.python import usage

from nova_ws.config import NovaConfig, load_config


class Options(usage.Options):
    """Command-line options of nova-router."""

    optParameters = [["config", "c", None, "Path to nova.conf."]]


def makeServiceFromConfig(config: NovaConfig) -> IService:
    """The router service for an already parsed nova.conf."""
    from twisted.internet import reactor

    from nova_ws.router.service import RouterService

    service = RouterService(config, reactor)
    service.setName("nova-router")
    return service


def makeService(options: Options) -> IService:
    """The router service, configured from ``--config``."""
    return makeServiceFromConfig(load_config(options["config"]))
