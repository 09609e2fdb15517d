"""``twistd -n nova-cert --config etc/nova.conf``: the x509 certificate authority."""

from __future__ import annotations

from typing import Any

from twisted.application.service import IService
from twisted.python import usage

from nova_ws.config import NovaConfig, load_config


class Options(usage.Options):
    """Command-line options of nova-cert."""

    optParameters = [["config", "c", None, "Path to nova.conf."]]


def makeServiceFromConfig(config: NovaConfig, db: Any = None) -> IService:
    """The cert service for a parsed nova.conf (and a shared Database)."""
    from twisted.internet import reactor

    from nova_ws.auth.ca.service import CertService

    return CertService(config, reactor, db=db)


def makeService(options: Options) -> IService:
    """The cert service, configured from ``--config``."""
    return makeServiceFromConfig(load_config(options["config"]))
