"""The libvirt driver with real QEMU guests, under a private libvirtd.

One libvirtd per module (:class:`nova_ws.testing.libvirtd.LibvirtDaemon`:
a session daemon in a temporary directory, nothing of the host's touched)
runs small diskless guests: 64 MB, one vCPU, SeaBIOS finding nothing to
boot, with KVM where the host has it, else TCG. The driver is driven as
nova-compute drives it, from the Twisted reactor.

Every conformance test (``tests/compute/drivers/test_conformance.py``) runs
here too, against this module's ``driver``; the tests below are what only
real guests show: the consoles answer their protocols (RFB 3.8, the SPICE
link), each power action starts or stops a QEMU process, destroy leaves
none, ``compute_driver = libvirt`` in nova.conf reaches the daemon, and
the daemon stops leaving nothing behind.
"""

from __future__ import annotations

import shutil
import signal
import struct
import subprocess
import sys
import time
import uuid as uuidlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest
import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol

from nova_ws.compute import power_state
from nova_ws.compute.drivers.interfaces import (
    ConsoleTypeUnavailable,
    IComputeDriver,
    InstanceNotFound,
    InstanceSpec,
)
from nova_ws.compute.drivers.libvirt.domain import domain_name
from nova_ws.compute.drivers.libvirt.driver import LibvirtDriver
from nova_ws.compute.service import make_driver
from nova_ws.config import parse_config
from nova_ws.testing.libvirtd import LibvirtDaemon, LibvirtdError
from tests.compute.drivers import test_conformance as conformance

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: How long to wait for something already on its way (a guard, not an assert).
TIMEOUT = 15

# The conformance suite, collected in this module too: its tests take this
# module's ``driver`` fixture (pytest resolves fixtures where a test is collected).
globals().update({name: test for name, test in vars(conformance).items()
                  if name.startswith("test_")})

#: A SPICE client's first message for the main channel: SpiceLinkHeader
#: (magic, protocol 2.2, size of what follows) + SpiceLinkMess (connection 0,
#: channel type 1 = main, id 0, no capabilities, capabilities at offset 18).
SPICE_LINK_MAIN = b"REDQ" + struct.pack("<III", 2, 2, 18) + struct.pack("<IBBIII", 0, 1, 0,
                                                                         0, 0, 18)


@pytest.fixture(scope="module")
def libvirtd() -> Iterator[LibvirtDaemon]:
    """This module's private libvirtd; stopping it fails the module if anything survives."""
    with LibvirtDaemon() as daemon:
        yield daemon


@pytest.fixture(scope="module")
def libvirt_conn(libvirtd: LibvirtDaemon) -> Iterator[Any]:
    """The test's own libvirt connection to the daemon, to look behind the driver."""
    conn = libvirt.open(libvirtd.uri)
    yield conn
    conn.close()


@pytest_twisted.async_yield_fixture
async def driver(libvirtd: LibvirtDaemon) -> AsyncIterator[LibvirtDriver]:
    """A connected driver with VNC and SPICE; its guests are destroyed after the test."""
    from twisted.internet import reactor

    drv = LibvirtDriver(reactor, libvirtd.uri, spice=True)
    await drv.init_host("qemu-host")
    try:
        yield drv
    finally:
        for uuid in await drv.list_instances():
            await drv.destroy(uuid)
        await drv.cleanup_host()
    assert [argv for argv in libvirtd.processes().values() if "qemu" in argv[0]] == []


def new_spec(**overrides: Any) -> InstanceSpec:
    """A small diskless guest with a fresh uuid."""
    fields: dict[str, Any] = {"uuid": str(uuidlib.uuid4()), "name": "qemu-guest", "vcpus": 1,
                              "memory_mb": 64, "root_gb": 1}
    fields.update(overrides)
    return InstanceSpec(**fields)


async def spawned(driver: IComputeDriver) -> str:
    """Spawn a new guest and return its uuid."""
    spec = new_spec()
    await driver.spawn(spec)
    return spec.uuid


async def state_of(driver: IComputeDriver, uuid: str) -> int:
    return (await driver.get_info(uuid)).power_state


class _Exchange(Protocol):
    """Sends *greeting* on connect and collects the first *count* bytes that come back."""

    def __init__(self, greeting: bytes, count: int) -> None:
        self.greeting = greeting
        self.count = count
        self.buffer = b""
        self.done: Deferred[bytes] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        if self.greeting:
            self.transport.write(self.greeting)

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= self.count and not self.done.called:
            self.done.callback(self.buffer[:self.count])
            assert self.transport is not None
            self.transport.loseConnection()

    def connectionLost(self, reason: object = None) -> None:
        if not self.done.called:
            self.done.errback(ConnectionError(f"closed after {self.buffer!r}"))


