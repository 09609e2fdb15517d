"""``twistd -n nova-compute --config etc/nova.conf``: one compute host."""

from __future__ import annotations

from twisted.application.service import IService
from twisted.python import usage

from nova_ws.config import NovaConfig, load_config


class Options(usage.Options):
    """Command-line options of nova-compute."""

    optParameters = [["config", "c", None, "Path to nova.conf."]]


def makeServiceFromConfig(config: NovaConfig) -> IService:
    """The compute service for an already parsed nova.conf."""
    from twisted.internet import reactor

    from nova_ws.compute.service import ComputeService

    return ComputeService(config, reactor)


def makeService(options: Options) -> IService:
    """The compute service, configured from ``--config``."""
    return makeServiceFromConfig(load_config(options["config"]))
