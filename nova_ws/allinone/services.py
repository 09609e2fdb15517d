"""
The table of nova_ws services: twistd name, tap module and description.

The Twisted plugin file and the all-in-one both read this table, so it must
stay light: it imports nothing from Twisted and no tap module until asked.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import NamedTuple


class Service(NamedTuple):
    """
    One twistd service: C{twistd -n <tapname> --config PATH} runs C{module}.
    """

    tapname: str
    module: str
    description: str


COMPONENTS: tuple[Service, ...] = (
    Service("nova-router", "nova_ws.router.tap", "WAMP router: pub/sub and RPC between services"),
    Service("nova-api", "nova_ws.api.tap", "Compute, Identity, Image and EC2 HTTP APIs"),
    Service("nova-scheduler", "nova_ws.scheduler.tap", "Picks a compute host for each instance"),
    Service("nova-conductor", "nova_ws.conductor.tap", "Orchestrates builds, writes the database"),
    Service("nova-compute", "nova_ws.compute.tap", "Runs instances on this host through a driver"),
    Service("nova-novncproxy", "nova_ws.console.novnc_tap", "noVNC WebSocket console proxy"),
    Service("nova-spicehtml5proxy", "nova_ws.console.spice_tap", "SPICE HTML5 console proxy"),
    Service("nova-serialproxy", "nova_ws.console.serial_tap", "Serial console WebSocket proxy"),
    Service("nova-consoleauth", "nova_ws.auth.consoleauth.tap", "Issues and checks console tokens"),
    Service("nova-cert", "nova_ws.auth.ca.tap", "x509 certificate authority"),
)
"""Every service that the all-in-one runs, in start order."""

ALLINONE = Service("nova-allinone", "nova_ws.allinone.tap", "Every nova_ws service in one process")

SERVICES: tuple[Service, ...] = (*COMPONENTS, ALLINONE)
"""Every twistd plugin that nova_ws ships."""


def load_tap(module: str) -> ModuleType | None:
    """
    Import a tap module, or return C{None} if that module does not exist yet.

    @raise ImportError: when the module exists but something it imports is
        missing or broken; only the absence of the module itself (or of its
        package) means "not implemented yet".
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is not None and (module == e.name or module.startswith(e.name + ".")):
            return None
        raise
