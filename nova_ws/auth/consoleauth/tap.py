"""``twistd -n nova-consoleauth --config etc/nova.conf``: the console token service."""

from __future__ import annotations

from typing import Any

from twisted.application.service import IService
from twisted.python import usage

from nova_ws.config import NovaConfig, load_config


class Options(usage.Options):
    """Command-line options of nova-consoleauth."""

    optParameters = [["config", "c", None, "Path to nova.conf."]]


def makeServiceFromConfig(config: NovaConfig, db: Any = None) -> IService:
    """The consoleauth service for a parsed nova.conf (and a shared Database)."""
    from twisted.internet import reactor

    from nova_ws.auth.consoleauth.service import ConsoleAuthService

    return ConsoleAuthService(config, reactor, db=db)


def makeService(options: Options) -> IService:
    """The consoleauth service, configured from ``--config``."""
    return makeServiceFromConfig(load_config(options["config"]))