async def exchange(host: str, port: int, greeting: bytes, count: int) -> bytes:
    """Connect to *host*:*port*, send *greeting*, return the first *count* bytes of the answer."""
    from twisted.internet import reactor

    protocol = _Exchange(greeting, count)
    await connectProtocol(TCP4ClientEndpoint(reactor, host, port, timeout=TIMEOUT), protocol)
    return await protocol.done.addTimeout(TIMEOUT, reactor)


async def vnc_banner(driver: IComputeDriver, uuid: str) -> bytes:
    """The guest's VNC server's ProtocolVersion (RFB servers speak first)."""
    endpoint = await driver.get_console(uuid, "vnc")
    assert endpoint.kind == "vnc"
    return await exchange(endpoint.host, endpoint.port, b"", 12)


async def spice_link_reply(driver: IComputeDriver, uuid: str) -> tuple[bytes, int, int, int]:
    """The guest's SPICE server's answer to a main-channel link: magic, major, minor, error."""
    endpoint = await driver.get_console(uuid, "spice")
    assert endpoint.kind == "spice"
    reply = await exchange(endpoint.host, endpoint.port, SPICE_LINK_MAIN, 20)
    major, minor, _size, error = struct.unpack("<IIII", reply[4:20])
    return reply[:4], major, minor, error


@pytest_twisted.ensureDeferred
async def test_guest_runs_in_qemu_with_live_consoles(
    driver: LibvirtDriver, libvirtd: LibvirtDaemon, libvirt_conn: Any
) -> None:
    """When a guest is spawned, a QEMU process runs it and its VNC and SPICE servers answer.

    The domain is a QEMU one (kvm where the host has it, else qemu), of the
    spec's size; VNC greets with RFB 3.8 and SPICE accepts a main-channel link.
    """
    uuid = await spawned(driver)
    info = await driver.get_info(uuid)
    assert (info.power_state, info.memory_kb, info.vcpus) == (power_state.RUNNING, 65536, 1)
    assert uuid in await driver.list_instances()
    xml = libvirt_conn.lookupByUUIDString(uuid).XMLDesc(0)
    assert ET.fromstring(xml).get("type") in ("kvm", "qemu")
    assert len(libvirtd.guest_pids(domain_name(uuid))) == 1
    assert driver.capabilities.consoles == ("vnc", "spice")
    assert await vnc_banner(driver, uuid) == b"RFB 003.008\n"
    assert await spice_link_reply(driver, uuid) == (b"REDQ", 2, 2, 0)
    with pytest.raises(ConsoleTypeUnavailable):
        await driver.get_console(uuid, "serial")


@pytest_twisted.ensureDeferred
async def test_power_actions_stop_and_start_qemu(
    driver: LibvirtDriver, libvirtd: LibvirtDaemon
) -> None:
    """When a guest is paused its QEMU stays; powered off it is gone; on, a new one serves VNC.

    Soft and hard reboots keep it RUNNING in the same QEMU process.
    """
    uuid = await spawned(driver)
    name = domain_name(uuid)
    [first] = libvirtd.guest_pids(name)
    await driver.pause(uuid)
    assert await state_of(driver, uuid) == power_state.PAUSED
    assert libvirtd.guest_pids(name) == [first]
    await driver.unpause(uuid)
    assert await state_of(driver, uuid) == power_state.RUNNING
    await driver.power_off(uuid)
    assert await state_of(driver, uuid) == power_state.SHUTDOWN
    assert libvirtd.guest_pids(name) == []
    with pytest.raises(ConsoleTypeUnavailable):
        await driver.get_console(uuid, "vnc")
    await driver.power_on(uuid)
    assert await state_of(driver, uuid) == power_state.RUNNING
    [second] = libvirtd.guest_pids(name)
    assert second != first
    assert await vnc_banner(driver, uuid) == b"RFB 003.008\n"
    for hard in (False, True):
        await driver.reboot(uuid, hard)
        assert await state_of(driver, uuid) == power_state.RUNNING
        assert libvirtd.guest_pids(name) == [second]
    assert await spice_link_reply(driver, uuid) == (b"REDQ", 2, 2, 0)


@pytest_twisted.ensureDeferred
async def test_destroy_leaves_no_qemu_process(
    driver: LibvirtDriver, libvirtd: LibvirtDaemon, libvirt_conn: Any
) -> None:
    """When a running guest is destroyed, its QEMU process is gone and libvirt forgets it."""
    uuid = await spawned(driver)
    [pid] = libvirtd.guest_pids(domain_name(uuid))
    await driver.destroy(uuid)
    assert libvirtd.guest_pids(domain_name(uuid)) == []
    assert pid not in libvirtd.processes()
    assert uuid not in await driver.list_instances()
    assert uuid not in [dom.UUIDString() for dom in libvirt_conn.listAllDomains(0)]
    with pytest.raises(InstanceNotFound):
        await driver.get_info(uuid)


