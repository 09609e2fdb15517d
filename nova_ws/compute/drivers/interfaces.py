"""The hypervisor driver contract.

A driver runs guests on one compute host. Every method returns a Deferred
(drivers that block, like libvirt, run their calls in a thread pool), and
every method states what is true after success and after failure. Errors
are the exceptions at the bottom of this module; anything else is a bug in
the driver.

Drivers are chosen by ``[DEFAULT] compute_driver`` (``fake``, ``libvirt``,
or a dotted path / entry point) through :mod:`nova_ws.compute.drivers.registry`,
which checks them with ``verifyObject``. One conformance suite
(``tests/compute/drivers/test_conformance.py``) runs against every driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred
from zope.interface import Attribute, Interface

CONSOLE_KINDS = ("vnc", "spice", "serial")


@dataclass(frozen=True)
class InstanceSpec:
    """What the compute manager asks a driver to run."""

    uuid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    image_ref: str = ""
    image_properties: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GuestInfo:
    """A guest's state as the hypervisor sees it."""

    power_state: int
    memory_kb: int
    vcpus: int
    cpu_time_ns: int = 0


@dataclass(frozen=True)
class ConsoleEndpoint:
    """Where a guest's console listens, for the console proxy.

    ``password`` is the guest's VNC password if it has one: it goes to the
    console proxy (which authenticates to the guest itself), never to a
    browser.
    """

    kind: str
    host: str
    port: int
    password: str | None = None
    tls: bool = False


@dataclass(frozen=True)
class HostResources:
    """The host's totals and what its guests use, for the resource tracker."""

    hypervisor_hostname: str
    hypervisor_type: str
    hypervisor_version: int
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    running_vms: int
    cpu_arch: str = "x86_64"


@dataclass(frozen=True)
class DriverCapabilities:
    """What a driver can do; the manager refuses what it cannot."""

    supports_pause: bool = True
    supports_suspend: bool = True
    consoles: tuple[str, ...] = ("vnc",)


class IComputeDriver(Interface):
    """A hypervisor driver for one compute host."""

    name = Attribute("The driver's name as written in compute_driver (str).")
    capabilities = Attribute("A DriverCapabilities.")

    def init_host(host: str) -> Deferred[None]:
        """Connect to the hypervisor for *host*.

        Success: the other methods may be called. Failure: DriverError.
        """

    def cleanup_host() -> Deferred[None]:
        """Release the hypervisor connection; guests keep running."""

    def list_instances() -> Deferred[list[str]]:
        """The uuids of every guest the hypervisor has (running or not)."""

    def spawn(instance: InstanceSpec) -> Deferred[None]:
        """Create and start a guest.

        Success: the guest exists, is RUNNING, and its consoles answer.
        Failure: SpawnFailed or InstanceExists, and no trace of the guest
        is left on the host.
        """

    def destroy(uuid: str) -> Deferred[None]:
        """Stop and remove a guest. Idempotent: a missing guest is success."""

    def rebuild(instance: InstanceSpec) -> Deferred[None]:
        """Replace guest ``instance.uuid`` with a fresh one made from *instance*
        (its new ``image_ref``, name and metadata), as Nova's rebuild does:
        the old guest is destroyed and a new one spawned under the same uuid.

        Success: the guest runs from the new image, RUNNING, with fresh
        consoles (their ports may differ). Failure: InstanceNotFound when
        the host has no such guest (nothing changed); SpawnFailed when the
        new guest could not start, and then no guest is left.
        """

    def power_off(uuid: str) -> Deferred[None]:
        """Success: the guest is SHUTDOWN. Failure: InstanceNotFound."""

    def power_on(uuid: str) -> Deferred[None]:
        """Success: the guest is RUNNING. Failure: InstanceNotFound."""

    def reboot(uuid: str, hard: bool) -> Deferred[None]:
        """Restart the guest (soft: ask it; hard: reset). Success: RUNNING."""

    def pause(uuid: str) -> Deferred[None]:
        """Success: PAUSED (kept in memory). Failure: InstanceNotFound."""

    def unpause(uuid: str) -> Deferred[None]:
        """Success: RUNNING. Failure: InstanceNotFound."""

    def suspend(uuid: str) -> Deferred[None]:
        """Success: SUSPENDED (saved). Failure: InstanceNotFound."""

    def resume(uuid: str) -> Deferred[None]:
        """Success: RUNNING. Failure: InstanceNotFound."""

    def get_info(uuid: str) -> Deferred[GuestInfo]:
        """The guest's state. Failure: InstanceNotFound."""

    def get_console(uuid: str, kind: str) -> Deferred[ConsoleEndpoint]:
        """Where the guest's *kind* console listens.

        Failure: InstanceNotFound, or ConsoleTypeUnavailable when the guest
        has no such console.
        """

    def get_console_output(uuid: str) -> Deferred[str]:
        """The guest's serial/boot log so far. Failure: InstanceNotFound."""

    def get_available_resource() -> Deferred[HostResources]:
        """Totals and usage of the host, for the resource tracker."""


class DriverError(Exception):
    """The hypervisor failed in a way the driver could not handle."""


class InstanceNotFound(DriverError):
    """No guest with that uuid on this host."""


class InstanceExists(DriverError):
    """A guest with that uuid already exists on this host."""


class SpawnFailed(DriverError):
    """The guest could not be created; nothing is left behind."""


class ConsoleTypeUnavailable(DriverError):
    """The guest has no console of that kind."""
