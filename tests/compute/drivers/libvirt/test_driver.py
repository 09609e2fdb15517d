"""The libvirt driver against libvirt's in-process ``test:///default`` hypervisor.

What every driver must do is in ``tests/compute/drivers/test_conformance.py``;
these are the libvirt driver's own promises: its calls run in its thread
pool, a failed spawn leaves nothing, consoles come from the live XML, and
the managed-save and connection lifecycles.
"""

from __future__ import annotations

import threading
import uuid as uuidlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import libvirt
import pytest
import pytest_twisted

from nova_ws.compute import power_state
from nova_ws.compute.drivers.interfaces import (
    ConsoleEndpoint,
    ConsoleTypeUnavailable,
    DriverError,
    InstanceSpec,
    SpawnFailed,
)
from nova_ws.compute.drivers.libvirt.driver import LibvirtDriver

TEST_URI = "test:///default"


class Watched:
    """A libvirt connection or domain whose method calls are recorded.

    Each call is noted as ``(method, thread ident)``; methods named in
    *fail_on* raise a libvirtError instead of running. Domains returned by
    calls are watched too.
    """

    def __init__(self, target: Any, calls: list[tuple[str, int]],
                 fail_on: Iterable[str] = ()) -> None:
        self._target = target
        self._calls = calls
        self._fail_on = frozenset(fail_on)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls.append((name, threading.get_ident()))
            if name in self._fail_on:
                libvirt.virResetLastError()  # so the error carries only our message
                raise libvirt.libvirtError(f"{name} refused by the test")
            return self._wrap(attribute(*args, **kwargs))

        return call

    def _wrap(self, result: Any) -> Any:
        if isinstance(result, libvirt.virDomain):
            return Watched(result, self._calls, self._fail_on)
        if isinstance(result, list):
            return [self._wrap(item) for item in result]
        return result


def watching(calls: list[tuple[str, int]], fail_on: Iterable[str] = ()) -> Callable[[str], Any]:
    """An ``open_connection`` that watches the connection it opens."""
    return lambda uri: Watched(libvirt.open(uri), calls, fail_on)


def new_spec(**overrides: Any) -> InstanceSpec:
    """A small guest with a fresh uuid."""
    fields: dict[str, Any] = {"uuid": str(uuidlib.uuid4()), "name": "t", "vcpus": 1,
                              "memory_mb": 64, "root_gb": 1}
    fields.update(overrides)
    return InstanceSpec(**fields)


@pytest.fixture
def test_conn() -> Any:
    """A second connection to the same in-process test hypervisor, for looking behind the driver.

    Within one process, ``test:///default`` connections share their domains.
    """
    conn = libvirt.open(TEST_URI)
    yield conn
    conn.close()


@pytest_twisted.async_yield_fixture
async def make_driver() -> AsyncIterator[Callable[..., Any]]:
    """``await make_driver(**kwargs)``: a connected driver, cleaned up after the test."""
    from twisted.internet import reactor

    drivers: list[LibvirtDriver] = []

    async def make(**kwargs: Any) -> LibvirtDriver:
        driver = LibvirtDriver(reactor, kwargs.pop("uri", TEST_URI), **kwargs)
        drivers.append(driver)
        await driver.init_host("compute-1")
        return driver

    try:
        yield make
    finally:
        for driver in drivers:
            await driver.cleanup_host()


@pytest_twisted.ensureDeferred
async def test_libvirt_calls_run_in_the_pool(make_driver: Any) -> None:
    """When the driver works, no libvirt call runs on the reactor thread."""
    calls: list[tuple[str, int]] = []
    driver = await make_driver(open_connection=watching(calls))
    spec = new_spec()
    pending = driver.spawn(spec)
    assert not pending.called  # the result comes back through the reactor, later
    await pending
    await driver.pause(spec.uuid)
    await driver.get_info(spec.uuid)
    await driver.get_available_resource()
    await driver.destroy(spec.uuid)
    names = {name for name, _ in calls}
    assert {"lookupByUUIDString", "defineXML", "create", "suspend", "info", "getInfo",
            "undefineFlags"} <= names
    assert threading.get_ident() not in {ident for _, ident in calls}
    assert driver.threadpool is not None and driver.threadpool.started


