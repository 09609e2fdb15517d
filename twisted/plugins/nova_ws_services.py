"""
twistd plugins for every nova_ws service: C{twistd -n nova-api --config etc/nova.conf}.

Each service's tap module is imported only when its command runs. A service
whose tap module does not exist yet still has a command, which says so and
exits with status 2.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from twisted.application.service import IService, IServiceMaker
from twisted.plugin import IPlugin
from twisted.python import usage
from zope.interface import implementer

from nova_ws.allinone.services import SERVICES, Service, load_tap


class _NotYetOptions(usage.Options):
    """
    Options of a service that is not implemented yet: only C{--config}.
    """

    optParameters = [["config", "c", None, "Path to nova.conf."]]


@implementer(IPlugin, IServiceMaker)
class _NovaService:
    """
    A lazy service maker: the tap module is imported on first use.
    """

    def __init__(self, service: Service) -> None:
        self.tapname = service.tapname
        self.module = service.module
        self.description = service.description

    def _load(self) -> ModuleType | None:
        return load_tap(self.module)

    @property
    def options(self) -> type[usage.Options]:
        module = self._load()
        return _NotYetOptions if module is None else module.Options

    def makeService(self, options: Any) -> IService:
        module = self._load()
        if module is None:
            sys.stderr.write(f"{self.tapname}: not implemented yet in this release\n")
            raise SystemExit(2)
        return module.makeService(options)


for _service in SERVICES:
    globals()[_service.tapname.replace("-", "_")] = _NovaService(_service)
del _service
