"""One suite that every compute driver must pass (Nova's ``_VirtDriverTestCase``).

The ``driver`` fixture is parametrized over :data:`FACTORIES`; each test
runs once per driver, on a connected driver, and every guest a test
spawned is destroyed afterwards. What a driver may legitimately lack is
read from the driver itself (``capabilities``, ``consoles_are_live``),
never from its name.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol

from nova_ws.compute import power_state
from nova_ws.compute.drivers.interfaces import (
    CONSOLE_KINDS,
    ConsoleTypeUnavailable,
    IComputeDriver,
    InstanceExists,
    InstanceNotFound,
    InstanceSpec,
)
from nova_ws.compute.drivers.registry import load_driver

#: How long to wait for something already on its way (a guard, not an assert).
TIMEOUT = 15


def _libvirt(reactor: Any) -> IComputeDriver:
    return load_driver("libvirt", reactor=reactor, uri="test:///default")


def _fake(reactor: Any) -> IComputeDriver:
    # Fails with DriverLoadError naming the fake driver if it cannot be built.
    return load_driver("fake", reactor=reactor)


FACTORIES: dict[str, Callable[[Any], IComputeDriver]] = {"fake": _fake, "libvirt": _libvirt}


@pytest_twisted.async_yield_fixture(params=sorted(FACTORIES))
async def driver(request: pytest.FixtureRequest) -> AsyncIterator[IComputeDriver]:
    """A connected driver; guests that were not there before are destroyed after."""
    from twisted.internet import reactor

    drv = FACTORIES[request.param](reactor)
    await drv.init_host("conformance-host")
    before = set(await drv.list_instances())
    try:
        yield drv
    finally:
        for uuid in set(await drv.list_instances()) - before:
            await drv.destroy(uuid)
        await drv.cleanup_host()


def new_spec(**overrides: Any) -> InstanceSpec:
    """A small guest with a fresh uuid."""
    fields: dict[str, Any] = {
        "uuid": str(uuidlib.uuid4()), "name": "conformance", "vcpus": 1, "memory_mb": 128,
        "root_gb": 1,
    }
    fields.update(overrides)
    return InstanceSpec(**fields)


async def spawned(driver: IComputeDriver, **overrides: Any) -> str:
    """Spawn a new guest and return its uuid."""
    spec = new_spec(**overrides)
    await driver.spawn(spec)
    return spec.uuid


async def state_of(driver: IComputeDriver, uuid: str) -> int:
    """The guest's power state."""
    return (await driver.get_info(uuid)).power_state


@pytest_twisted.ensureDeferred
async def test_driver_provides_interface(driver: IComputeDriver) -> None:
    """When loaded through the registry, the driver provides IComputeDriver."""
    assert IComputeDriver.providedBy(driver)
    assert isinstance(driver.name, str) and driver.name


@pytest_twisted.ensureDeferred
async def test_spawn_runs_and_lists(driver: IComputeDriver) -> None:
    """When a guest is spawned, it is RUNNING with its size and in list_instances."""
    uuid = await spawned(driver, vcpus=2, memory_mb=256)
    info = await driver.get_info(uuid)
    assert info.power_state == power_state.RUNNING
    assert info.vcpus == 2
    assert info.memory_kb == 256 * 1024
    assert uuid in await driver.list_instances()


@pytest_twisted.ensureDeferred
async def test_spawn_twice_raises_exists(driver: IComputeDriver) -> None:
    """When a uuid is spawned twice, the second fails InstanceExists and the first runs on."""
    spec = new_spec()
    await driver.spawn(spec)
    with pytest.raises(InstanceExists):
        await driver.spawn(spec)
    assert await state_of(driver, spec.uuid) == power_state.RUNNING
    assert (await driver.list_instances()).count(spec.uuid) == 1


@pytest_twisted.ensureDeferred
async def test_destroy_removes_and_is_idempotent(driver: IComputeDriver) -> None:
    """When a guest is destroyed, it is gone; destroying it again succeeds."""
    uuid = await spawned(driver)
    await driver.destroy(uuid)
    assert uuid not in await driver.list_instances()
    with pytest.raises(InstanceNotFound):
        await driver.get_info(uuid)
    await driver.destroy(uuid)