@pytest_twisted.ensureDeferred
async def test_failed_start_leaves_nothing(make_driver: Any, test_conn: Any) -> None:
    """When libvirt cannot start a defined guest, spawn fails SpawnFailed and undefines it."""
    calls: list[tuple[str, int]] = []
    driver = await make_driver(open_connection=watching(calls, fail_on={"create"}))
    spec = new_spec()
    with pytest.raises(SpawnFailed, match="create refused"):
        await driver.spawn(spec)
    assert [name for name, _ in calls][-3:] == ["create", "isActive", "undefineFlags"]
    assert spec.uuid not in await driver.list_instances()
    assert spec.uuid not in [dom.UUIDString() for dom in test_conn.listAllDomains(0)]


@pytest_twisted.ensureDeferred
async def test_failed_define_is_spawn_failed(make_driver: Any) -> None:
    """When libvirt refuses the definition, spawn fails SpawnFailed and nothing exists."""
    driver = await make_driver(open_connection=watching([], fail_on={"defineXML"}))
    spec = new_spec()
    with pytest.raises(SpawnFailed, match="defineXML refused"):
        await driver.spawn(spec)
    assert spec.uuid not in await driver.list_instances()


@pytest_twisted.ensureDeferred
async def test_bad_spec_is_spawn_failed(make_driver: Any) -> None:
    """When the spec cannot become a domain, spawn fails SpawnFailed before libvirt is asked."""
    driver = await make_driver()
    with pytest.raises(SpawnFailed):
        await driver.spawn(new_spec(uuid="not-a-uuid"))
    with pytest.raises(SpawnFailed):
        await driver.spawn(new_spec(vcpus=0))


@pytest_twisted.ensureDeferred
async def test_domain_as_defined(make_driver: Any, test_conn: Any) -> None:
    """When a guest is spawned on test:///, it is a 'test' domain named after its uuid."""
    driver = await make_driver()
    spec = new_spec(name="web <1>")
    await driver.spawn(spec)
    try:
        dom = test_conn.lookupByUUIDString(spec.uuid)
        assert dom.name() == f"instance-{spec.uuid}"
        xml = dom.XMLDesc(0)
        assert "<domain type='test'" in xml and "web &lt;1&gt;" in xml
    finally:
        await driver.destroy(spec.uuid)


@pytest_twisted.ensureDeferred
async def test_rebuild_redefines_the_domain(make_driver: Any, test_conn: Any) -> None:
    """When a guest is rebuilt, its domain names the new image; a spec that cannot become a
    domain fails SpawnFailed and leaves the old guest running untouched."""
    driver = await make_driver()
    spec = new_spec(image_ref="aaaaaaaa-0000-4000-8000-000000000001")
    await driver.spawn(spec)
    try:
        await driver.rebuild(new_spec(uuid=spec.uuid, name="again",
                                      image_ref="bbbbbbbb-0000-4000-8000-000000000002"))
        xml = test_conn.lookupByUUIDString(spec.uuid).XMLDesc(0)
        assert "bbbbbbbb-0000" in xml and "aaaaaaaa-0000" not in xml and "again" in xml
        with pytest.raises(SpawnFailed):
            await driver.rebuild(new_spec(uuid=spec.uuid, vcpus=0))
        assert (await driver.get_info(spec.uuid)).power_state == power_state.RUNNING
        assert "bbbbbbbb-0000" in test_conn.lookupByUUIDString(spec.uuid).XMLDesc(0)
    finally:
        await driver.destroy(spec.uuid)


@pytest_twisted.ensureDeferred
async def test_predefined_test_domain_is_listed(make_driver: Any, test_conn: Any) -> None:
    """When the test hypervisor has its own 'test' domain, list_instances reports it."""
    driver = await make_driver()
    assert test_conn.lookupByName("test").UUIDString() in await driver.list_instances()


@pytest_twisted.ensureDeferred
async def test_suspended_guest_powered_off_is_shutdown(make_driver: Any, test_conn: Any) -> None:
    """When a suspended guest is powered off, its saved memory is dropped and it is SHUTDOWN."""
    driver = await make_driver()
    spec = new_spec()
    await driver.spawn(spec)
    try:
        await driver.suspend(spec.uuid)
        assert test_conn.lookupByUUIDString(spec.uuid).hasManagedSaveImage(0)
        await driver.suspend(spec.uuid)  # already suspended: nothing to do
        await driver.power_off(spec.uuid)
        assert (await driver.get_info(spec.uuid)).power_state == power_state.SHUTDOWN
        assert not test_conn.lookupByUUIDString(spec.uuid).hasManagedSaveImage(0)
    finally:
        await driver.destroy(spec.uuid)


