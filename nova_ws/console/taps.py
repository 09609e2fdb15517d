"""What the three console proxies' tap modules share: options and service makers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.application.service import IService
from twisted.python import usage

from nova_ws.config import NovaConfig, load_config


class Options(usage.Options):
    """Command-line options of a console proxy."""

    optParameters = [["config", "c", None, "Path to nova.conf."]]


def service_makers(console_type: str) -> tuple[Callable[[NovaConfig], IService],
                                                Callable[[Any], IService]]:
    """``makeServiceFromConfig`` and ``makeService`` for the ``console_type`` proxy."""

    def makeServiceFromConfig(config: NovaConfig) -> IService:
        from twisted.internet import reactor

        from nova_ws.console.service import ConsoleProxyService

        return ConsoleProxyService(config, reactor, console_type)

    def makeService(options: Any) -> IService:
        return makeServiceFromConfig(load_config(options["config"]))

    return makeServiceFromConfig, makeService