@pytest_twisted.ensureDeferred
async def test_rebuild_redefines_the_domain_in_a_new_qemu(
    driver: LibvirtDriver, libvirtd: LibvirtDaemon, libvirt_conn: Any
) -> None:
    """When a guest is rebuilt, its domain (same uuid and name) is defined again from the
    new spec, naming the new image, and a new QEMU process runs it with live consoles."""
    spec = new_spec(image_ref="aaaaaaaa-0000-4000-8000-000000000001")
    await driver.spawn(spec)
    name = domain_name(spec.uuid)
    [first] = libvirtd.guest_pids(name)
    new_image = "bbbbbbbb-0000-4000-8000-000000000002"
    await driver.rebuild(new_spec(uuid=spec.uuid, name="rebuilt", image_ref=new_image))
    [second] = libvirtd.guest_pids(name)
    assert second != first and first not in libvirtd.processes()
    xml = libvirt_conn.lookupByUUIDString(spec.uuid).XMLDesc(0)
    assert new_image in xml and "aaaaaaaa-0000" not in xml and "rebuilt" in xml
    assert await state_of(driver, spec.uuid) == power_state.RUNNING
    assert await vnc_banner(driver, spec.uuid) == b"RFB 003.008\n"
    assert await spice_link_reply(driver, spec.uuid) == (b"REDQ", 2, 2, 0)


@pytest_twisted.ensureDeferred
async def test_compute_driver_libvirt_in_nova_conf(libvirtd: LibvirtDaemon) -> None:
    """When nova.conf names the libvirt driver and this daemon, nova-compute's driver runs guests.

    ``[spice] enabled`` gives them a SPICE console that answers.
    """
    from twisted.internet import reactor

    config = parse_config(f"[DEFAULT]\ncompute_driver = libvirt\n"
                          f"[libvirt]\nconnection_uri = {libvirtd.uri}\n[spice]\nenabled = true\n")
    drv = make_driver(config, reactor)
    await drv.init_host("conf-host")
    try:
        uuid = await spawned(drv)
        assert await spice_link_reply(drv, uuid) == (b"REDQ", 2, 2, 0)
        await drv.destroy(uuid)
        assert libvirtd.guest_pids(domain_name(uuid)) == []
    finally:
        await drv.cleanup_host()


def test_stop_destroys_guests_and_leaves_no_process() -> None:
    """When a daemon with a running guest stops, the guest, libvirtd and virtlogd are gone.

    So is its directory.
    """
    daemon = LibvirtDaemon()
    daemon.start()
    try:
        directory = daemon.dir
        assert directory is not None and directory.is_dir()
        conn = libvirt.open(daemon.uri)
        try:
            conn.createXML("<domain type='qemu'><name>left-running</name>"
                           "<memory unit='MiB'>32</memory><os><type>hvm</type></os>"
                           "<devices><graphics type='vnc' autoport='yes' listen='127.0.0.1'/>"
                           "</devices></domain>", 0)
        finally:
            conn.close()
        started = daemon.processes()
        assert daemon.guest_pids("left-running")
        assert any(argv[0].endswith("libvirtd") for argv in started.values())
    finally:
        daemon.stop()
    assert not directory.exists()
    assert daemon.processes() == {}
    for pid in started:
        with pytest.raises(FileNotFoundError):
            open(f"/proc/{pid}/cmdline", "rb").close()


#: A test run that is killed with a guest running (a child Python process).
KILLED_RUN = """
import os, signal, libvirt
from nova_ws.testing.libvirtd import LibvirtDaemon
daemon = LibvirtDaemon()
daemon.start()
libvirt.open(daemon.uri).createXML(
    "<domain type='qemu'><name>orphaned</name><memory unit='MiB'>32</memory>"
    "<os><type>hvm</type></os></domain>", 0)
print(daemon.dir, *daemon.processes(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_test_run_leaves_no_process() -> None:
    """When the process that started a daemon is killed, libvirtd and its guests stop too."""
    run = subprocess.run([sys.executable, "-c", KILLED_RUN], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[4])
    assert run.returncode == -signal.SIGKILL, run.stderr
    directory, *pids = run.stdout.split()
    assert len(pids) >= 3  # libvirtd, virtlogd, QEMU
    deadline = time.monotonic() + TIMEOUT
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        assert time.monotonic() < deadline, f"still running: {pids}"
        time.sleep(0.05)
    shutil.rmtree(directory)  # what only its stop() would have removed


def test_missing_libvirtd_is_a_clear_error() -> None:
    """When libvirtd is not installed, starting fails naming the packages to install."""
    with pytest.raises(LibvirtdError, match="libvirt-daemon libvirt-daemon-driver-qemu"):
        LibvirtDaemon(libvirtd="libvirtd-not-installed").start()
