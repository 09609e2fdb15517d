"""Domain XML: what a guest is defined with, that user text stays text, and reading ports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nova_ws.compute.drivers.interfaces import InstanceSpec
from nova_ws.compute.drivers.libvirt.domain import (
    NOVA_NS,
    DomainOptions,
    build_domain_xml,
    domain_name,
    graphics_listener,
    xml_text,
)

UUID = "0f6a3c1e-5b7d-4e2a-9c8b-1d2e3f405162"
NS = {"nova": NOVA_NS}


def spec(**overrides: Any) -> InstanceSpec:
    """A guest spec with a fixed uuid."""
    fields: dict[str, Any] = {"uuid": UUID, "name": "web-1", "vcpus": 2, "memory_mb": 512,
                              "root_gb": 10}
    fields.update(overrides)
    return InstanceSpec(**fields)


def build(instance: InstanceSpec | None = None, **options: Any) -> ET.Element:
    """The parsed domain XML of *instance*."""
    return ET.fromstring(build_domain_xml(instance or spec(), DomainOptions(**options)))


def test_core_elements() -> None:
    """When a spec is built, the domain has its name, uuid, memory in KiB, vcpus and hvm."""
    root = build(domain_type="qemu")
    assert root.tag == "domain" and root.get("type") == "qemu"
    assert root.findtext("name") == f"instance-{UUID}"
    assert root.findtext("uuid") == UUID
    memory = root.find("memory")
    assert memory is not None and memory.get("unit") == "KiB" and memory.text == str(512 * 1024)
    assert root.findtext("vcpu") == "2"
    assert root.findtext("os/type") == "hvm"
    assert root.find("features/acpi") is not None
    assert root.findtext("on_crash") == "destroy"


def test_devices_without_image() -> None:
    """When no image path is known, the domain has no disk, a pty serial console and VNC."""
    root = build()
    devices = root.find("devices")
    assert devices is not None
    assert devices.find("disk") is None
    serial = devices.find("serial")
    assert serial is not None and serial.get("type") == "pty"
    console = devices.find("console/target")
    assert console is not None and console.get("type") == "serial"
    graphics = devices.findall("graphics")
    assert [g.attrib for g in graphics] == [
        {"type": "vnc", "autoport": "yes", "listen": "127.0.0.1"}
    ]


def test_spice_and_listen_are_options() -> None:
    """When SPICE is on and a listen address is set, both consoles listen there."""
    graphics = build(spice=True, listen="192.0.2.7").findall("devices/graphics")
    assert [m.get("type") for m in build(spice=True).findall("devices/video/model")] == ["qxl"]
    assert build().findall("devices/video") == []  # VNC alone: libvirt's default card
    assert [(g.get("type"), g.get("listen")) for g in graphics] == [
        ("vnc", "192.0.2.7"), ("spice", "192.0.2.7")
    ]


def test_metadata_records_the_instance() -> None:
    """When a spec has a name, image and metadata, they are kept under the nova namespace."""
    root = build(spec(image_ref="cirros", metadata={"b": "2", "a": "1"}))
    instance = root.find("metadata/nova:instance", NS)
    assert instance is not None
    assert instance.findtext("nova:name", namespaces=NS) == "web-1"
    assert instance.findtext("nova:image", namespaces=NS) == "cirros"
    meta = [(m.get("key"), m.text) for m in instance.findall("nova:meta", NS)]
    assert meta == [("a", "1"), ("b", "2")]
    flavor = instance.find("nova:flavor", NS)
    assert flavor is not None and flavor.get("memory_mb") == "512"


MALICIOUS = "x</nova:name></nova:instance></metadata><devices><disk type='file'/></devices>"


def test_malicious_text_is_escaped() -> None:
    """When the name and metadata hold markup, quotes and control characters, they stay text."""
    evil = spec(name=MALICIOUS, metadata={"k'\"<>&": "]]>\x00\x1b&amp;" + MALICIOUS})
    xml = build_domain_xml(evil, DomainOptions())
    root = ET.fromstring(xml)
    assert root.find("devices/disk") is None
    assert len(root.findall("devices")) == 1 and len(root.findall("metadata")) == 1
    instance = root.find("metadata/nova:instance", NS)
    assert instance is not None
    assert instance.findtext("nova:name", namespaces=NS) == MALICIOUS
    (meta,) = instance.findall("nova:meta", NS)
    assert meta.get("key") == "k'\"<>&"
    assert meta.text == "]]>&amp;" + MALICIOUS
    assert root.findtext("name") == f"instance-{UUID}"


@given(name=st.text(), key=st.text(), value=st.text())
def test_any_text_round_trips(name: str, key: str, value: str) -> None:
    """When names and metadata are any text, the XML parses and keeps their legal characters."""
    root = build(spec(name=name, metadata={key: value}))
    instance = root.find("metadata/nova:instance", NS)
    assert instance is not None
    assert (instance.findtext("nova:name", namespaces=NS) or "") == xml_text(name)
    (meta,) = instance.findall("nova:meta", NS)
    assert meta.get("key") == xml_text(key)
    assert (meta.text or "") == xml_text(value)


@pytest.mark.parametrize("bad", [{"uuid": "not-a-uuid"}, {"uuid": "1'/><x"}, {"vcpus": 0},
                                 {"memory_mb": -1}])
def test_bad_specs_are_refused(bad: dict[str, Any]) -> None:
    """When the uuid is not a uuid or a size is not positive, building raises ValueError."""
    with pytest.raises(ValueError):
        build_domain_xml(spec(**bad), DomainOptions())


def test_domain_name_canonicalizes_uuid() -> None:
    """When a uuid is given in upper case or without hyphens, the name uses its canonical form."""
    assert domain_name(UUID.upper()) == f"instance-{UUID}"
    assert domain_name(UUID.replace("-", "")) == f"instance-{UUID}"


LIVE_XML = """<domain type='kvm'><devices>
  <graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'>
    <listen type='address' address='127.0.0.1'/></graphics>
  <graphics type='spice' port='5902' autoport='yes'>
    <listen type='address' address='0.0.0.0'/></graphics>
</devices></domain>"""


def test_graphics_listener_reads_live_ports() -> None:
    """When the live XML has assigned ports, they are read with their listen address."""
    vnc = graphics_listener(LIVE_XML, "vnc")
    spice = graphics_listener(LIVE_XML, "spice")
    assert vnc is not None and (vnc.listen, vnc.port) == ("127.0.0.1", 5901)
    assert spice is not None and (spice.listen, spice.port) == ("0.0.0.0", 5902)


@pytest.mark.parametrize("port", ["-1", "0", "70000", "auto", None])
def test_graphics_listener_without_a_port(port: str | None) -> None:
    """When the port is unassigned (-1, absent) or nonsense, the listener has no port."""
    attr = f" port='{port}'" if port is not None else ""
    listener = graphics_listener(f"<domain><devices><graphics type='vnc'{attr}/></devices>"
                                 "</domain>", "vnc")
    assert listener is not None and listener.port is None and listener.listen is None


def test_graphics_listener_absent_kind() -> None:
    """When the domain has no graphics of that kind, there is no listener."""
    assert graphics_listener("<domain><devices/></domain>", "vnc") is None
    assert graphics_listener(build_domain_xml(spec(), DomainOptions()), "spice") is None
