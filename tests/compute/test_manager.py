"""The compute manager and its periodic tasks, with the fake driver and a Clock.

The conductor side is an in-memory stand-in that keeps instance rows and
enforces ``expected_task_state`` the way the real conductor does; it is a
fake at our own RPC boundary, so the manager's real calls are exercised.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.testing import MemoryReactorClock

from nova_ws.compute import power_state, states
from nova_ws.compute.drivers.fake.driver import FakeDriver
from nova_ws.compute.manager import ComputeManager
from nova_ws.compute.periodic import PeriodicTasks
from nova_ws.compute.rpcapi import BUILD_FAILED, INSTANCE_NOT_FOUND, REBUILD_FAILED
from nova_ws.conductor import rpcapi
from nova_ws.conductor.rpcapi import ConductorAPI

UUID = "11111111-2222-3333-4444-555555555555"


class MemoryConductor:
    """Instance rows in a dict, answering the conductor's procedures."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.events: list[tuple[str, str]] = []
        self.up = True  # False: the router has no callee for any procedure

    def call(self, procedure: str, *args: Any, **kwargs: Any) -> Deferred[Any]:
        self.calls.append((procedure, args))
        if not self.up:
            return fail(ApplicationError(ApplicationError.NO_SUCH_PROCEDURE,
                                         f"no callee registered for procedure '{procedure}'"))
        if procedure == rpcapi.INSTANCE_UPDATE:
            uuid, updates = args
            row = self.rows[uuid]
            expected = kwargs.get("expected_task_state")
            if expected is not None and row["task_state"] not in expected:
                return fail(ApplicationError(rpcapi.UNEXPECTED_TASK_STATE, row["task_state"]))
            row.update(updates)
            return succeed(dict(row))
        if procedure == rpcapi.INSTANCES_ON_HOST:
            return succeed([dict(r) for r in self.rows.values() if r.get("host") == args[0]])
        if procedure == rpcapi.ACTION_EVENT_FINISH:
            self.events.append((args[1], args[3]))
        return succeed({"disabled": False})


def _setup(**driver_kw: Any) -> tuple[ComputeManager, MemoryConductor, MemoryReactorClock]:
    clock = MemoryReactorClock()
    conductor = MemoryConductor()
    manager = ComputeManager("host1", FakeDriver(clock, **driver_kw), ConductorAPI(conductor))
    conductor.rows[UUID] = {"uuid": UUID, "vm_state": states.BUILDING,
                            "task_state": states.SCHEDULING, "power_state": 0}
    return manager, conductor, clock


REQUEST = {"uuid": UUID, "display_name": "web1",
           "flavor": {"vcpus": 2, "memory_mb": 1024, "root_gb": 5}}


@pytest_twisted.ensureDeferred
async def test_build_reaches_active() -> None:
    """When a build succeeds, the row is ACTIVE/RUNNING on this host, with events recorded."""
    manager, conductor, _ = _setup()
    await manager.build_and_run_instance(REQUEST)
    row = conductor.rows[UUID]
    assert (row["vm_state"], row["task_state"], row["power_state"], row["host"]) == (
        states.ACTIVE, None, power_state.RUNNING, "host1")
    assert row["launched_at"].endswith("Z")
    assert conductor.events == [("compute__do_build_and_run_instance", "Success")]
    assert "web1" in manager.driver.guests[UUID].console.text()


@pytest_twisted.ensureDeferred
async def test_failed_build_cleans_up_and_reports() -> None:
    """When the driver fails to spawn, no guest is left and build_failed is raised."""
    manager, conductor, _ = _setup(fail_on={"spawn": "disk full"})
    with pytest.raises(ApplicationError) as err:
        await manager.build_and_run_instance(REQUEST)
    assert err.value.error == BUILD_FAILED and "disk full" in err.value.args[0]
    assert manager.driver.guests == {}
    assert conductor.events == [("compute__do_build_and_run_instance", "Error")]


