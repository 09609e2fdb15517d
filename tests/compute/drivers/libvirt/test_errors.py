"""libvirt's errors, states and host facts in the driver contract's terms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from nova_ws.compute import power_state
from nova_ws.compute.drivers.interfaces import (
    DriverError,
    InstanceExists,
    InstanceNotFound,
    SpawnFailed,
)
from nova_ws.compute.drivers.libvirt.errors import (
    error_code,
    silence_libvirt_stderr,
    translate,
    translated,
)
from nova_ws.compute.drivers.libvirt.host import choose_domain_type
from nova_ws.compute.drivers.libvirt.states import to_power_state

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def conn() -> Iterator[Any]:
    """A connection to libvirt's in-process test hypervisor."""
    silence_libvirt_stderr()
    connection = libvirt.open("test:///default")
    try:
        yield connection
    finally:
        connection.close()


def error_from(call: Any) -> libvirt.libvirtError:
    """The libvirtError that *call* raises."""
    with pytest.raises(libvirt.libvirtError) as info:
        call()
    return info.value


def coded_error(code: int) -> libvirt.libvirtError:
    """A libvirtError with *code*, as libvirt would raise it."""
    exc = libvirt.libvirtError("the hypervisor said no")
    exc.err = (code, libvirt.VIR_FROM_DOM, "the hypervisor said no", 2, None, None, None, 0, 0)
    return exc


def test_missing_domain_is_instance_not_found(conn: Any) -> None:
    """When libvirt finds no domain, the error is InstanceNotFound naming the guest."""
    exc = error_from(lambda: conn.lookupByUUIDString(MISSING))
    assert error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN
    error = translate(exc, MISSING)
    assert isinstance(error, InstanceNotFound)
    assert MISSING in str(error) and "Domain not found" in str(error)


def test_existing_domain_is_instance_exists() -> None:
    """When libvirt says the domain exists, the error is InstanceExists, even while spawning."""
    assert isinstance(translate(coded_error(libvirt.VIR_ERR_DOM_EXIST), MISSING, SpawnFailed),
                      InstanceExists)


def test_other_errors_take_the_fallback(conn: Any) -> None:
    """When libvirt fails otherwise, the error is the fallback class with libvirt's code."""
    exc = error_from(lambda: conn.lookupByName("test").create())
    assert type(translate(exc)) is DriverError
    spawn_error = translate(exc, MISSING, SpawnFailed)
    assert isinstance(spawn_error, SpawnFailed)
    assert f"libvirt error {error_code(exc)}" in str(spawn_error)
    codeless = libvirt.libvirtError("no code")
    codeless.err = None
    assert error_code(codeless) is None
    assert type(translate(codeless)) is DriverError


def test_translated_chains_the_libvirt_error(conn: Any) -> None:
    """When a libvirtError escapes a translated block, the contract's error is raised from it."""
    with pytest.raises(InstanceNotFound) as info, translated(MISSING):
        conn.lookupByUUIDString(MISSING)
    assert isinstance(info.value.__cause__, libvirt.libvirtError)


def test_libvirt_errors_are_not_printed(conn: Any, capfd: pytest.CaptureFixture[str]) -> None:
    """When the handler is registered, a failing call prints nothing on stderr."""
    silence_libvirt_stderr()
    error_from(lambda: conn.lookupByUUIDString(MISSING))
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    ("state", "saved", "expected"),
    [
        (libvirt.VIR_DOMAIN_RUNNING, False, power_state.RUNNING),
        (libvirt.VIR_DOMAIN_BLOCKED, False, power_state.RUNNING),
        (libvirt.VIR_DOMAIN_PAUSED, False, power_state.PAUSED),
        (libvirt.VIR_DOMAIN_SHUTDOWN, False, power_state.SHUTDOWN),
        (libvirt.VIR_DOMAIN_SHUTOFF, False, power_state.SHUTDOWN),
        (libvirt.VIR_DOMAIN_SHUTOFF, True, power_state.SUSPENDED),
        (libvirt.VIR_DOMAIN_CRASHED, False, power_state.CRASHED),
        (libvirt.VIR_DOMAIN_PMSUSPENDED, False, power_state.SUSPENDED),
        (libvirt.VIR_DOMAIN_NOSTATE, False, power_state.NOSTATE),
        (99, False, power_state.NOSTATE),
    ],
)
def test_power_states(state: int, saved: bool, expected: int) -> None:
    """When libvirt reports a state (and maybe a managed-save image), it maps to Nova's."""
    assert to_power_state(state, saved) == expected


def caps(*guests: tuple[str, str]) -> str:
    """Capabilities XML offering (os_type, domain type) guests."""
    body = "".join(f"<guest><os_type>{os}</os_type><arch name='x86_64'>"
                   f"<domain type='{kind}'/></arch></guest>" for os, kind in guests)
    return f"<capabilities><host/>{body}</capabilities>"


def test_domain_type_prefers_kvm(conn: Any) -> None:
    """When a host offers kvm, qemu or only test, the best hvm type is chosen."""
    assert choose_domain_type(caps(("hvm", "qemu"), ("hvm", "kvm"))) == "kvm"
    assert choose_domain_type(caps(("hvm", "qemu"), ("xen", "kvm"))) == "qemu"
    assert choose_domain_type(conn.getCapabilities()) == "test"


def test_no_hvm_domain_type_is_an_error() -> None:
    """When a host offers no hvm guest type we know, choosing one raises DriverError."""
    with pytest.raises(DriverError, match=r"offers: xen\)$"):
        choose_domain_type(caps(("hvm", "xen"), ("exe", "lxc")))
    with pytest.raises(DriverError, match="offers: none"):
        choose_domain_type(caps())
