"""Guest operations as plain blocking libvirt calls on one connection.

Every function here blocks, so :class:`~.driver.LibvirtDriver` runs each in
its thread pool; nothing here touches Twisted. Each takes the connection
first and raises only the contract's exceptions (libvirt errors go through
:func:`~.errors.translated`).

How the contract maps onto libvirt:

- spawn: ``defineXML`` + ``create``; if ``create`` fails the definition is
  removed again. The uuid is looked up first, under a lock, because
  ``defineXML`` of an existing uuid and name silently *redefines* it.
- destroy: ``destroy`` (if active) + ``undefineFlags`` removing a
  managed-save image and snapshot metadata too; a missing guest is success.
- rebuild: the old domain removed as destroy does, then the new spec
  defined and started as spawn does (same uuid, same name, new XML).
- power_off: ``destroy`` (a hard stop, as Nova with no clean-shutdown
  timeout) and discarding any managed-save image, so the result is SHUTDOWN
  rather than SUSPENDED. power_on: ``create`` / ``resume`` as needed.
- reboot: soft is ``reboot()``, falling back to hard when the guest is not
  running or refuses; hard is ``reset()``, or ``destroy`` + ``create`` where
  ``reset`` is unsupported or the guest is paused or stopped.
- pause/unpause: libvirt's ``suspend``/``resume`` (memory stays resident).
- suspend/resume: ``managedSave`` (memory to disk, guest stopped) and
  ``create``, which restores a managed-save image when there is one.
"""

from __future__ import annotations

import threading
from typing import Any

import libvirt

from nova_ws.compute.drivers.interfaces import (
    ConsoleEndpoint,
    ConsoleTypeUnavailable,
    DriverError,
    GuestInfo,
    InstanceExists,
    InstanceNotFound,
    InstanceSpec,
    SpawnFailed,
)
from nova_ws.compute.drivers.libvirt.domain import (
    GRAPHICS_KINDS,
    DomainOptions,
    build_domain_xml,
    canonical_uuid,
    graphics_listener,
)
from nova_ws.compute.drivers.libvirt.errors import error_code, translate, translated
from nova_ws.compute.drivers.libvirt.states import to_power_state

Connection = Any  # libvirt.virConnect; libvirt-python ships no type stubs
Domain = Any  # libvirt.virDomain

_UNDEFINE_FLAGS = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
)
_WILDCARD_LISTEN = {"0.0.0.0", "::", ""}


def lookup(conn: Connection, uuid: str) -> Domain:
    """The domain of guest *uuid*. InstanceNotFound if there is none."""
    try:
        canonical = canonical_uuid(uuid)
    except ValueError:
        raise InstanceNotFound(f"guest {uuid!r}: not a uuid, so not on this host") from None
    with translated(uuid):
        return conn.lookupByUUIDString(canonical)


def _state(dom: Domain) -> int:
    return int(dom.state()[0])


def _exists(conn: Connection, uuid: str) -> bool:
    try:
        lookup(conn, uuid)
    except InstanceNotFound:
        return False
    return True


def list_instances(conn: Connection) -> list[str]:
    """The uuids of every domain, running or not."""
    with translated():
        return [dom.UUIDString() for dom in conn.listAllDomains(0)]


def spawn(
    conn: Connection, spec: InstanceSpec, options: DomainOptions, lock: threading.Lock
) -> None:
    """Define and start *spec*; on failure nothing is left defined."""
    try:
        xml = build_domain_xml(spec, options)
    except ValueError as exc:
        raise SpawnFailed(f"guest {spec.uuid}: {exc}") from exc
    with lock:
        if _exists(conn, spec.uuid):
            raise InstanceExists(f"guest {spec.uuid} already exists on this host")
        try:
            dom = conn.defineXML(xml)
        except libvirt.libvirtError as exc:
            raise _spawn_error(exc, spec.uuid) from exc
    try:
        dom.create()
    except libvirt.libvirtError as exc:
        error = _spawn_error(exc, spec.uuid)
        try:
            _remove(dom)
        except libvirt.libvirtError as cleanup:
            raise SpawnFailed(f"{error}; removing its definition failed too: {cleanup}") from exc
        raise error from exc


def _spawn_error(exc: libvirt.libvirtError, uuid: str) -> DriverError:
    """InstanceExists if libvirt says so, else SpawnFailed: nothing else escapes spawn."""
    error = translate(exc, uuid, SpawnFailed)
    return error if isinstance(error, InstanceExists | SpawnFailed) else SpawnFailed(str(error))


def _remove(dom: Domain) -> None:
    """Stop and undefine *dom*, tolerating it stopping or vanishing meanwhile."""
    try:
        if dom.isActive():
            try:
                dom.destroy()
            except libvirt.libvirtError as exc:
                if error_code(exc) != libvirt.VIR_ERR_OPERATION_INVALID:
                    raise
        dom.undefineFlags(_UNDEFINE_FLAGS)
    except libvirt.libvirtError as exc:
        if error_code(exc) != libvirt.VIR_ERR_NO_DOMAIN:
            raise


def destroy(conn: Connection, uuid: str) -> None:
    """Stop and undefine guest *uuid*; a missing guest is success."""
    try:
        dom = lookup(conn, uuid)
    except InstanceNotFound:
        return
    with translated(uuid):
        _remove(dom)


