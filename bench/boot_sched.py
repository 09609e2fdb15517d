"""Part 2 of the boot benchmark: scheduler decisions against many hosts.

Compute nodes and their nova-compute services (up, enabled) are written
straight into the database with the query functions; no compute host runs.
Then ``SchedulerManager.select_destinations`` is called directly, one at a
time and with several at once, every decision claiming resources; the same
again through the router (``nova.scheduler.select_destinations`` called by
the admin session). The parts of one decision are timed on their own too:
``load_hosts`` (through ``Database.run``, as the manager calls it, and as a
plain call in one session), ``select_hosts`` (filters and weighers, pure
Python) and one ``claim``.
"""

from __future__ import annotations

import cProfile
import random
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from autobahn.wamp.exception import ApplicationError
from boot_cloud import (
    CpuMeter,
    LogCounter,
    cpu_sample,
    meter_router,
    percentile,
    start_cloud,
)
from sqlalchemy.orm import Session
from twisted.internet.defer import DeferredList, ensureDeferred

from nova_ws.compute.drivers.fake.driver import FakeHost
from nova_ws.db.queries import compute_nodes, services
from nova_ws.scheduler.manager import load_hosts, spec_from_dict
from nova_ws.scheduler.select import select_hosts
from nova_ws.scheduler.service import SELECT_DESTINATIONS
from nova_ws.testing.cloud import stop_cloud

#: m1.small, as the conductor sends it
SPEC: dict[str, Any] = {"vcpus": 1, "memory_mb": 2048, "root_gb": 20, "ephemeral_gb": 0,
        "availability_zone": None, "ignore_hosts": []}
PART_REPEATS = 30


def spec() -> dict[str, Any]:
    """A request for one m1.small with a fresh instance uuid."""
    return {"instance_uuid": str(uuidlib.uuid4()), **SPEC}


def populate(session: Session, n_hosts: int, host: FakeHost) -> None:
    """*n_hosts* compute nodes with their nova-compute services, up and enabled."""
    for i in range(n_hosts):
        name = f"sched{i:04d}"
        compute_nodes.upsert_compute_node(
            session, host=name, hypervisor_hostname=name, vcpus=host.vcpus,
            memory_mb=host.memory_mb, local_gb=host.local_gb, hypervisor_type="fake",
            cpu_info={"arch": host.arch})
        services.register_service(session, name, "nova-compute", topic="compute",
                                  availability_zone="nova")


def heartbeat_all(session: Session, n_hosts: int) -> None:
    """One heartbeat from every host (so none is down however long the run)."""
    for i in range(n_hosts):
        services.heartbeat(session, f"sched{i:04d}", "nova-compute")


async def timed(calls: int, concurrency: int,
                call: Callable[[], Awaitable[Any]]) -> tuple[float, list[float], int]:
    """*calls* calls, *concurrency* at a time: wall seconds, latencies (ms), failures."""
    latencies: list[float] = []
    failures = 0
    remaining = iter(range(calls))

    async def worker() -> None:
        nonlocal failures
        for _ in remaining:
            start = time.perf_counter()
            try:
                await call()
            except ApplicationError:
                failures += 1
            latencies.append((time.perf_counter() - start) * 1000.0)

    start = time.perf_counter()
    await DeferredList([ensureDeferred(worker()) for _ in range(concurrency)],
                       fireOnOneErrback=True, consumeErrors=True)
    return time.perf_counter() - start, latencies, failures


def _stats(latencies: list[float]) -> dict[str, float]:
    return {"p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99),
            "mean_ms": sum(latencies) / len(latencies) if latencies else float("nan")}


def _time_plain(fn: Callable[[], Any], repeats: int) -> list[float]:
    latencies = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        latencies.append((time.perf_counter() - start) * 1000.0)
    return latencies


async def parts(cloud: Any) -> dict[str, dict[str, float]]:
    """Each step of one decision, timed alone (``PART_REPEATS`` times each)."""
    manager = cloud.scheduler.manager
    db = cloud.db()
    down = manager.service_down_time
    out: dict[str, dict[str, float]] = {}
    _, lat, _ = await timed(PART_REPEATS, 1, lambda: db.run(load_hosts, down))
    out["load_hosts"] = _stats(lat)

    def plain() -> None:  # on this thread: no thread pool hop, no retry wrapper
        with Session(db.engine) as session, session.begin():
            load_hosts(session, down)

    out["load_hosts_plain"] = _stats(_time_plain(plain, PART_REPEATS))
    hosts = await db.run(load_hosts, down)
    request = spec_from_dict(spec())
    out["select_hosts"] = _stats(_time_plain(lambda: select_hosts(
        hosts, request, manager.filters, manager.weighers,
        host_subset_size=manager.host_subset_size), PART_REPEATS))
    nodes = iter(random.Random(1).sample([h.node_uuid for h in hosts],
                                         min(len(hosts), PART_REPEATS)))
    _, lat, _ = await timed(min(len(hosts), PART_REPEATS), 1, lambda: db.run(
        compute_nodes.claim, next(nodes), vcpus=1, memory_mb=2048, disk_gb=20))
    out["claim"] = _stats(lat)
    return out


async def run_scheduler(reactor: Any, database_url: str, state_path: Path, n_hosts: int,
                        decisions: int, concurrency: int, host: FakeHost, wamp: bool = True,
                        profile: str | None = None) -> dict[str, Any]:
    """Decisions/s against *n_hosts* hosts in the database; the measurements."""
    cloud = await start_cloud(state_path, database_url, 0, host)
    meter = CpuMeter()
    meter_router(meter, cloud.router, reactor)
    profiler = cProfile.Profile() if profile else None
    results: dict[str, Any] = {"hosts": n_hosts, "decisions": decisions,
                               "concurrency": concurrency}
    try:
        start = time.perf_counter()
        await cloud.db().run(populate, n_hosts, host)
        results["populate_s"] = time.perf_counter() - start
        results["parts"] = await parts(cloud)
        manager = cloud.scheduler.manager
        modes: list[tuple[str, int, Callable[[], Awaitable[Any]]]] = [
            ("direct", 1, lambda: manager.select_destinations(spec())),
            ("direct", concurrency, lambda: manager.select_destinations(spec())),
        ]
        if wamp:
            def over_wamp() -> Awaitable[Any]:
                return cloud.admin.call(SELECT_DESTINATIONS, spec())
            modes += [("wamp", 1, over_wamp), ("wamp", concurrency, over_wamp)]
        results["modes"] = []
        if profiler:
            profiler.enable()
        for via, at_once, call in modes:
            await cloud.db().run(heartbeat_all, n_hosts)
            with LogCounter() as logs:
                before = cpu_sample(meter)
                wall, lat, failures = await timed(decisions, at_once, call)
                cpu = before.until(cpu_sample(meter))
            results["modes"].append({
                "via": via, "concurrency": at_once, "decisions": decisions,
                "failures": failures, "per_s": decisions / wall if wall > 0 else 0.0,
                **_stats(lat), "cpu": cpu,
                "claims_lost": logs.counts["claims_lost"]})
        if profiler and profile:
            profiler.disable()
            profiler.dump_stats(profile)
    finally:
        await stop_cloud(cloud)
    return results
