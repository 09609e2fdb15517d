"""
C{twistd -n nova-allinone --config etc/nova.conf}: every service in one process.

Each service's tap module shares the one parsed L{NovaConfig} through its
C{makeServiceFromConfig(config)}. A tap module without it gets its own
C{Options} parsed from C{--config}. Services not implemented yet are skipped
with one log line.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Any

from twisted.application.service import IService, MultiService
from twisted.logger import Logger
from twisted.python import usage

from nova_ws.allinone.identities import with_identities
from nova_ws.allinone.services import COMPONENTS, Service, load_tap
from nova_ws.config import NovaConfig, load_config

_log = Logger(namespace="nova_ws.allinone")


class Options(usage.Options):
    """
    Command-line options of C{nova-allinone}.
    """

    optParameters = [["config", "c", None, "Path to nova.conf (default: built-in defaults)."]]


def _serviceOf(module: ModuleType, config: NovaConfig, configPath: str | None) -> IService:
    if hasattr(module, "makeServiceFromConfig"):
        return module.makeServiceFromConfig(config)
    options = module.Options()
    options.parseOptions([] if configPath is None else ["--config", configPath])
    return module.makeService(options)


def makeServiceFromConfig(
    config: NovaConfig,
    configPath: str | None = None,
    components: Iterable[Service] = COMPONENTS,
) -> MultiService:
    """
    Build a L{MultiService} holding the service of every implemented component.

    @param configPath: the file C{config} was read from, handed to tap
        modules that only take C{--config}.
    @param components: the services to try, in start order.
    @raise ImportError: if a component's tap module exists but cannot be
        imported.
    """
    allinone = MultiService()
    modules = []
    for component in components:
        module = load_tap(component.module)
        if module is None:
            _log.info("{tapname} is not implemented yet; skipped", tapname=component.tapname)
            continue
        modules.append((component, module))
    tapnames = [component.tapname for component, _ in modules]
    shared: dict[str, Any] = {}
    if any(c.tapname in _DATABASE_USERS for c, _ in modules):
        shared["db"] = _shared_database(config, allinone)
    if config.ca.secure_bus:
        router_config, service_configs = _secure(config, tapnames, shared.get("db"))
    else:
        router_config, service_configs = with_identities(config, tapnames)
    for component, module in modules:
        own = router_config if component.tapname == "nova-router" else service_configs.get(
            component.tapname, config)
        if component.tapname in _DATABASE_USERS:
            service = module.makeServiceFromConfig(own, **shared)
        else:
            service = _serviceOf(module, own, configPath)
        service.setName(component.tapname)
        service.setServiceParent(allinone)
    return allinone


_DATABASE_USERS = ("nova-api", "nova-conductor", "nova-scheduler", "nova-consoleauth",
                   "nova-cert")


def _shared_database(config: NovaConfig, parent: MultiService) -> Any:
    """One Database for every service of the process (SQLite has one writer).

    The schema is brought up to date first, as devstack runs ``db sync``.
    """
    from twisted.internet import reactor

    from nova_ws.db import migrate
    from nova_ws.db.engine import database_service

    db = database_service(config.database, config.default.state_path, reactor, parent)
    revision = migrate.upgrade(db.engine)
    _log.info("database at revision {revision}", revision=revision)
    return db


def _secure(config: NovaConfig, tapnames: list[str], db: Any
            ) -> tuple[NovaConfig, dict[str, NovaConfig]]:
    """``[ca] secure_bus``: certificates for every service, TLS on every listener."""
    from nova_ws.allinone.secure import issue_identities, secured

    if db is not None:
        count = issue_identities(config, tapnames, db.engine)
    else:
        from nova_ws.db import migrate
        from nova_ws.db.engine import create_engine_from_config

        engine = create_engine_from_config(config.database,
                                           state_path=config.default.state_path)
        try:
            migrate.upgrade(engine)
            count = issue_identities(config, tapnames, engine)
        finally:
            engine.dispose()
    _log.info("secure bus: {count} certificates issued for this start", count=count)
    return secured(config, tapnames)


def makeService(options: usage.Options) -> MultiService:
    """
    Build the all-in-one service from C{--config}.
    """
    path = options["config"]
    return makeServiceFromConfig(load_config(path), path)
