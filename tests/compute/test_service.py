"""nova-compute's driver from nova.conf: :func:`nova_ws.compute.service.make_driver`."""

from __future__ import annotations

import os

from twisted.internet.testing import MemoryReactorClock

from nova_ws.compute.drivers.libvirt.driver import DEFAULT_URI, LibvirtDriver
from nova_ws.compute.service import make_driver
from nova_ws.config import parse_config


def test_libvirt_driver_from_config() -> None:
    """When compute_driver is libvirt, the driver gets [libvirt], [vnc] and [spice]'s settings."""
    config = parse_config(
        "[DEFAULT]\ncompute_driver = libvirt\ninstances_path = /srv/instances\n"
        "[libvirt]\nconnection_uri = test:///default\n"
        "[vnc]\nserver_listen = 127.0.0.2\n[spice]\nenabled = true\n"
    )
    reactor = MemoryReactorClock()
    driver = make_driver(config, reactor)
    assert isinstance(driver, LibvirtDriver)
    assert driver.uri == "test:///default"
    assert driver.listen == "127.0.0.2"
    assert driver.spice is True
    assert driver.instances_path == "/srv/instances"
    assert driver.threadpool is None  # nothing runs until init_host


def test_libvirt_driver_defaults() -> None:
    """When [libvirt] is unset, the driver connects to qemu:///system, as Nova's does.

    Its disks are under <state_path>/instances; without [spice] enabled it has VNC only.
    """
    config = parse_config(
        "[DEFAULT]\ncompute_driver = libvirt\nstate_path = /var/lib/nova\n"
        "[spice]\nenabled = false\n"
    )
    driver = make_driver(config, MemoryReactorClock())
    assert isinstance(driver, LibvirtDriver)
    assert driver.uri == DEFAULT_URI == "qemu:///system"
    assert driver.spice is False
    assert driver.capabilities.consoles == ("vnc",)
    assert driver.instances_path == os.path.join("/var/lib/nova", "instances")