@pytest_twisted.ensureDeferred
async def test_destroy_stopped_guest(driver: IComputeDriver) -> None:
    """When a powered-off guest is destroyed, it is gone."""
    uuid = await spawned(driver)
    await driver.power_off(uuid)
    await driver.destroy(uuid)
    assert uuid not in await driver.list_instances()


@pytest_twisted.ensureDeferred
async def test_power_off_then_on(driver: IComputeDriver) -> None:
    """When powered off, a guest is SHUTDOWN and still listed; powered on, RUNNING."""
    uuid = await spawned(driver)
    await driver.power_off(uuid)
    assert await state_of(driver, uuid) == power_state.SHUTDOWN
    assert uuid in await driver.list_instances()
    await driver.power_on(uuid)
    assert await state_of(driver, uuid) == power_state.RUNNING


@pytest_twisted.ensureDeferred
async def test_pause_unpause(driver: IComputeDriver) -> None:
    """When paused, a guest is PAUSED; unpaused, RUNNING."""
    if not driver.capabilities.supports_pause:
        pytest.skip("the driver does not pause guests")
    uuid = await spawned(driver)
    await driver.pause(uuid)
    assert await state_of(driver, uuid) == power_state.PAUSED
    await driver.unpause(uuid)
    assert await state_of(driver, uuid) == power_state.RUNNING


@pytest_twisted.ensureDeferred
async def test_suspend_resume(driver: IComputeDriver) -> None:
    """When suspended, a guest is SUSPENDED; resumed, RUNNING."""
    if not driver.capabilities.supports_suspend:
        pytest.skip("the driver does not suspend guests")
    uuid = await spawned(driver)
    await driver.suspend(uuid)
    assert await state_of(driver, uuid) == power_state.SUSPENDED
    await driver.resume(uuid)
    assert await state_of(driver, uuid) == power_state.RUNNING


@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
@pytest_twisted.ensureDeferred
async def test_reboot_ends_running(driver: IComputeDriver, hard: bool) -> None:
    """When a running guest is rebooted, soft or hard, it ends RUNNING."""
    uuid = await spawned(driver)
    await driver.reboot(uuid, hard)
    assert await state_of(driver, uuid) == power_state.RUNNING


@pytest_twisted.ensureDeferred
async def test_hard_reboot_starts_stopped_guest(driver: IComputeDriver) -> None:
    """When a powered-off guest is hard-rebooted, it ends RUNNING."""
    uuid = await spawned(driver)
    await driver.power_off(uuid)
    await driver.reboot(uuid, True)
    assert await state_of(driver, uuid) == power_state.RUNNING


IMAGE_A = "aaaaaaaa-0000-4000-8000-000000000001"
IMAGE_B = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.mark.parametrize("before", ["running", "stopped", "paused"])
@pytest_twisted.ensureDeferred
async def test_rebuild_replaces_the_guest(driver: IComputeDriver, before: str) -> None:
    """When a guest (running, powered off or paused) is rebuilt from a new spec, the same
    uuid runs again, RUNNING, once, with the new spec's size; its console answers anew."""
    from twisted.internet import reactor

    spec = new_spec(image_ref=IMAGE_A)
    await driver.spawn(spec)
    if before == "stopped":
        await driver.power_off(spec.uuid)
    elif before == "paused" and driver.capabilities.supports_pause:
        await driver.pause(spec.uuid)
    await driver.rebuild(new_spec(uuid=spec.uuid, name="rebuilt", image_ref=IMAGE_B,
                                  memory_mb=192))
    info = await driver.get_info(spec.uuid)
    assert info.power_state == power_state.RUNNING
    assert info.memory_kb == 192 * 1024
    assert (await driver.list_instances()).count(spec.uuid) == 1
    assert isinstance(await driver.get_console_output(spec.uuid), str)
    if "vnc" not in driver.capabilities.consoles:
        return
    endpoint = await driver.get_console(spec.uuid, "vnc")
    assert 0 < endpoint.port < 65536
    if getattr(driver, "consoles_are_live", False):
        greeting = _Greeting()
        await connectProtocol(TCP4ClientEndpoint(reactor, endpoint.host, endpoint.port),
                              greeting)
        assert (await greeting.done.addTimeout(TIMEOUT, reactor)).startswith(b"RFB 003.")


