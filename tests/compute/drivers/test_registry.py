"""Loading a compute driver by name: built-ins, dotted paths, entry points, and refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.internet.testing import MemoryReactorClock
from zope.interface import implementer

from nova_ws.compute import power_state
from nova_ws.compute.drivers.interfaces import (
    ConsoleEndpoint,
    DriverCapabilities,
    GuestInfo,
    HostResources,
    IComputeDriver,
    InstanceSpec,
)
from nova_ws.compute.drivers.libvirt.driver import LibvirtDriver
from nova_ws.compute.drivers.registry import (
    BUILTIN_DRIVERS,
    ENTRY_POINT_GROUP,
    DriverLoadError,
    available_entry_points,
    load_driver,
)

HERE = "tests.compute.drivers.test_registry"


@implementer(IComputeDriver)
class TinyDriver:
    """The smallest driver that provides IComputeDriver: it has no guests."""

    name = "tiny"
    capabilities = DriverCapabilities(supports_pause=False, supports_suspend=False, consoles=())

    def __init__(self, label: str = "") -> None:
        self.label = label

    def init_host(self, host: str) -> Deferred[None]:
        return succeed(None)

    def cleanup_host(self) -> Deferred[None]:
        return succeed(None)

    def list_instances(self) -> Deferred[list[str]]:
        return succeed([])

    def spawn(self, instance: InstanceSpec) -> Deferred[None]:
        return succeed(None)

    def destroy(self, uuid: str) -> Deferred[None]:
        return succeed(None)

    def rebuild(self, instance: InstanceSpec) -> Deferred[None]:
        return succeed(None)

    def power_off(self, uuid: str) -> Deferred[None]:
        return succeed(None)

    def power_on(self, uuid: str) -> Deferred[None]:
        return succeed(None)

    def reboot(self, uuid: str, hard: bool) -> Deferred[None]:
        return succeed(None)

    def pause(self, uuid: str) -> Deferred[None]:
        return succeed(None)

    def unpause(self, uuid: str) -> Deferred[None]:
        return succeed(None)

    def suspend(self, uuid: str) -> Deferred[None]:
        return succeed(None)

    def resume(self, uuid: str) -> Deferred[None]:
        return succeed(None)

    def get_info(self, uuid: str) -> Deferred[GuestInfo]:
        return succeed(GuestInfo(power_state.NOSTATE, 0, 0))

    def get_console(self, uuid: str, kind: str) -> Deferred[ConsoleEndpoint]:
        return succeed(ConsoleEndpoint(kind, "127.0.0.1", 5900))

    def get_console_output(self, uuid: str) -> Deferred[str]:
        return succeed("")

    def get_available_resource(self) -> Deferred[HostResources]:
        return succeed(HostResources("tiny", "tiny", 1, 1, 1, 1, 0, 0, 0, 0))


class Undeclared:
    """A class that never says it implements IComputeDriver."""

    name = "undeclared"
    capabilities = DriverCapabilities()


@implementer(IComputeDriver)
class Incomplete:  # type: ignore[misc]  # deliberately incomplete
    """Claims IComputeDriver but has none of its methods."""

    name = "incomplete"
    capabilities = DriverCapabilities()


@implementer(IComputeDriver)
class WrongSignature(TinyDriver):
    """Claims IComputeDriver but spawn takes the wrong arguments."""

    def spawn(self) -> Deferred[None]:  # type: ignore[override]
        return succeed(None)


def make_tiny(**kwargs: Any) -> TinyDriver:
    """A factory function, not a class, is a driver too."""
    return TinyDriver(**kwargs)


def test_libvirt_by_name() -> None:
    """When compute_driver is 'libvirt', a LibvirtDriver is built with the given arguments."""
    driver = load_driver("libvirt", reactor=MemoryReactorClock(), uri="test:///default")
    assert isinstance(driver, LibvirtDriver)
    assert driver.uri == "test:///default" and driver.name == "libvirt"


@pytest.mark.parametrize("path", [f"{HERE}:TinyDriver", f"{HERE}.TinyDriver", f"{HERE}:make_tiny"])
def test_dotted_paths(path: str) -> None:
    """When compute_driver is a dotted path to a class or factory, it is built with the kwargs."""
    driver = load_driver(path, label="x")
    assert isinstance(driver, TinyDriver) and driver.label == "x"


def test_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When a package registers an entry point in the group, its name loads the driver."""
    dist = tmp_path / "tiny_driver-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-driver\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\ntiny = {HERE}:TinyDriver\nbroken = {HERE}:NoSuchThing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert {"tiny", "broken"} <= set(available_entry_points())
    assert isinstance(load_driver("tiny"), TinyDriver)
    with pytest.raises(DriverLoadError, match="'broken'.*entry point"):
        load_driver("broken")


@pytest.mark.parametrize("name", ["xen", "", "hyperv"])
def test_unknown_names(name: str) -> None:
    """When a plain name is not built in nor an entry point, the error names it and the choices."""
    with pytest.raises(DriverLoadError, match=f"unknown compute driver '{name}'.*fake, libvirt"):
        load_driver(name)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("nova_ws.no_such_module:Driver", "cannot import nova_ws.no_such_module"),
        (f"{HERE}:NoSuchClass", "has no NoSuchClass"),
        (f"{HERE}:HERE", "is not a class or factory"),
        (":Driver", "is not package.module:Class"),
    ],
)
def test_bad_dotted_paths(path: str, reason: str) -> None:
    """When a dotted path names no importable callable, the error names the path and why."""
    with pytest.raises(DriverLoadError) as info:
        load_driver(path)
    assert repr(path) in str(info.value) and reason in str(info.value)


@pytest.mark.parametrize(
    ("cls", "reason"),
    [("Undeclared", "declaratively"), ("Incomplete", "init_host"),
     ("WrongSignature", "spawn")],
)
def test_non_conforming_classes(cls: str, reason: str) -> None:
    """When the object built does not provide IComputeDriver, loading fails and says why."""
    with pytest.raises(DriverLoadError, match="does not implement IComputeDriver") as info:
        load_driver(f"{HERE}:{cls}")
    assert reason in str(info.value)


def test_bad_arguments_name_the_driver() -> None:
    """When the driver's constructor rejects the arguments, the error names the driver."""
    with pytest.raises(DriverLoadError, match="'libvirt' could not be created"):
        load_driver("libvirt", no_such_option=True)


def test_builtins_point_at_real_modules() -> None:
    """When the built-in table names a driver, its module path is under nova_ws."""
    assert set(BUILTIN_DRIVERS) == {"fake", "libvirt"}
    assert all(path.startswith("nova_ws.compute.drivers.") for path in BUILTIN_DRIVERS.values())
