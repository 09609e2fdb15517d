"""``compute_driver = libvirt``: guests under libvirt, through libvirt-python.

libvirt-python blocks, so every call into it runs in a thread pool that
the driver owns: started by :meth:`LibvirtDriver.init_host`, stopped by
:meth:`LibvirtDriver.cleanup_host` (or when the reactor shuts down). The
reactor thread only schedules work and receives results. The blocking
operations themselves live in :mod:`.guests` and :mod:`.host`.

``qemu:///system`` runs real guests. ``test:///default`` is libvirt's own
in-process test hypervisor: it keeps domains and their states (define,
start, stop, pause, reboot, reset and managed save all work) but runs
nothing, so its graphics never get a port. On it the driver advertises no
consoles (``capabilities.consoles`` is empty and ``consoles_are_live`` is
false) and :meth:`get_console` raises ConsoleTypeUnavailable. It also has a
predefined running domain named ``test``: a guest the host has, which
:meth:`list_instances` reports like any other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import libvirt
from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorCore
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool
from zope.interface import implementer

from nova_ws.compute.drivers.interfaces import (
    ConsoleEndpoint,
    DriverCapabilities,
    DriverError,
    GuestInfo,
    HostResources,
    IComputeDriver,
    InstanceSpec,
)
from nova_ws.compute.drivers.libvirt import guests, host
from nova_ws.compute.drivers.libvirt.domain import DomainOptions
from nova_ws.compute.drivers.libvirt.errors import silence_libvirt_stderr, translated

DEFAULT_URI = "qemu:///system"
DEFAULT_INSTANCES_PATH = "/var/lib/nova_ws/instances"

_T = TypeVar("_T")


def is_test_uri(uri: str) -> bool:
    """Whether *uri* names libvirt's test hypervisor (``test:///...``)."""
    return urlsplit(uri).scheme.split("+")[0] == "test"


