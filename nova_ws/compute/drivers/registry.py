"""From ``[DEFAULT] compute_driver`` to a driver object.

A name is, in this order: one of the built-in drivers (``fake``,
``libvirt``), the name of an entry point in group ``nova_ws.compute_drivers``
(how an outside package adds a driver), or a dotted path to a class or
factory, ``package.module:Class`` or ``package.module.Class``. Modules are
imported only when their driver is loaded. Whatever the name gives is
called with the keyword arguments of :func:`load_driver`, and the result is
checked with ``verifyObject(IComputeDriver, ...)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Any

from zope.interface.exceptions import Invalid
from zope.interface.verify import verifyObject

from nova_ws.compute.drivers.interfaces import IComputeDriver

#: Entry point group where other packages register drivers by name.
ENTRY_POINT_GROUP = "nova_ws.compute_drivers"

#: Built-in driver names and where their classes live.
BUILTIN_DRIVERS: Mapping[str, str] = MappingProxyType(
    {
        "fake": "nova_ws.compute.drivers.fake.driver:FakeDriver",
        "libvirt": "nova_ws.compute.drivers.libvirt.driver:LibvirtDriver",
    }
)


class DriverLoadError(Exception):
    """``compute_driver`` names nothing usable; the message names it and why."""


def load_driver(name: str, **kwargs: Any) -> IComputeDriver:
    """A new driver for *name*, built with *kwargs* and checked.

    Raises DriverLoadError when *name* resolves to nothing, cannot be
    imported or built, or gives an object that does not provide
    IComputeDriver (the error carries zope.interface's reason).
    """
    factory = resolve_driver(name)
    try:
        driver = factory(**kwargs)
    except Exception as exc:
        raise DriverLoadError(f"compute driver {name!r} could not be created: {exc!r}") from exc
    try:
        verifyObject(IComputeDriver, driver)
    except Invalid as exc:
        raise DriverLoadError(
            f"compute driver {name!r} does not implement IComputeDriver: {exc}"
        ) from exc
    return driver


def resolve_driver(name: str) -> Callable[..., Any]:
    """The class or factory that *name* stands for. DriverLoadError if none."""
    if name in BUILTIN_DRIVERS:
        return _import(name, BUILTIN_DRIVERS[name])
    for entry_point in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            return _callable(name, entry_point.load())
        except DriverLoadError:
            raise
        except Exception as exc:
            raise DriverLoadError(
                f"compute driver {name!r} (entry point {entry_point.value}) could not be "
                f"imported: {exc!r}"
            ) from exc
    if "." in name or ":" in name:
        return _import(name, name)
    known = ", ".join(sorted({*BUILTIN_DRIVERS, *available_entry_points()}))
    raise DriverLoadError(
        f"unknown compute driver {name!r}: not one of {known}, nor a dotted path "
        "like package.module:Class"
    )


def available_entry_points() -> list[str]:
    """Names of the drivers other packages register in :data:`ENTRY_POINT_GROUP`."""
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def _import(name: str, path: str) -> Callable[..., Any]:
    if ":" in path:
        module_name, _, attribute = path.partition(":")
    else:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise DriverLoadError(f"compute driver {name!r}: {path!r} is not package.module:Class")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise DriverLoadError(
            f"compute driver {name!r}: cannot import {module_name}: {exc!r}"
        ) from exc
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise DriverLoadError(
                f"compute driver {name!r}: {module_name} has no {attribute}"
            ) from None
    return _callable(name, obj)


def _callable(name: str, obj: Any) -> Callable[..., Any]:
    if not callable(obj):
        raise DriverLoadError(f"compute driver {name!r}: {obj!r} is not a class or factory")
    return obj