@pytest_twisted.ensureDeferred
async def test_actions_move_states() -> None:
    """When stop/start/pause/unpause run, each ends in its vm_state and power_state."""
    manager, conductor, _ = _setup()
    await manager.build_and_run_instance(REQUEST)
    row = conductor.rows[UUID]
    procs = manager.procedures()
    for action, task, vm, power in (
            ("stop", states.POWERING_OFF, states.STOPPED, power_state.SHUTDOWN),
            ("start", states.POWERING_ON, states.ACTIVE, power_state.RUNNING),
            ("pause", states.PAUSING, states.PAUSED, power_state.PAUSED),
            ("unpause", states.UNPAUSING, states.ACTIVE, power_state.RUNNING),
            ("suspend", states.SUSPENDING, states.SUSPENDED, power_state.SUSPENDED),
            ("resume", states.RESUMING, states.ACTIVE, power_state.RUNNING)):
        row["task_state"] = task  # the conductor set it before calling us
        await procs[f"{action}_instance"](UUID)
        assert (row["vm_state"], row["task_state"], row["power_state"]) == (vm, None, power)


@pytest_twisted.ensureDeferred
async def test_action_racing_a_delete_does_not_overwrite() -> None:
    """When the task_state changed meanwhile (a delete), the action's update is refused."""
    manager, conductor, _ = _setup()
    await manager.build_and_run_instance(REQUEST)
    conductor.rows[UUID]["task_state"] = states.DELETING
    with pytest.raises(ApplicationError) as err:
        await manager.procedures()["stop_instance"](UUID)
    assert err.value.error == rpcapi.UNEXPECTED_TASK_STATE
    assert conductor.rows[UUID]["task_state"] == states.DELETING


NEW_IMAGE = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.mark.parametrize("stopped", [False, True], ids=["active", "stopped"])
@pytest_twisted.ensureDeferred
async def test_rebuild_spawns_the_new_image(stopped: bool) -> None:
    """When a rebuild runs, the row goes rebuild_spawning and ends ACTIVE/RUNNING (a stopped
    instance: STOPPED/SHUTDOWN again), and the new guest's boot log shows the new image."""
    manager, conductor, _ = _setup()
    await manager.build_and_run_instance(REQUEST)
    row = conductor.rows[UUID]
    row["task_state"] = states.REBUILDING  # the conductor set it before calling us
    seen: list[Any] = []
    original = conductor.call

    def watch(procedure: str, *args: Any, **kwargs: Any) -> Deferred[Any]:
        if procedure == rpcapi.INSTANCE_UPDATE:
            seen.append(args[1].get("task_state"))
        return original(procedure, *args, **kwargs)

    conductor.call = watch  # type: ignore[method-assign]
    await manager.procedures()["rebuild_instance"](
        UUID, {**REQUEST, "image_ref": NEW_IMAGE}, stopped=stopped, request_id="req-1")
    assert seen == [states.REBUILD_SPAWNING, None]
    final = ((states.STOPPED, power_state.SHUTDOWN) if stopped
             else (states.ACTIVE, power_state.RUNNING))
    assert (row["vm_state"], row["task_state"], row["power_state"]) == (final[0], None,
                                                                          final[1])
    guest = manager.driver.guests[UUID]  # type: ignore[attr-defined]
    assert f"Image {NEW_IMAGE}" in guest.output and guest.state == final[1]
    assert conductor.events[-1] == ("compute_rebuild_instance", "Success")


@pytest_twisted.ensureDeferred
async def test_failed_rebuild_reports_and_leaves_no_guest() -> None:
    """When the driver cannot spawn the new guest, rebuild_failed is raised, the event is an
    Error, and no guest is left; rebuilt again, the missing guest is spawned afresh."""
    manager, conductor, _ = _setup()
    await manager.build_and_run_instance(REQUEST)
    conductor.rows[UUID]["task_state"] = states.REBUILDING
    manager.driver.fail_on["spawn"] = "disk full"  # type: ignore[attr-defined]
    with pytest.raises(ApplicationError) as err:
        await manager.rebuild_instance(UUID, {**REQUEST, "image_ref": NEW_IMAGE})
    assert err.value.error == REBUILD_FAILED and "disk full" in err.value.args[0]
    assert manager.driver.guests == {}  # type: ignore[attr-defined]
    assert conductor.events[-1] == ("compute_rebuild_instance", "Error")
    conductor.rows[UUID]["task_state"] = states.REBUILDING
    del manager.driver.fail_on["spawn"]  # type: ignore[attr-defined]
    await manager.rebuild_instance(UUID, {**REQUEST, "image_ref": NEW_IMAGE})
    assert conductor.rows[UUID]["vm_state"] == states.ACTIVE
    assert f"Image {NEW_IMAGE}" in manager.driver.guests[UUID].output  # type: ignore[attr-defined]


