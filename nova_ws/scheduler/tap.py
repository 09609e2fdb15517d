"""``twistd -n nova-scheduler --config etc/nova.conf``: a scheduler."""

from __future__ import annotations

from typing import Any

from twisted.application.service import IService
from twisted.python import usage

from nova_ws.config import NovaConfig, load_config


class Options(usage.Options):
    """Command-line options of nova-scheduler."""

    optParameters = [["config", "c", None, "Path to nova.conf."]]


def makeServiceFromConfig(config: NovaConfig, db: Any = None) -> IService:
    """The scheduler service for an already parsed nova.conf (and a shared Database)."""
    from twisted.internet import reactor

    from nova_ws.scheduler.service import SchedulerService

    return SchedulerService(config, reactor, db=db)


def makeService(options: Options) -> IService:
    """The scheduler service, configured from ``--config``."""
    return makeServiceFromConfig(load_config(options["config"]))
