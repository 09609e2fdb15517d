"""``compute_driver = fake``: simulated guests that serve real VNC consoles.

Guests live in memory; each one has a :class:`GuestConsole` (an RFB 3.8
server on its own loopback port) whose screen shows the guest's name, a boot
log and what is typed into it, so the whole console path works with no
hypervisor. Resources, boot delay and failures are configurable, which makes
this the driver for scale tests and failure tests:
``FakeDriver(reactor, fail_on={"spawn": "no space left"})``. With ``vnc_tls``
(server TLS options, see ``rfb.security.vnc_server_tls``) every screen serves
VeNCrypt x509 only, as QEMU does with ``vnc_tls``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred, DeferredList, fail, succeed
from twisted.internet.task import deferLater
from zope.interface import implementer

from nova_ws.compute import power_state
from nova_ws.compute.drivers.fake.rfb.console import GuestConsole
from nova_ws.compute.drivers.fake.serial import SerialConsoleFactory
from nova_ws.compute.drivers.interfaces import (
    ConsoleEndpoint,
    ConsoleTypeUnavailable,
    DriverCapabilities,
    DriverError,
    GuestInfo,
    HostResources,
    IComputeDriver,
    InstanceExists,
    InstanceNotFound,
    InstanceSpec,
    SpawnFailed,
)

_SCREEN = {power_state.RUNNING: "running", power_state.PAUSED: "paused",
           power_state.SHUTDOWN: "shutdown", power_state.SUSPENDED: "shutdown"}


@dataclass(frozen=True)
class FakeHost:
    """The simulated host's size."""

    vcpus: int = 32
    memory_mb: int = 65536
    local_gb: int = 2000
    arch: str = "x86_64"


@dataclass
class FakeGuest:
    """One simulated guest."""

    spec: InstanceSpec
    console: GuestConsole
    state: int = power_state.RUNNING
    output: list[str] = field(default_factory=list)
    serial: SerialConsoleFactory | None = None

    def say(self, line: str) -> None:
        """Write a line to the guest's boot log, its screen and its serial console."""
        self.output.append(line)
        self.console.log(line)
        if self.serial is not None:
            self.serial.write_line(line)

    def typed(self, line: str) -> None:
        """A line typed on the serial console, echoed into the log."""
        self.say(f"$ {line}")

    def set_state(self, state: int) -> None:
        """Change the power state and what the screen shows."""
        self.state = state
        self.console.set_power_state(_SCREEN[state])  # type: ignore[arg-type]


