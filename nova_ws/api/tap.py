"""``twistd -n nova-api --config etc/nova.conf``: the HTTP APIs."""

from __future__ import annotations

from typing import Any

from twisted.application.service import IService
from twisted.python import usage

from nova_ws.config import NovaConfig, load_config


class Options(usage.Options):
    """Command-line options of nova-api."""

    optParameters = [["config", "c", None, "Path to nova.conf."]]


def makeServiceFromConfig(config: NovaConfig, db: Any = None) -> IService:
    """The API service for an already parsed nova.conf (and a shared Database)."""
    from twisted.internet import reactor

    from nova_ws.api.service import ApiService

    return ApiService(config, reactor, db=db)


def makeService(options: Options) -> IService:
    """The API service, configured from ``--config``."""
    return makeServiceFromConfig(load_config(options["config"]))
