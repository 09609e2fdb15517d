"""Instance actions, service states and power sync, through a real router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError

from nova_ws.compute import power_state
from nova_ws.db.queries import actions, instances, server_groups
from nova_ws.testing.cloud import Cloud, create_rows, start_cloud, stop_cloud, wait_settled

pytestmark = pytest.mark.integration


@pytest_twisted.async_yield_fixture
async def cloud(tmp_path: Path) -> AsyncIterator[Cloud]:
    """A router, conductor, scheduler and two fake hosts."""
    c = await start_cloud(tmp_path, 2)
    try:
        yield c
    finally:
        await stop_cloud(c)


async def _act(cloud: Cloud, uuid: str, action: str, **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = await cloud.admin.call("nova.conductor.instance_action", uuid,
                                                    action, **kw)
    return result


@pytest_twisted.ensureDeferred
async def test_lifecycle_follows_the_state_machine(cloud: Cloud) -> None:
    """When actions run in turn, each ends in Nova's state; a wrong one is refused; all logged."""
    [uuid] = await create_rows(cloud, 1)
    await wait_settled(cloud, [uuid])
    steps = [("stop", "stopped", power_state.SHUTDOWN), ("start", "active", power_state.RUNNING),
             ("pause", "paused", power_state.PAUSED), ("unpause", "active", power_state.RUNNING),
             ("suspend", "suspended", power_state.SUSPENDED),
             ("resume", "active", power_state.RUNNING), ("reboot", "active", power_state.RUNNING)]
    for action, vm_state, power in steps:
        view = await _act(cloud, uuid, action)
        assert (view["vm_state"], view["task_state"], view["power_state"]) == (
            vm_state, None, power), action
    assert (await _act(cloud, uuid, "reboot", hard=True))["vm_state"] == "active"
    with pytest.raises(ApplicationError) as err:
        await _act(cloud, uuid, "unpause")
    assert err.value.error == "nova.error.instance_invalid_state"
    assert "vm_state active" in err.value.args[0]
    with pytest.raises(ApplicationError) as err:
        await _act(cloud, "00000000-0000-0000-0000-000000000000", "stop")
    assert err.value.error == "nova.error.instance_not_found"
    done = await _act(cloud, uuid, "delete")
    assert done["vm_state"] == "deleted"
    recorded = await cloud.db().run(actions.list_actions, uuid)
    names = sorted(a.action for a in recorded)
    assert names == sorted(["create", "stop", "start", "pause", "unpause", "suspend", "resume",
                            "reboot", "reboot", "delete"])
    stop = next(a for a in recorded if a.action == "stop")
    assert [(e.event, e.result) for e in stop.events] == [("compute_stop_instance", "Success")]


@pytest_twisted.ensureDeferred
async def test_disabled_or_forced_down_host_gets_no_guests(cloud: Cloud) -> None:
    """When a compute service is disabled (or forced down), new servers go elsewhere."""
    listed = await cloud.admin.call("nova.conductor.service_list")
    computes = [s for s in listed if s["binary"] == "nova-compute"]
    assert {s["state"] for s in computes} == {"up"} and len(computes) == 2
    view = await cloud.admin.call("nova.conductor.service_update", "host0", "nova-compute",
                                  disabled=True, disabled_reason="maintenance")
    assert view["disabled"] and view["disabled_reason"] == "maintenance"
    uuids = await create_rows(cloud, 3)
    await wait_settled(cloud, uuids)
    placed = await cloud.db().run(lambda s: [instances.get_instance(s, u).host for u in uuids])
    assert placed == ["host1"] * 3
    await cloud.admin.call("nova.conductor.service_update", "host0", "nova-compute",
                           disabled=False)
    await cloud.admin.call("nova.conductor.service_update", "host1", "nova-compute",
                           forced_down=True)
    listed = await cloud.admin.call("nova.conductor.service_list")
    assert [s["state"] for s in listed if s["host"] == "host1"] == ["down"]
    more = await create_rows(cloud, 2)
    await wait_settled(cloud, more)
    placed = await cloud.db().run(lambda s: [instances.get_instance(s, u).host for u in more])
    assert placed == ["host0"] * 2
    with pytest.raises(ApplicationError) as err:
        await cloud.admin.call("nova.conductor.service_update", "nohost", "nova-compute",
                               disabled=True)
    assert err.value.error == "nova.error.service_not_found"


@pytest_twisted.ensureDeferred
async def test_guest_stopped_behind_our_back_is_noticed(cloud: Cloud) -> None:
    """When a guest stops without an action, the host's power sync records it, pushed live."""
    [uuid] = await create_rows(cloud, 1)
    await wait_settled(cloud, [uuid])
    inst = await cloud.db().run(instances.get_instance, uuid)
    compute = next(c for c in cloud.computes if c.host == inst.host)
    seen: list[dict[str, Any]] = []
    await cloud.admin.subscribe(seen.append, "nova.project.p-test.instance")
    compute.driver.guests[uuid].set_state(power_state.SHUTDOWN)  # type: ignore[attr-defined]
    await compute.periodic.sync_power_states()
    after = await cloud.db().run(instances.get_instance, uuid)
    assert (after.vm_state, after.power_state) == ("stopped", power_state.SHUTDOWN)
    await cloud.admin.call("nova.conductor.service_list")  # events delivered before this
    assert seen and seen[-1]["vm_state"] == "stopped"


@pytest.mark.parametrize("policy,distinct", [("anti-affinity", 2), ("affinity", 1)])
@pytest_twisted.ensureDeferred
async def test_server_groups_hold_under_concurrent_boots(tmp_path: Path, policy: str,
                                                         distinct: int) -> None:
    """When group members boot at once, anti-affinity spreads them and affinity packs them;
    a member that cannot be placed by the policy ends in ERROR."""
    c = await start_cloud(tmp_path, 2)
    try:
        uuids = await create_rows(c, 3, flavor="m1.tiny")
        await c.db().run(lambda s: server_groups.create_server_group(
            s, name="g", policy=policy, project_id="p-test", user_id="u1", members=uuids))
        final = await wait_settled(c, uuids)
        hosts = await c.db().run(lambda s: [instances.get_instance(s, u).host for u in uuids])
        active = [h for u, h in zip(uuids, hosts, strict=True)
                  if final[u]["vm_state"] == "active"]
        assert len(set(active)) == distinct
        if policy == "anti-affinity":  # two hosts: the third member has nowhere to go
            assert sorted(v["vm_state"] for v in final.values()) == ["active", "active",
                                                                    "error"]
        else:
            assert len(active) == 3
    finally:
        await stop_cloud(c)


@pytest_twisted.ensureDeferred
async def test_actions_are_finished(cloud: Cloud) -> None:
    """When a build and an action succeed, their instance actions carry a finish time."""
    [uuid] = await create_rows(cloud, 1)
    await wait_settled(cloud, [uuid])
    await _act(cloud, uuid, "stop")
    recorded = await cloud.db().run(actions.list_actions, uuid)
    assert {a.action for a in recorded} == {"create", "stop"}
    assert all(a.finish_time is not None for a in recorded)
