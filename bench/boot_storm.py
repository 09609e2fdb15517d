"""Part 1 of the boot benchmark: a storm of builds through the whole flow.

Instance rows are written as the API would (building, scheduling), then one
``nova.conductor.build_instances`` call over the router, as the admin
session, starts every build at once: conductor -> scheduler (filters,
weighers, claim) -> the chosen compute host -> conductor -> database ->
an instance event. Each server's time is from just before that call to the
moment its ACTIVE (or ERROR) event reaches the admin session.
"""

from __future__ import annotations

import cProfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from boot_cloud import (
    CpuMeter,
    LogCounter,
    cpu_sample,
    meter_router,
    percentile,
    start_cloud,
)
from twisted.internet.defer import Deferred, DeferredList, TimeoutError

from nova_ws.compute.drivers.fake.driver import FakeHost
from nova_ws.db.queries import compute_nodes
from nova_ws.testing.cloud import PROJECT, create_rows, stop_cloud

FLAVOR = "m1.small"
MEMORY_MB = 2048  # m1.small's


class Settling:
    """Records when each wanted instance first settles (ACTIVE or ERROR)."""

    def __init__(self, uuids: list[str]) -> None:
        self.wanted = set(uuids)
        self.at: dict[str, tuple[float, str]] = {}
        self.done: Deferred[None] = Deferred()

    def __call__(self, view: dict[str, Any]) -> None:
        uuid = view.get("uuid")
        if uuid not in self.wanted or uuid in self.at or view.get("task_state") is not None:
            return
        if view.get("vm_state") in ("active", "error"):
            self.at[uuid] = (time.perf_counter(), view["vm_state"])
            if len(self.at) == len(self.wanted) and not self.done.called:
                self.done.callback(None)


def allocation(nodes: list[compute_nodes.ComputeNode]) -> dict[str, Any]:
    """How full the nodes are against their allocation ratios."""
    def share(used: float, total: float, ratio: float) -> float:
        return used / (total * ratio) if total * ratio else float("inf")

    over = [n.host for n in nodes if not n.fits(0, 0, 0)]
    return {
        "nodes": len(nodes),
        "hosts_over_ratio": over,
        "max_ram_share": max((share(n.memory_mb_used, n.memory_mb, n.ram_allocation_ratio)
                              for n in nodes), default=0.0),
        "max_vcpu_share": max((share(n.vcpus_used, n.vcpus, n.cpu_allocation_ratio)
                               for n in nodes), default=0.0),
        "max_disk_share": max((share(n.local_gb_used, n.local_gb, n.disk_allocation_ratio)
                               for n in nodes), default=0.0),
        "memory_mb_used": sum(n.memory_mb_used for n in nodes),
    }


async def run_storm(reactor: Any, database_url: str, state_path: Path, servers: int,
                    hosts: int, host: FakeHost, timeout: float,
                    profile: str | None = None) -> dict[str, Any]:
    """Boot *servers* m1.small on *hosts* fake hosts at once; the measurements."""
    started = time.perf_counter()
    cloud = await start_cloud(state_path, database_url, hosts, host)
    setup_s = time.perf_counter() - started
    router, spawn = CpuMeter(), CpuMeter()
    metered = meter_router(router, cloud.router, reactor)
    for compute in cloud.computes:
        spawn.wrap(compute.driver, "spawn")
    profiler = cProfile.Profile() if profile else None
    try:
        uuids = await create_rows(cloud, servers, flavor=FLAVOR)
        settling = Settling(uuids)
        await cloud.admin.subscribe(settling, f"nova.project.{PROJECT}.instance")
        with LogCounter() as logs:
            if profiler:
                profiler.enable()
            before = cpu_sample(router, spawn)
            await cloud.admin.call("nova.conductor.build_instances", uuids)
            accepted = time.perf_counter()
            timed_out = False
            settling.done.addTimeout(timeout, reactor)
            try:
                await settling.done
            except TimeoutError:
                timed_out = True
            settled = cpu_sample(router, spawn)
            builds = DeferredList(list(cloud.conductor.manager.builds.values()),
                                  consumeErrors=True)
            builds.addTimeout(timeout, reactor)
            try:
                await builds
            except TimeoutError:
                timed_out = True
            finished = cpu_sample(router, spawn)
            if profiler and profile:
                profiler.disable()
                profiler.dump_stats(profile)
        nodes = await cloud.db().run(compute_nodes.list_compute_nodes)
        placed = [len(c.driver.guests) for c in cloud.computes]  # type: ignore[attr-defined]
    finally:
        await stop_cloud(cloud)
    states = Counter(state for _, state in settling.at.values())
    latencies = [(at - before.wall) * 1000.0 for at, _ in settling.at.values()]
    last = max((at for at, _ in settling.at.values()), default=settled.wall)
    window = last - before.wall
    return {
        "servers": servers, "hosts": hosts, "flavor": FLAVOR,
        "host_size": {"vcpus": host.vcpus, "memory_mb": host.memory_mb,
                      "local_gb": host.local_gb},
        "setup_s": setup_s,
        "active": states["active"], "error": states["error"],
        "unsettled": servers - len(settling.at), "timed_out": timed_out,
        "build_call_ms": (accepted - before.wall) * 1000.0,
        "last_settled_s": window,
        "servers_per_s": len(settling.at) / window if window > 0 and settling.at else 0.0,
        "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies, default=float("nan")),
        "allocation": allocation(nodes),
        "servers_per_host": {"min": min(placed, default=0), "max": max(placed, default=0),
                             "hosts_used": sum(1 for p in placed if p)},
        "guests": sum(placed),
        "usage_matches_guests": sum(n.memory_mb_used for n in nodes) == sum(placed) * MEMORY_MB
        and sum(placed) == states["active"],
        "cpu": before.until(finished),
        "cpu_to_last_settled": before.until(settled),
        "router_connections_metered": metered,
        "logged": dict(logs.counts), "logged_failures": logs.failures,
    }


def storm_failed(result: dict[str, Any]) -> bool:
    """Whether the storm left a server short of ACTIVE, overcommitted a host, or
    left claims in the database that differ from the guests the hosts run."""
    return bool(result["error"] or result["unsettled"] or not result["usage_matches_guests"]
                or result["allocation"]["hosts_over_ratio"])
