"""The fake driver's own knobs: boot delay, failure injection, host size, screens."""

from __future__ import annotations

from typing import Any

from twisted.internet.testing import MemoryReactorClock

from nova_ws.compute import power_state
from nova_ws.compute.drivers.fake.driver import FakeDriver, FakeHost
from nova_ws.compute.drivers.interfaces import DriverError, InstanceSpec, SpawnFailed


def _spec(n: int = 1, memory_mb: int = 512) -> InstanceSpec:
    return InstanceSpec(
        uuid=f"00000000-0000-0000-0000-{n:012d}",
        name=f"vm{n}",
        vcpus=1,
        memory_mb=memory_mb,
        root_gb=1,
    )


def test_boot_delay_follows_the_clock() -> None:
    """When a boot delay is set, spawn fires only after that much clock time."""
    reactor = MemoryReactorClock()
    driver = FakeDriver(reactor, boot_delay=3.0)
    d = driver.spawn(_spec())
    assert not d.called
    reactor.advance(2.9)
    assert not d.called
    reactor.advance(0.2)
    assert d.called
    guest = driver.guests[_spec().uuid]
    assert "vm1 login:" in guest.output and "vm1 login:" in guest.console.text()


def test_failure_injection() -> None:
    """When fail_on names a method, that method fails with the given reason and leaves no guest."""
    reactor = MemoryReactorClock()
    driver = FakeDriver(reactor, fail_on={"spawn": "no space left on device"})
    failures: list[BaseException] = []
    driver.spawn(_spec()).addErrback(lambda f: failures.append(f.value))
    assert isinstance(failures[0], SpawnFailed) and "no space" in str(failures[0])
    assert driver.guests == {}
    driver = FakeDriver(reactor, fail_on={"pause": "hypervisor busy"})
    driver.spawn(_spec())
    driver.pause(_spec().uuid).addErrback(lambda f: failures.append(f.value))
    assert isinstance(failures[-1], DriverError) and "busy" in str(failures[-1])
    assert driver.guests[_spec().uuid].state == power_state.RUNNING


def test_resources_count_guests() -> None:
    """When guests run, the host's used resources and running_vms count them."""
    reactor = MemoryReactorClock()
    driver = FakeDriver(reactor, host=FakeHost(vcpus=4, memory_mb=4096, local_gb=10))
    for n in (1, 2):
        driver.spawn(_spec(n, memory_mb=1024))
    driver.power_off(_spec(2).uuid)
    out: list[object] = []
    driver.get_available_resource().addCallback(out.append)
    res: Any = out[0]
    assert (res.vcpus, res.memory_mb, res.local_gb) == (4, 4096, 10)
    assert (res.vcpus_used, res.memory_mb_used, res.local_gb_used) == (2, 2048, 2)
    assert res.running_vms == 1


def test_screen_follows_power_state() -> None:
    """When a guest is paused or stopped, its VNC screen says so."""
    reactor = MemoryReactorClock()
    driver = FakeDriver(reactor)
    driver.spawn(_spec())
    uuid = _spec().uuid
    driver.pause(uuid)
    assert driver.guests[uuid].console.power_state == "paused"
    driver.power_off(uuid)
    assert driver.guests[uuid].console.power_state == "shutdown"
    out: list[object] = []
    driver.get_console_output(uuid).addCallback(out.append)
    assert "System halted." in out[0]


def test_rebuild_boots_a_fresh_guest_from_the_new_image() -> None:
    """When a guest is rebuilt, a new screen and boot log show the new image, not the old
    log; when spawning fails (fail_on), the rebuild fails SpawnFailed and leaves no guest."""
    reactor = MemoryReactorClock()
    driver = FakeDriver(reactor)
    old = InstanceSpec(uuid=_spec().uuid, name="vm1", vcpus=1, memory_mb=512, root_gb=1,
                       image_ref="aaaaaaaa-0000-4000-8000-000000000001")
    driver.spawn(old)
    first = driver.guests[old.uuid]
    first.typed("echo before")
    new = InstanceSpec(uuid=old.uuid, name="vm1b", vcpus=1, memory_mb=512, root_gb=1,
                       image_ref="bbbbbbbb-0000-4000-8000-000000000002")
    done: list[object] = []
    driver.rebuild(new).addCallback(done.append)
    assert done == [None]
    guest = driver.guests[old.uuid]
    assert guest is not first and guest.console is not first.console
    assert guest.output[:2] == ["Rebuilding vm1b (1 vCPU, 512 MB)",
                                "Image bbbbbbbb-0000-4000-8000-000000000002"]
    assert "vm1b login:" in guest.output and "$ echo before" not in guest.output
    assert "bbbbbbbb-0000-4000-8000-000000000002" in guest.console.text()
    assert guest.state == power_state.RUNNING
    driver.fail_on["spawn"] = "no space left on device"
    failures: list[BaseException] = []
    driver.rebuild(new).addErrback(lambda f: failures.append(f.value))
    assert isinstance(failures[0], SpawnFailed) and driver.guests == {}