@pytest_twisted.ensureDeferred
async def test_rebuilt_guest_powers_off_and_destroys(driver: IComputeDriver) -> None:
    """When a rebuilt guest is powered off and destroyed, it behaves as any guest."""
    uuid = await spawned(driver, image_ref=IMAGE_A)
    await driver.rebuild(new_spec(uuid=uuid, image_ref=IMAGE_B))
    await driver.power_off(uuid)
    assert await state_of(driver, uuid) == power_state.SHUTDOWN
    await driver.destroy(uuid)
    assert uuid not in await driver.list_instances()


UNKNOWN_UUID_CALLS: dict[str, Callable[[IComputeDriver, str], Deferred[Any]]] = {
    "rebuild": lambda d, u: d.rebuild(new_spec(uuid=u, image_ref=IMAGE_B)),
    "power_off": lambda d, u: d.power_off(u),
    "power_on": lambda d, u: d.power_on(u),
    "reboot_soft": lambda d, u: d.reboot(u, False),
    "reboot_hard": lambda d, u: d.reboot(u, True),
    "pause": lambda d, u: d.pause(u),
    "unpause": lambda d, u: d.unpause(u),
    "suspend": lambda d, u: d.suspend(u),
    "resume": lambda d, u: d.resume(u),
    "get_info": lambda d, u: d.get_info(u),
    "get_console": lambda d, u: d.get_console(u, "vnc"),
    "get_console_output": lambda d, u: d.get_console_output(u),
}


@pytest.mark.parametrize("call", sorted(UNKNOWN_UUID_CALLS))
@pytest_twisted.ensureDeferred
async def test_unknown_uuid_raises_not_found(driver: IComputeDriver, call: str) -> None:
    """When a method is called on a uuid the host does not have, it raises InstanceNotFound."""
    with pytest.raises(InstanceNotFound):
        await UNKNOWN_UUID_CALLS[call](driver, str(uuidlib.uuid4()))


class _Greeting(Protocol):
    """Collects the first 12 bytes a server sends (an RFB ProtocolVersion)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.done: Deferred[bytes] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= 12 and not self.done.called:
            self.done.callback(self.buffer[:12])
            self.transport.loseConnection()  # type: ignore[union-attr]


@pytest_twisted.ensureDeferred
async def test_vnc_console(driver: IComputeDriver) -> None:
    """When a driver offers VNC, get_console gives a port; when live, it speaks RFB."""
    from twisted.internet import reactor

    uuid = await spawned(driver)
    if "vnc" not in driver.capabilities.consoles:
        with pytest.raises(ConsoleTypeUnavailable):
            await driver.get_console(uuid, "vnc")
        return
    endpoint = await driver.get_console(uuid, "vnc")
    assert endpoint.kind == "vnc"
    assert endpoint.host
    assert 0 < endpoint.port < 65536
    if not getattr(driver, "consoles_are_live", False):
        return
    greeting = _Greeting()
    await connectProtocol(TCP4ClientEndpoint(reactor, endpoint.host, endpoint.port), greeting)
    version = await greeting.done.addTimeout(TIMEOUT, reactor)
    assert version.startswith(b"RFB 003.") and version.endswith(b"\n")


@pytest_twisted.ensureDeferred
async def test_console_kinds_not_offered(driver: IComputeDriver) -> None:
    """When asked for a console kind it does not offer, a driver raises ConsoleTypeUnavailable."""
    uuid = await spawned(driver)
    for kind in set(CONSOLE_KINDS) - set(driver.capabilities.consoles):
        with pytest.raises(ConsoleTypeUnavailable):
            await driver.get_console(uuid, kind)


@pytest_twisted.ensureDeferred
async def test_console_output_is_text(driver: IComputeDriver) -> None:
    """When a guest runs, get_console_output returns text (possibly empty)."""
    uuid = await spawned(driver)
    assert isinstance(await driver.get_console_output(uuid), str)


@pytest_twisted.ensureDeferred
async def test_available_resource(driver: IComputeDriver) -> None:
    """When guests run, the host's totals cover its usage and running_vms counts them."""
    before = await driver.get_available_resource()
    await spawned(driver)
    await spawned(driver)
    after = await driver.get_available_resource()
    assert after.running_vms == before.running_vms + 2
    assert after.vcpus >= after.vcpus_used >= 2
    assert after.memory_mb >= after.memory_mb_used >= 0
    assert after.local_gb >= after.local_gb_used >= 0
    assert after.hypervisor_hostname and after.hypervisor_type and after.cpu_arch
