"""Domain XML: built from an InstanceSpec, and read back for consoles.

The XML is built with :mod:`xml.etree.ElementTree`, so names and metadata
from users are escaped by the serializer, never pasted into markup.
Characters that XML 1.0 cannot carry at all (most control characters) are
dropped from user text first, since no escaping makes them legal.

A guest gets: a name derived from its uuid, the uuid, memory and vcpus, an
``hvm`` OS, ACPI/APIC (so soft reboot and shutdown reach the guest), a
serial console on a pty, a USB tablet (so a VNC pointer tracks the
browser's), VNC graphics on an automatically chosen port and, optionally,
SPICE. No disk yet: image handling comes later.
"""

from __future__ import annotations

import re
import uuid as uuidlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from nova_ws.compute.drivers.interfaces import InstanceSpec

#: The XML namespace of our element under ``<metadata>``.
NOVA_NS = "urn:nova-ws:libvirt:instance:1"

#: The graphics console kinds a domain may have (libvirt ``graphics/@type``).
GRAPHICS_KINDS = ("vnc", "spice")

# Everything outside XML 1.0's Char production.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class DomainOptions:
    """Host-wide choices for every domain this driver defines.

    *domain_type* is libvirt's ``<domain type>``: ``kvm`` or ``qemu`` on a
    QEMU host, ``test`` on ``test:///``. *listen* is the address VNC and
    SPICE listen on (nova.conf ``[vnc] server_listen``).
    """

    domain_type: str = "kvm"
    listen: str = "127.0.0.1"
    spice: bool = False


def domain_name(instance_uuid: str) -> str:
    """The libvirt name of the guest with *instance_uuid*: ``instance-<uuid>``.

    The whole uuid, not a prefix, so two guests can never collide on name.
    """
    return f"instance-{canonical_uuid(instance_uuid)}"


def canonical_uuid(value: str) -> str:
    """*value* as a lower-case hyphenated uuid; ValueError if it is not one."""
    return str(uuidlib.UUID(value))


def xml_text(value: object) -> str:
    """*value* as text an XML document carries unchanged.

    Characters XML cannot hold are dropped, and line ends become ``\\n``
    (a parser would turn a bare ``\\r`` into one anyway).
    """
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_XML_CHAR.sub("", text)


def build_domain_xml(spec: InstanceSpec, options: DomainOptions) -> str:
    """The ``<domain>`` document for *spec*. ValueError for a bad uuid or size."""
    if spec.vcpus < 1 or spec.memory_mb < 1:
        raise ValueError(f"vcpus and memory_mb must be positive, not {spec.vcpus}, "
                         f"{spec.memory_mb}")
    domain = ET.Element("domain", type=options.domain_type)
    _text(domain, "name", domain_name(spec.uuid))
    _text(domain, "uuid", canonical_uuid(spec.uuid))
    _metadata(ET.SubElement(domain, "metadata"), spec)
    _text(domain, "memory", str(spec.memory_mb * 1024), unit="KiB")
    _text(domain, "currentMemory", str(spec.memory_mb * 1024), unit="KiB")
    _text(domain, "vcpu", str(spec.vcpus))
    _text(ET.SubElement(domain, "os"), "type", "hvm")
    features = ET.SubElement(domain, "features")
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")
    ET.SubElement(domain, "clock", offset="utc")
    _text(domain, "on_poweroff", "destroy")
    _text(domain, "on_reboot", "restart")
    _text(domain, "on_crash", "destroy")
    _devices(ET.SubElement(domain, "devices"), options)
    return ET.tostring(domain, encoding="unicode")


def _text(parent: ET.Element, tag: str, text: str, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    element.text = text
    return element


def _metadata(parent: ET.Element, spec: InstanceSpec) -> None:
    ET.register_namespace("nova", NOVA_NS)
    instance = ET.SubElement(parent, f"{{{NOVA_NS}}}instance")
    _text(instance, f"{{{NOVA_NS}}}name", xml_text(spec.name))
    _text(instance, f"{{{NOVA_NS}}}flavor", "",
          vcpus=str(spec.vcpus), memory_mb=str(spec.memory_mb), root_gb=str(spec.root_gb))
    if spec.image_ref:
        _text(instance, f"{{{NOVA_NS}}}image", xml_text(spec.image_ref))
    for key, value in sorted(spec.metadata.items()):
        _text(instance, f"{{{NOVA_NS}}}meta", xml_text(value), key=xml_text(key))


def _devices(devices: ET.Element, options: DomainOptions) -> None:
    serial = ET.SubElement(devices, "serial", type="pty")
    ET.SubElement(serial, "target", port="0")
    console = ET.SubElement(devices, "console", type="pty")
    ET.SubElement(console, "target", type="serial", port="0")
    ET.SubElement(devices, "input", type="tablet", bus="usb")
    kinds = GRAPHICS_KINDS if options.spice else ("vnc",)
    for kind in kinds:
        ET.SubElement(devices, "graphics", type=kind, autoport="yes", listen=options.listen)
    if options.spice:  # the display card SPICE is made for (libvirt would pick cirrus)
        video = ET.SubElement(devices, "video")
        ET.SubElement(video, "model", type="qxl")


@dataclass(frozen=True)
class GraphicsListener:
    """A graphics console as the live domain XML reports it.

    ``port`` is None when the hypervisor has not assigned one: libvirt
    writes ``port='-1'`` (or nothing) for ``autoport='yes'`` until QEMU
    runs, and the ``test:///`` hypervisor never assigns one at all.
    """

    kind: str
    listen: str | None
    port: int | None


def graphics_listener(domain_xml: str, kind: str) -> GraphicsListener | None:
    """The first ``<graphics type=kind>`` of *domain_xml*, or None if it has none."""
    root = ET.fromstring(domain_xml)
    for graphics in root.iterfind("./devices/graphics"):
        if graphics.get("type") != kind:
            continue
        listen = graphics.get("listen")
        if not listen:
            child = graphics.find("./listen[@type='address']")
            listen = child.get("address") if child is not None else None
        try:
            port: int | None = int(graphics.get("port", "-1"))
        except ValueError:
            port = None
        if port is not None and not 0 < port < 65536:
            port = None
        return GraphicsListener(kind, listen or None, port)
    return None
