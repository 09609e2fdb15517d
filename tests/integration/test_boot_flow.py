"""The whole boot flow over a real router: conductor, scheduler, many fake hosts.

Everything runs in the test's reactor but talks only through the router,
exactly as separate processes would (see :mod:`nova_ws.testing.cloud`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet.defer import DeferredList, ensureDeferred

from nova_ws.db.queries import compute_nodes
from nova_ws.testing.cloud import Cloud, create_rows, start_cloud, stop_cloud, wait_settled

pytestmark = pytest.mark.integration


@pytest_twisted.async_yield_fixture
async def cloud(tmp_path: Path) -> AsyncIterator[Cloud]:
    """A router, conductor, scheduler and 20 fake hosts."""
    c = await start_cloud(tmp_path, 20)
    try:
        yield c
    finally:
        await stop_cloud(c)


@pytest_twisted.ensureDeferred
async def test_hundred_servers_reach_active_without_overcommit(cloud: Cloud) -> None:
    """When 100 servers boot at once, all reach ACTIVE and no host passes its ratios;
    deleting them all frees every claim."""
    uuids = await create_rows(cloud, 100)
    final = await wait_settled(cloud, uuids)
    assert {v["vm_state"] for v in final.values()} == {"active"}
    nodes = await cloud.db().run(compute_nodes.list_compute_nodes)
    assert len(nodes) == 20
    for node in nodes:
        assert node.memory_mb_used <= node.memory_mb * node.ram_allocation_ratio
        assert node.vcpus_used <= node.vcpus * node.cpu_allocation_ratio
    assert sum(n.memory_mb_used for n in nodes) == 100 * 2048
    placed = {c.host: len(c.driver.guests) for c in cloud.computes}
    assert sum(placed.values()) == 100
    for node in nodes:
        assert node.memory_mb_used == placed[node.host] * 2048
    results = await DeferredList([
        ensureDeferred(cloud.admin.call("nova.conductor.instance_action", u, "delete"))
        for u in uuids], consumeErrors=True)
    assert all(ok for ok, _ in results), [r for ok, r in results if not ok][:3]
    nodes = await cloud.db().run(compute_nodes.list_compute_nodes)
    assert [(n.vcpus_used, n.memory_mb_used, n.local_gb_used) for n in nodes] == [(0, 0, 0)] * 20
    assert sum(len(c.driver.guests) for c in cloud.computes) == 0


@pytest_twisted.ensureDeferred
async def test_failed_builds_are_rescheduled_and_full_cloud_errors(tmp_path: Path) -> None:
    """When a host fails every spawn, its builds land elsewhere; past capacity, ERROR."""
    c = await start_cloud(tmp_path, 3, fail_hosts={"host0": "disk on fire"})
    try:
        # 2 good hosts x 6 m1.small each = 12 fit; ask for 14
        uuids = await create_rows(c, 14)
        final = await wait_settled(c, uuids)
        states = [v["vm_state"] for v in final.values()]
        assert states.count("active") == 12 and states.count("error") == 2
        assert len(c.computes[0].driver.guests) == 0
        node0 = [n for n in await c.db().run(compute_nodes.list_compute_nodes)
                 if n.host == "host0"][0]
        assert node0.memory_mb_used == 0  # claims on the failing host were released
    finally:
        await stop_cloud(c)
