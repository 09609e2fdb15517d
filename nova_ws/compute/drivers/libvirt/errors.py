"""libvirt errors in the driver contract's terms.

libvirt reports a failure twice: it raises ``libvirtError`` and, unless a
handler is registered, prints ``libvirt: ... error : ...`` on stderr.
:func:`silence_libvirt_stderr` registers a handler that drops the print;
the exception still carries everything, and :func:`translate` turns it
into a :class:`~nova_ws.compute.drivers.interfaces.DriverError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import libvirt

from nova_ws.compute.drivers.interfaces import DriverError, InstanceExists, InstanceNotFound


def _drop(context: Any, error: Any) -> None:
    """libvirt's error callback: the exception already reports the error."""


def silence_libvirt_stderr() -> None:
    """Stop libvirt printing its errors on stderr (process-wide, idempotent)."""
    libvirt.registerErrorHandler(_drop, None)


def error_code(exc: libvirt.libvirtError) -> int | None:
    """libvirt's ``VIR_ERR_*`` code of *exc*, or None when it has none."""
    code = exc.get_error_code()
    return int(code) if code is not None else None


def translate(
    exc: libvirt.libvirtError,
    uuid: str | None = None,
    otherwise: type[DriverError] = DriverError,
) -> DriverError:
    """The contract's exception for *exc*, about guest *uuid* if given.

    ``VIR_ERR_NO_DOMAIN`` is InstanceNotFound, ``VIR_ERR_DOM_EXIST`` is
    InstanceExists; every other error is *otherwise* (DriverError, or
    SpawnFailed while spawning) with libvirt's message and code.
    """
    code = error_code(exc)
    subject = f"guest {uuid}" if uuid else "libvirt"
    message = f"{subject}: {exc.get_error_message() or exc} (libvirt error {code})"
    if code == libvirt.VIR_ERR_NO_DOMAIN:
        return InstanceNotFound(message)
    if code == libvirt.VIR_ERR_DOM_EXIST:
        return InstanceExists(message)
    return otherwise(message)


@contextmanager
def translated(
    uuid: str | None = None, otherwise: type[DriverError] = DriverError
) -> Iterator[None]:
    """Re-raise any libvirtError inside the block as :func:`translate` says."""
    try:
        yield
    except libvirt.libvirtError as exc:
        raise translate(exc, uuid, otherwise) from exc