@pytest_twisted.ensureDeferred
async def test_hard_reboot_of_paused_guest_runs(make_driver: Any) -> None:
    """When a paused guest is hard-rebooted, it ends RUNNING."""
    driver = await make_driver()
    spec = new_spec()
    await driver.spawn(spec)
    try:
        await driver.pause(spec.uuid)
        await driver.reboot(spec.uuid, True)
        assert (await driver.get_info(spec.uuid)).power_state == power_state.RUNNING
    finally:
        await driver.destroy(spec.uuid)


def define_with_ports(conn: Any, uuid: str) -> None:
    """Start a domain whose VNC and SPICE ports are fixed, as QEMU would report them."""
    conn.defineXML(
        f"<domain type='test'><name>ports-{uuid}</name><uuid>{uuid}</uuid>"
        "<memory>65536</memory><os><type>hvm</type></os><devices>"
        "<graphics type='vnc' port='5905' autoport='no' listen='127.0.0.1'/>"
        "<graphics type='spice' port='5906' autoport='no' listen='0.0.0.0'/>"
        "</devices></domain>"
    ).create()


@pytest_twisted.ensureDeferred
async def test_console_ports_come_from_live_xml(make_driver: Any, test_conn: Any) -> None:
    """When a domain's graphics have ports, get_console reports them; wildcards become the host."""
    driver = await make_driver()
    uuid = str(uuidlib.uuid4())
    define_with_ports(test_conn, uuid)
    try:
        assert await driver.get_console(uuid, "vnc") == ConsoleEndpoint("vnc", "127.0.0.1", 5905)
        assert await driver.get_console(uuid, "spice") == ConsoleEndpoint(
            "spice", "compute-1", 5906
        )
        with pytest.raises(ConsoleTypeUnavailable):
            await driver.get_console(uuid, "serial")
    finally:
        await driver.destroy(uuid)


@pytest_twisted.ensureDeferred
async def test_test_hypervisor_assigns_no_console_port(make_driver: Any) -> None:
    """When test:/// runs a guest, its VNC has no port, so the driver offers no consoles."""
    driver = await make_driver()
    assert driver.capabilities.consoles == () and not driver.consoles_are_live
    spec = new_spec()
    await driver.spawn(spec)
    try:
        with pytest.raises(ConsoleTypeUnavailable, match="no port"):
            await driver.get_console(spec.uuid, "vnc")
        with pytest.raises(ConsoleTypeUnavailable, match="no spice console"):
            await driver.get_console(spec.uuid, "spice")
    finally:
        await driver.destroy(spec.uuid)


def test_capabilities_follow_the_uri() -> None:
    """When the URI is a real hypervisor, VNC (and SPICE if asked) are offered and live."""
    qemu = LibvirtDriver(object(), "qemu:///system")
    assert qemu.capabilities.consoles == ("vnc",) and qemu.consoles_are_live
    spice = LibvirtDriver(object(), "qemu+ssh://host/system", spice=True)
    assert spice.capabilities.consoles == ("vnc", "spice")


@pytest_twisted.ensureDeferred
async def test_calls_before_init_host_fail() -> None:
    """When init_host has not run, calls fail with DriverError rather than blocking."""
    from twisted.internet import reactor

    driver = LibvirtDriver(reactor, TEST_URI)
    with pytest.raises(DriverError, match="init_host"):
        await driver.list_instances()


@pytest_twisted.ensureDeferred
async def test_unreachable_hypervisor_is_driver_error() -> None:
    """When libvirt cannot connect, init_host fails DriverError and stops its pool."""
    from twisted.internet import reactor

    driver = LibvirtDriver(reactor, "test:///nonexistent/definitely-missing.xml")
    with pytest.raises(DriverError, match="libvirt error"):
        await driver.init_host("compute-1")
    assert driver.threadpool is None


@pytest_twisted.ensureDeferred
async def test_cleanup_host_stops_the_pool(make_driver: Any) -> None:
    """When cleanup_host runs (twice), the pool stops and calls fail cleanly."""
    driver = await make_driver()
    pool = driver.threadpool
    await driver.cleanup_host()
    await driver.cleanup_host()
    assert driver.threadpool is None and pool is not None and not pool.started
    with pytest.raises(DriverError):
        await driver.get_available_resource()