def rebuild(
    conn: Connection, spec: InstanceSpec, options: DomainOptions, lock: threading.Lock
) -> None:
    """Redefine guest ``spec.uuid`` from *spec* and start it afresh.

    The new XML is built first, so a spec that cannot make one leaves the old
    guest untouched; then the old domain is stopped and undefined (with any
    managed-save image) and *spec* is spawned in its place. InstanceNotFound
    if the host has no such guest; SpawnFailed (nothing left) if the new one
    cannot start.
    """
    try:
        build_domain_xml(spec, options)
    except ValueError as exc:
        raise SpawnFailed(f"guest {spec.uuid}: {exc}") from exc
    dom = lookup(conn, spec.uuid)
    with translated(spec.uuid):
        _remove(dom)
    spawn(conn, spec, options, lock)


def power_off(conn: Connection, uuid: str) -> None:
    """Hard-stop guest *uuid*; it ends SHUTDOWN (not SUSPENDED)."""
    dom = lookup(conn, uuid)
    with translated(uuid):
        if dom.isActive():
            dom.destroy()
        if dom.hasManagedSaveImage(0):
            dom.managedSaveRemove(0)


def power_on(conn: Connection, uuid: str) -> None:
    """Start (or unpause, or wake) guest *uuid*; it ends RUNNING."""
    dom = lookup(conn, uuid)
    with translated(uuid):
        state = _state(dom)
        if state == libvirt.VIR_DOMAIN_PAUSED:
            dom.resume()
        elif state == libvirt.VIR_DOMAIN_PMSUSPENDED:
            dom.pMWakeup(0)
        elif not dom.isActive():
            dom.create()


def reboot(conn: Connection, uuid: str, hard: bool) -> None:
    """Reboot guest *uuid* (see the module docstring); it ends RUNNING."""
    dom = lookup(conn, uuid)
    with translated(uuid):
        if not hard and _state(dom) == libvirt.VIR_DOMAIN_RUNNING:
            try:
                dom.reboot(0)
                return
            except libvirt.libvirtError:
                pass  # no ACPI or agent answer: a hard reboot, as Nova does
        if _state(dom) == libvirt.VIR_DOMAIN_RUNNING:
            try:
                dom.reset(0)
                return
            except libvirt.libvirtError as exc:
                if error_code(exc) != libvirt.VIR_ERR_NO_SUPPORT:
                    raise
        if dom.isActive():
            dom.destroy()
        dom.create()


def pause(conn: Connection, uuid: str) -> None:
    """Pause guest *uuid* in memory; pausing a paused guest is a no-op."""
    dom = lookup(conn, uuid)
    with translated(uuid):
        if _state(dom) != libvirt.VIR_DOMAIN_PAUSED:
            dom.suspend()


def unpause(conn: Connection, uuid: str) -> None:
    """Let paused guest *uuid* run; a running guest is a no-op."""
    dom = lookup(conn, uuid)
    with translated(uuid):
        if _state(dom) != libvirt.VIR_DOMAIN_RUNNING:
            dom.resume()


def suspend(conn: Connection, uuid: str) -> None:
    """Save guest *uuid*'s memory and stop it (``managedSave``)."""
    dom = lookup(conn, uuid)
    with translated(uuid):
        if dom.isActive() or not dom.hasManagedSaveImage(0):
            dom.managedSave(libvirt.VIR_DOMAIN_SAVE_RUNNING)


def resume(conn: Connection, uuid: str) -> None:
    """Restore suspended guest *uuid* (``create``); it ends RUNNING."""
    dom = lookup(conn, uuid)
    with translated(uuid):
        if not dom.isActive():
            dom.create()
        elif _state(dom) == libvirt.VIR_DOMAIN_PAUSED:
            dom.resume()


def get_info(conn: Connection, uuid: str) -> GuestInfo:
    """Guest *uuid*'s power state, memory, vcpus and cpu time."""
    dom = lookup(conn, uuid)
    with translated(uuid):
        state, _max_kb, memory_kb, vcpus, cpu_time = dom.info()
        saved = state == libvirt.VIR_DOMAIN_SHUTOFF and bool(dom.hasManagedSaveImage(0))
    return GuestInfo(to_power_state(state, saved), int(memory_kb), int(vcpus), int(cpu_time))


def get_console(conn: Connection, uuid: str, kind: str, host: str) -> ConsoleEndpoint:
    """Where guest *uuid*'s *kind* console listens, from its live XML.

    *host* stands in when the console listens on a wildcard address.
    ConsoleTypeUnavailable when the guest has no such console, or the
    hypervisor has assigned it no port (a stopped guest; ``test:///``).
    """
    dom = lookup(conn, uuid)
    if kind not in GRAPHICS_KINDS:
        raise ConsoleTypeUnavailable(f"guest {uuid}: the libvirt driver has no {kind} console")
    with translated(uuid):
        xml = dom.XMLDesc(0)
    listener = graphics_listener(xml, kind)
    if listener is None:
        raise ConsoleTypeUnavailable(f"guest {uuid} has no {kind} console")
    if listener.port is None:
        raise ConsoleTypeUnavailable(f"guest {uuid}: the hypervisor assigned its {kind} "
                                     "console no port (guest not running, or test:///)")
    listen = listener.listen if listener.listen not in _WILDCARD_LISTEN else None
    return ConsoleEndpoint(kind=kind, host=listen or host, port=listener.port)


def get_console_output(conn: Connection, uuid: str) -> str:
    """Guest *uuid*'s console log: empty until the serial log file is wired in."""
    lookup(conn, uuid)
    return ""