@implementer(IComputeDriver)
class FakeDriver:
    """In-memory guests with real VNC screens."""

    name = "fake"
    capabilities = DriverCapabilities(consoles=("vnc", "serial"))
    consoles_are_live = True

    def __init__(
        self,
        reactor: Any,
        host: FakeHost | None = None,
        boot_delay: float = 0.0,
        fail_on: Mapping[str, str] | None = None,
        vnc_password: str | None = None,
        listen_host: str = "127.0.0.1",
        vnc_tls: Any = None,
    ) -> None:
        self._reactor = reactor
        self.host_size = host or FakeHost()
        self.boot_delay = boot_delay
        self.fail_on = dict(fail_on or {})
        self.vnc_password = vnc_password
        self.listen_host = listen_host
        self.vnc_tls = vnc_tls
        self.guests: dict[str, FakeGuest] = {}
        self.hostname = "fake"

    # -- helpers ---------------------------------------------------------------

    def _guest(self, uuid: str) -> FakeGuest:
        guest = self.guests.get(uuid)
        if guest is None:
            raise InstanceNotFound(f"no guest {uuid} on this host")
        return guest

    def _fail(self, method: str) -> None:
        reason = self.fail_on.get(method)
        if reason is not None:
            raise (SpawnFailed if method == "spawn" else DriverError)(reason)

    def _act(self, method: str, uuid: str, to_state: int, line: str) -> Deferred[None]:
        try:
            guest = self._guest(uuid)
            self._fail(method)
        except DriverError as exc:
            return fail(exc)
        guest.set_state(to_state)
        guest.say(line)
        return succeed(None)

    # -- IComputeDriver ----------------------------------------------------------

    def init_host(self, host: str) -> Deferred[None]:
        self.hostname = host
        return succeed(None)

    def cleanup_host(self) -> Deferred[None]:
        return succeed(None)

    def list_instances(self) -> Deferred[list[str]]:
        return succeed(list(self.guests))

    def spawn(self, instance: InstanceSpec) -> Deferred[None]:
        if instance.uuid in self.guests:
            return fail(InstanceExists(f"guest {instance.uuid} exists"))
        return self._boot(instance, "Booting")

    def rebuild(self, instance: InstanceSpec) -> Deferred[None]:
        """A new guest (a fresh screen and serial console) replaces the old one; a
        failing ``spawn`` (``fail_on``) leaves none."""
        if instance.uuid not in self.guests:
            return fail(InstanceNotFound(f"no guest {instance.uuid} on this host"))
        d = self.destroy(instance.uuid)
        d.addCallback(lambda _: self._boot(instance, "Rebuilding"))
        return d

    def _boot(self, instance: InstanceSpec, verb: str) -> Deferred[None]:
        try:
            self._fail("spawn")
        except DriverError as exc:
            return fail(exc)
        console = GuestConsole(instance.name, password=self.vnc_password, tls=self.vnc_tls)
        guest = FakeGuest(instance, console)
        guest.serial = SerialConsoleFactory(lambda: list(guest.output), guest.typed)
        self.guests[instance.uuid] = guest
        console.listen(self._reactor, self.listen_host, 0)
        guest.serial.listen(self._reactor, self.listen_host)
        guest.say(f"{verb} {instance.name} ({instance.vcpus} vCPU, {instance.memory_mb} MB)")
        if instance.image_ref:
            guest.say(f"Image {instance.image_ref}")
        guest.say(f"[    0.000000] nova_ws fake kernel on {self.hostname}")

        def booted(_: Any) -> None:
            guest.say(f"{instance.name} login:")

        if self.boot_delay > 0:
            return deferLater(self._reactor, self.boot_delay, booted, None)
        booted(None)
        return succeed(None)

    def destroy(self, uuid: str) -> Deferred[None]:
        guest = self.guests.pop(uuid, None)
        if guest is None:
            return succeed(None)
        stops = [guest.console.stop()]
        if guest.serial is not None:
            stops.append(guest.serial.stop())
        return DeferredList(stops).addCallback(lambda _: None)

    def power_off(self, uuid: str) -> Deferred[None]:
        return self._act("power_off", uuid, power_state.SHUTDOWN, "System halted.")

    def power_on(self, uuid: str) -> Deferred[None]:
        return self._act("power_on", uuid, power_state.RUNNING, "Booting again...")

    def reboot(self, uuid: str, hard: bool) -> Deferred[None]:
        line = "Hard reset." if hard else "Rebooting..."
        return self._act("reboot", uuid, power_state.RUNNING, line)

    def pause(self, uuid: str) -> Deferred[None]:
        return self._act("pause", uuid, power_state.PAUSED, "Paused.")

    def unpause(self, uuid: str) -> Deferred[None]:
        return self._act("unpause", uuid, power_state.RUNNING, "Unpaused.")

    def suspend(self, uuid: str) -> Deferred[None]:
        return self._act("suspend", uuid, power_state.SUSPENDED, "Suspended to disk.")

    def resume(self, uuid: str) -> Deferred[None]:
        return self._act("resume", uuid, power_state.RUNNING, "Resumed.")

    def get_info(self, uuid: str) -> Deferred[GuestInfo]:
        try:
            guest = self._guest(uuid)
        except DriverError as exc:
            return fail(exc)
        spec = guest.spec
        return succeed(GuestInfo(guest.state, spec.memory_mb * 1024, spec.vcpus))

    def get_console(self, uuid: str, kind: str) -> Deferred[ConsoleEndpoint]:
        try:
            guest = self._guest(uuid)
            port = (guest.console.port if kind == "vnc" else
                    guest.serial.port.getHost().port if kind == "serial" and guest.serial
                    and guest.serial.port else None)
            if port is None:
                raise ConsoleTypeUnavailable(f"guest {uuid} has no {kind} console")
        except DriverError as exc:
            return fail(exc)
        password = self.vnc_password if kind == "vnc" else None
        return succeed(ConsoleEndpoint(kind, self.listen_host, port, password=password))

    def get_console_output(self, uuid: str) -> Deferred[str]:
        try:
            guest = self._guest(uuid)
        except DriverError as exc:
            return fail(exc)
        return succeed("\n".join(guest.output) + "\n")

    def get_available_resource(self) -> Deferred[HostResources]:
        size = self.host_size
        specs = [g.spec for g in self.guests.values()]
        return succeed(HostResources(
            hypervisor_hostname=self.hostname, hypervisor_type="fake", hypervisor_version=1000,
            vcpus=size.vcpus, memory_mb=size.memory_mb, local_gb=size.local_gb,
            vcpus_used=sum(s.vcpus for s in specs),
            memory_mb_used=sum(s.memory_mb for s in specs),
            local_gb_used=sum(s.root_gb for s in specs),
            running_vms=sum(1 for g in self.guests.values() if g.state == power_state.RUNNING),
            cpu_arch=size.arch))