@implementer(IComputeDriver)
class LibvirtDriver:
    """Guests under libvirt at *uri*; every libvirt call in a thread pool.

    *reactor* provides IReactorFromThreads (results come back through it)
    and, if it provides IReactorCore, stops the pool when it shuts down.
    *listen* is where guests' VNC and SPICE listen (``[vnc] server_listen``);
    *spice* adds a SPICE console next to VNC. *instances_path* is where
    guest disks will live (its filesystem is the host's ``local_gb``).
    *open_connection* opens the libvirt connection (``libvirt.open``); it
    is a parameter so a test can watch the connection.
    """

    name = "libvirt"
    capabilities = DriverCapabilities(consoles=("vnc",))
    consoles_are_live = True

    def __init__(
        self,
        reactor: Any,
        uri: str = DEFAULT_URI,
        *,
        listen: str = "127.0.0.1",
        spice: bool = False,
        instances_path: str = DEFAULT_INSTANCES_PATH,
        max_threads: int = 4,
        open_connection: Callable[[str], Any] = libvirt.open,
    ) -> None:
        self._reactor: Any = reactor
        self.uri = uri
        self.listen = listen
        self.spice = spice
        self.instances_path = instances_path
        self.max_threads = max_threads
        self._open_connection = open_connection
        if is_test_uri(uri):
            self.capabilities = DriverCapabilities(consoles=())
            self.consoles_are_live = False
        elif spice:
            self.capabilities = DriverCapabilities(consoles=("vnc", "spice"))
        self.hostname = ""
        self.threadpool: ThreadPool | None = None
        self._conn: Any = None
        self._options = DomainOptions(listen=listen, spice=spice)
        self._spawn_lock = threading.Lock()
        self._shutdown_trigger: Any = None

    # -- the thread pool ------------------------------------------------------

    def _defer(self, fn: Callable[..., _T], *args: Any) -> Deferred[_T]:
        if self.threadpool is None:
            return fail(DriverError("the libvirt driver is not connected: call init_host"))
        return deferToThreadPool(self._reactor, self.threadpool, fn, *args)

    def _call(self, fn: Callable[..., _T], *args: Any) -> Deferred[_T]:
        """Run ``fn(connection, *args)`` in the pool."""
        if self._conn is None:
            return fail(DriverError("the libvirt driver is not connected: call init_host"))
        return self._defer(fn, self._conn, *args)

    def _stop_pool(self) -> None:
        pool, self.threadpool = self.threadpool, None
        if pool is not None:
            pool.stop()

    # -- IComputeDriver ----------------------------------------------------------

    def init_host(self, host: str) -> Deferred[None]:
        """Start the pool and connect to *uri*. DriverError if libvirt refuses."""
        return Deferred.fromCoroutine(self._init_host(host))

    async def _init_host(self, hostname: str) -> None:
        if self.threadpool is not None:
            return
        silence_libvirt_stderr()
        self.hostname = hostname
        self.threadpool = ThreadPool(1, self.max_threads, name=f"libvirt:{self.uri}")
        self.threadpool.start()
        if IReactorCore.providedBy(self._reactor):
            self._shutdown_trigger = self._reactor.addSystemEventTrigger(
                "during", "shutdown", self._stop_pool
            )
        try:
            self._conn = await self._defer(self._connect)
            domain_type = await self._call(host.domain_type)
        except BaseException:
            await self.cleanup_host()
            raise
        self._options = DomainOptions(domain_type, self.listen, self.spice)

    def _connect(self) -> Any:
        with translated():
            return self._open_connection(self.uri)

    def cleanup_host(self) -> Deferred[None]:
        """Close the connection and stop the pool; guests keep running."""
        return Deferred.fromCoroutine(self._cleanup_host())

    async def _cleanup_host(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self.threadpool is not None:
            try:
                await self._defer(conn.close)
            except libvirt.libvirtError:
                pass  # closing a broken connection: it is gone either way
        if self._shutdown_trigger is not None:
            self._reactor.removeSystemEventTrigger(self._shutdown_trigger)
            self._shutdown_trigger = None
        self._stop_pool()

    def list_instances(self) -> Deferred[list[str]]:
        return self._call(guests.list_instances)

    def spawn(self, instance: InstanceSpec) -> Deferred[None]:
        return self._call(guests.spawn, instance, self._options, self._spawn_lock)

    def destroy(self, uuid: str) -> Deferred[None]:
        return self._call(guests.destroy, uuid)

    def rebuild(self, instance: InstanceSpec) -> Deferred[None]:
        return self._call(guests.rebuild, instance, self._options, self._spawn_lock)

    def power_off(self, uuid: str) -> Deferred[None]:
        return self._call(guests.power_off, uuid)

    def power_on(self, uuid: str) -> Deferred[None]:
        return self._call(guests.power_on, uuid)

    def reboot(self, uuid: str, hard: bool) -> Deferred[None]:
        return self._call(guests.reboot, uuid, hard)

    def pause(self, uuid: str) -> Deferred[None]:
        return self._call(guests.pause, uuid)

    def unpause(self, uuid: str) -> Deferred[None]:
        return self._call(guests.unpause, uuid)

    def suspend(self, uuid: str) -> Deferred[None]:
        return self._call(guests.suspend, uuid)

    def resume(self, uuid: str) -> Deferred[None]:
        return self._call(guests.resume, uuid)

    def get_info(self, uuid: str) -> Deferred[GuestInfo]:
        return self._call(guests.get_info, uuid)

    def get_console(self, uuid: str, kind: str) -> Deferred[ConsoleEndpoint]:
        return self._call(guests.get_console, uuid, kind, self.hostname or self.listen)

    def get_console_output(self, uuid: str) -> Deferred[str]:
        return self._call(guests.get_console_output, uuid)

    def get_available_resource(self) -> Deferred[HostResources]:
        return self._call(host.host_resources, self.instances_path)