@pytest_twisted.ensureDeferred
async def test_rebuild_racing_a_delete_leaves_no_guest() -> None:
    """When the instance is deleted while its guest is rebuilt, the new guest goes too."""
    manager, conductor, _ = _setup()
    await manager.build_and_run_instance(REQUEST)
    conductor.rows[UUID]["task_state"] = states.REBUILDING
    driver: Any = manager.driver
    rebuild = driver.rebuild

    def and_delete(spec: Any) -> Deferred[None]:
        d: Deferred[None] = rebuild(spec)
        conductor.rows[UUID]["task_state"] = states.DELETING
        return d

    driver.rebuild = and_delete
    with pytest.raises(ApplicationError) as err:
        await manager.rebuild_instance(UUID, {**REQUEST, "image_ref": NEW_IMAGE})
    assert err.value.error == rpcapi.UNEXPECTED_TASK_STATE
    assert driver.guests == {}


@pytest_twisted.ensureDeferred
async def test_unknown_instance_and_console() -> None:
    """When asked about a guest this host lacks, the manager answers instance_not_found."""
    manager, _, _ = _setup()
    with pytest.raises(ApplicationError) as err:
        await manager.get_console_output("nope")
    assert err.value.error == INSTANCE_NOT_FOUND
    await manager.build_and_run_instance(REQUEST)
    console = await manager.get_console(UUID, "vnc")
    assert console["kind"] == "vnc" and console["host"] == "127.0.0.1"
    with pytest.raises(ApplicationError) as err:
        await manager.get_console(UUID, "spice")
    assert err.value.error == "nova.error.console_type_unavailable"


@pytest_twisted.ensureDeferred
async def test_power_sync_notices_a_guest_stopped_behind_our_back() -> None:
    """When a guest stops without us, the next power sync records STOPPED/SHUTDOWN."""
    manager, conductor, clock = _setup()
    await manager.build_and_run_instance(REQUEST)
    tasks = PeriodicTasks(manager, clock, sync_interval=60)
    tasks.start()
    manager.driver.guests[UUID].set_state(power_state.SHUTDOWN)  # behind our back
    assert conductor.rows[UUID]["vm_state"] == states.ACTIVE
    for _ in range(6):
        clock.advance(10)
    row = conductor.rows[UUID]
    assert (row["vm_state"], row["power_state"]) == (states.STOPPED, power_state.SHUTDOWN)
    updates = [c for c in conductor.calls if c[0] == rpcapi.COMPUTE_NODE_UPDATE]
    assert len(updates) == 2  # at start, then after 60 s
    tasks.stop()


@pytest_twisted.ensureDeferred
async def test_periodic_tasks_wait_for_a_conductor_that_is_not_up_yet() -> None:
    """When the conductor has not joined yet, the tasks try again soon, not a minute later."""
    manager, conductor, clock = _setup()
    conductor.up = False
    tasks = PeriodicTasks(manager, clock, resource_interval=60, sync_interval=60, retry_delay=2)
    tasks.start()
    updates = [c for c in conductor.calls if c[0] == rpcapi.COMPUTE_NODE_UPDATE]
    assert len(updates) == 1  # tried at start, and found nobody
    clock.advance(2)
    clock.advance(2)
    assert len([c for c in conductor.calls if c[0] == rpcapi.COMPUTE_NODE_UPDATE]) == 3
    conductor.up = True
    clock.advance(2)  # the conductor is there now: the retry reports, and retries end
    clock.advance(2)
    clock.advance(2)
    assert len([c for c in conductor.calls if c[0] == rpcapi.COMPUTE_NODE_UPDATE]) == 4
    assert len([c for c in conductor.calls if c[0] == rpcapi.INSTANCES_ON_HOST]) == 4
    tasks.stop()
    assert clock.getDelayedCalls() == []
