"""Compute hosts report only about themselves, over a real router.

Two fake hosts joined with their own compute identities: each may update
its own instances, node and service, and is refused
(``nova.error.not_authorized``) for the other host's, with nothing changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError

from nova_ws.conductor import rpcapi
from nova_ws.conductor.host_guard import NOT_AUTHORIZED
from nova_ws.db.queries import instances
from nova_ws.testing.cloud import create_rows, start_cloud, stop_cloud, wait_settled


@pytest_twisted.async_yield_fixture
async def cloud(tmp_path: Path) -> Any:
    c = await start_cloud(tmp_path, 2)
    yield c
    await stop_cloud(c)


async def refused(d: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as info:
        await d
    return info.value


@pytest_twisted.ensureDeferred
async def test_hosts_speak_only_for_themselves(cloud: Any) -> None:
    """When a host reports about another host's instance, node or service, it is refused."""
    (uuid,) = await create_rows(cloud, 1)
    await wait_settled(cloud, [uuid])
    inst = await cloud.db().run(instances.get_instance, uuid)
    owner = next(c for c in cloud.computes if c.host == inst.host)
    other = next(c for c in cloud.computes if c.host != inst.host)

    view = await owner.client.call(rpcapi.INSTANCE_UPDATE, uuid, {"power_state": 1})
    assert view["uuid"] == uuid
    error = await refused(other.client.call(rpcapi.INSTANCE_UPDATE, uuid,
                                            {"vm_state": "error"}))
    assert error.error == NOT_AUTHORIZED
    assert (await cloud.db().run(instances.get_instance, uuid)).vm_state == "active"

    for call in (
        other.client.call(rpcapi.ACTION_EVENT_START, uuid, "compute_x", other.host),
        owner.client.call(rpcapi.ACTION_EVENT_START, uuid, "compute_x", other.host),
        other.client.call(rpcapi.COMPUTE_NODE_UPDATE, owner.host, {
            "vcpus": 1, "memory_mb": 1, "local_gb": 1}),
        other.client.call(rpcapi.INSTANCES_ON_HOST, owner.host),
        other.client.call(rpcapi.SERVICE_HEARTBEAT, {
            "binary": "nova-compute", "host": owner.host, "topic": "compute", "zone": "nova"}),
    ):
        assert (await refused(call)).error == NOT_AUTHORIZED
    assert [i["uuid"] for i in await owner.client.call(rpcapi.INSTANCES_ON_HOST,
                                                       owner.host)] == [uuid]
    # the conductor's own caller (admin here) is not a compute host: it passes
    assert await cloud.admin.call(rpcapi.INSTANCES_ON_HOST, owner.host)


@pytest_twisted.ensureDeferred
async def test_delete_while_building(cloud: Any) -> None:
    """When servers are deleted at any point of their build, each delete succeeds and
    the hosts end with nothing claimed (the failed build neither reschedules nor
    releases a second time)."""
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    from nova_ws.db.queries import compute_nodes

    for delay in (0, 0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08):
        (uuid,) = await create_rows(cloud, 1)
        await cloud.admin.call("nova.conductor.build_instances", [uuid])
        await deferLater(reactor, delay, lambda: None)
        await cloud.admin.call("nova.conductor.instance_action", uuid, "delete")
    for build in list(cloud.conductor.manager.builds.values()):
        await build
    nodes = await cloud.db().run(compute_nodes.list_compute_nodes)
    assert [(n.vcpus_used, n.memory_mb_used) for n in nodes] == [(0, 0)] * len(nodes)
