"""What the host offers: its domain type and its resources (blocking calls).

Like :mod:`.guests`, these run in the driver's thread pool.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import libvirt

from nova_ws.compute.drivers.interfaces import DriverError, HostResources
from nova_ws.compute.drivers.libvirt.errors import error_code, translated

Connection = Any  # libvirt.virConnect

#: Domain types in order of preference: hardware virtualization, then
#: emulation, then libvirt's ``test:///`` hypervisor.
DOMAIN_TYPES = ("kvm", "qemu", "test")

_MIB = 1024 * 1024
_GIB = 1024 * _MIB


def choose_domain_type(capabilities_xml: str) -> str:
    """The best ``<domain type>`` an ``hvm`` guest can have on this host.

    Read from ``getCapabilities()``: ``kvm`` when the host has it, else
    ``qemu``, else ``test``. DriverError when the host runs no hvm guests.
    """
    root = ET.fromstring(capabilities_xml)
    offered: set[str] = set()
    for guest in root.iterfind("./guest"):
        if (guest.findtext("os_type") or "").strip() != "hvm":
            continue
        for domain in guest.iterfind("./arch/domain"):
            offered.add(domain.get("type", ""))
    for kind in DOMAIN_TYPES:
        if kind in offered:
            return kind
    raise DriverError(f"the hypervisor runs no hvm guest of type {', '.join(DOMAIN_TYPES)} "
                      f"(hvm types it offers: {', '.join(sorted(offered)) or 'none'})")


def domain_type(conn: Connection) -> str:
    """:func:`choose_domain_type` for the host behind *conn*."""
    with translated():
        return choose_domain_type(conn.getCapabilities())


def _disk_usage(path: str) -> tuple[int, int]:
    """(total, used) bytes of the filesystem holding *path* or its nearest parent."""
    candidate = Path(path)
    while not candidate.exists() and candidate != candidate.parent:
        candidate = candidate.parent
    usage = shutil.disk_usage(candidate)
    return usage.total, usage.total - usage.free


def host_resources(conn: Connection, instances_path: str) -> HostResources:
    """Totals and usage of the host behind *conn*.

    CPU and memory come from libvirt (``getInfo``, ``getFreeMemory``):
    memory used is the host's total less its free memory, as Nova counts it.
    vcpus used and running VMs count the active domains. Disk is the
    filesystem holding *instances_path*, which is local to this process (as
    Nova's is): right for ``qemu:///system`` on this host.
    """
    with translated():
        arch, memory_mb, cpus = conn.getInfo()[:3]
        free_mb = int(conn.getFreeMemory()) // _MIB
        active = conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
        vcpus_used = sum(_vcpus(dom) for dom in active)
        hostname, hv_type, hv_version = conn.getHostname(), conn.getType(), conn.getVersion()
    disk_total, disk_used = _disk_usage(instances_path)
    return HostResources(
        hypervisor_hostname=hostname,
        hypervisor_type=hv_type,
        hypervisor_version=int(hv_version),
        vcpus=int(cpus),
        memory_mb=int(memory_mb),
        local_gb=disk_total // _GIB,
        vcpus_used=vcpus_used,
        memory_mb_used=min(int(memory_mb), max(0, int(memory_mb) - free_mb)),
        local_gb_used=disk_used // _GIB,
        running_vms=len(active),
        cpu_arch=arch,
    )


def _vcpus(dom: Any) -> int:
    """A domain's vcpu count; 0 if it vanished since it was listed."""
    try:
        return int(dom.info()[3])
    except libvirt.libvirtError as exc:
        if error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
            return 0
        raise
