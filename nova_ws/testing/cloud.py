"""A whole small cloud in one reactor, talking only through a real router.

``start_cloud`` runs a router, a conductor, a scheduler and any number of
compute hosts on the fake driver, each joined with its own WAMP-CRA identity
and role, on a SQLite database in a directory you give; tests and
``bench/boot.py`` use it. Everything else goes through WAMP, exactly as
separate processes would.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, DeferredList

from nova_ws.allinone.identities import with_identities
from nova_ws.auth.consoleauth.service import ConsoleAuthService
from nova_ws.compute.drivers.fake.driver import FakeDriver, FakeHost
from nova_ws.compute.service import ComputeService
from nova_ws.conductor.service import ConductorService
from nova_ws.config import NovaConfig, parse_config
from nova_ws.db import migrate
from nova_ws.db.engine import create_engine_from_config
from nova_ws.db.queries import flavors, instances
from nova_ws.router.service import RouterService
from nova_ws.scheduler.service import SchedulerService
from nova_ws.testing.wamp import join

PROJECT = "p-test"
HOST = FakeHost(vcpus=8, memory_mb=8192, local_gb=200)  # 12 GiB of RAM with ratio 1.5


@dataclass
class Cloud:
    """A running router, conductor, scheduler and compute hosts."""

    config: NovaConfig
    router: RouterService
    conductor: ConductorService
    scheduler: SchedulerService
    computes: list[ComputeService]
    admin: Any
    consoleauth: Any = None

    def db(self) -> Any:
        """The Database the conductor and scheduler share."""
        return self.conductor.db


def cloud_config(tmp: Path, connection: str | None = None, extra: str = "") -> NovaConfig:
    """The cloud's nova.conf: state in *tmp*; SQLite there unless *connection* is given."""
    config = parse_config(extra + f"""
[DEFAULT]
host = ctl
state_path = {tmp}
[router]
websocket_port = 0
rawsocket_port = 0
auth_methods = wampcra, anonymous
anonymous_role = admin
[database]
connection = sqlite:///{tmp}/nova.sqlite
""", "<integration>")
    if connection is None:
        return config
    return replace(config, database=replace(config.database, connection=connection))


async def start_cloud(tmp: Path, n_hosts: int, fail_hosts: dict[str, str] | None = None,
                      host: FakeHost = HOST, connection: str | None = None,
                      consoleauth: bool = False, config_text: str = "") -> Cloud:
    """Start everything; fire when every host has reported its resources.

    The database is SQLite in *tmp* unless *connection* names another; its
    schema is brought up to date first. ``consoleauth`` adds nova-consoleauth
    (sharing the conductor's Database); ``config_text`` is nova.conf text
    (sections other than those the cloud sets) merged over the defaults.
    """
    from twisted.internet import reactor

    base = cloud_config(tmp, connection, config_text)
    engine = create_engine_from_config(base.database, state_path=str(tmp))
    migrate.upgrade(engine)
    engine.dispose()
    host_names = [f"host{i}" for i in range(n_hosts)]
    taps = ["nova-conductor", "nova-scheduler", *(["nova-consoleauth"] if consoleauth else [])]
    router_config, configs = with_identities(base, taps)
    # one compute identity per host
    for name in host_names:
        rc, per = with_identities(replace(base, default=replace(base.default, host=name)),
                                  ["nova-compute"])
        router_config = replace(router_config, router_wampcra={
            **router_config.router_wampcra, **rc.router_wampcra})
        configs[name] = per["nova-compute"]
    router = RouterService(router_config, reactor)
    router.startService()
    url = f"ws://127.0.0.1:{router.port('websocket')}/ws"

    def wired(c: NovaConfig) -> NovaConfig:
        return replace(c, wamp=replace(c.wamp, url=url))

    conductor = ConductorService(wired(configs["nova-conductor"]), reactor)
    # one process, one SQLite writer: the scheduler shares the conductor's Database
    scheduler = SchedulerService(wired(configs["nova-scheduler"]), reactor, db=conductor.db)
    computes = []
    for name in host_names:
        fail_on = {"spawn": (fail_hosts or {})[name]} if name in (fail_hosts or {}) else None
        computes.append(ComputeService(wired(configs[name]), reactor,
                                       driver=FakeDriver(reactor, host=host, fail_on=fail_on)))
    auth = (ConsoleAuthService(wired(configs["nova-consoleauth"]), reactor, db=conductor.db)
            if consoleauth else None)
    services: tuple[Any, ...] = (conductor, scheduler, *computes, *([auth] if auth else []))
    for service in services:
        service.startService()
    for service in services:
        await service.client.when_joined()
    for compute in computes:
        await compute.periodic.update_resources()
    for compute in computes:
        await compute.client.call("nova.conductor.service_heartbeat", {
            "binary": "nova-compute", "host": compute.host, "topic": "compute", "zone": "nova"})
    admin = await join(reactor, router, authmethods=["anonymous"])
    await conductor.db.run(flavors.seed_default_flavors)
    return Cloud(base, router, conductor, scheduler, computes, admin, auth)


async def stop_cloud(cloud: Cloud) -> None:
    """Stop everything and remove every fake guest."""
    await DeferredList(list(cloud.conductor.manager.builds.values()), consumeErrors=True)
    cloud.admin.leave()
    extra = [cloud.consoleauth] if cloud.consoleauth is not None else []
    for service in (*extra, *cloud.computes, cloud.scheduler, cloud.conductor):
        await service.stopService()
    for compute in cloud.computes:
        for uuid in list(compute.driver.guests):  # type: ignore[attr-defined]
            await compute.driver.destroy(uuid)
    await cloud.router.stopService()


async def create_rows(cloud: Cloud, count: int, flavor: str = "m1.small",
                      project: str = PROJECT) -> list[str]:
    """Instance rows (building, scheduling) as the API would create them."""
    def make(session: Any) -> list[str]:
        f = flavors.get_flavor_by_name(session, flavor)
        return [instances.create_instance(session, project_id=project, user_id="u1", flavor=f,
                                          display_name=f"vm{i}").uuid for i in range(count)]
    return await cloud.db().run(make)


async def wait_settled(cloud: Cloud, uuids: list[str], project: str = PROJECT,
                       timeout: float = 300) -> dict[str, dict[str, Any]]:
    """Fire when every instance is ACTIVE or ERROR, from pushed events only."""
    latest: dict[str, dict[str, Any]] = {}
    done: Deferred[None] = Deferred()
    wanted = set(uuids)

    def on_event(view: dict[str, Any]) -> None:
        latest[view["uuid"]] = view
        settled = {u for u, v in latest.items() if v["vm_state"] in ("active", "error")
                   and v["task_state"] is None}
        if wanted <= settled and not done.called:
            done.callback(None)

    await cloud.admin.subscribe(on_event, f"nova.project.{project}.instance")
    await cloud.admin.call("nova.conductor.build_instances", uuids)
    from twisted.internet import reactor

    done.addTimeout(timeout, reactor)
    await done
    return latest
