"""What the scheduler decides on: hosts as it sees them, and what is asked.

Pure data: filters and weighers read these and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HostState:
    """One compute host as the scheduler sees it (from services + compute nodes)."""

    host: str
    node_uuid: str
    availability_zone: str
    up: bool
    disabled: bool
    vcpus: int
    vcpus_used: int
    memory_mb: int
    memory_mb_used: int
    local_gb: int
    local_gb_used: int
    cpu_allocation_ratio: float = 16.0
    ram_allocation_ratio: float = 1.5
    disk_allocation_ratio: float = 1.0
    hypervisor_type: str = "fake"
    cpu_arch: str = "x86_64"
    running_vms: int = 0
    instance_uuids: frozenset[str] = frozenset()

    @property
    def free_ram_mb(self) -> float:
        """RAM still claimable, allocation ratio included."""
        return self.memory_mb * self.ram_allocation_ratio - self.memory_mb_used

    @property
    def free_disk_gb(self) -> float:
        """Disk still claimable, allocation ratio included."""
        return self.local_gb * self.disk_allocation_ratio - self.local_gb_used

    @property
    def free_vcpus(self) -> float:
        """vCPUs still claimable, allocation ratio included."""
        return self.vcpus * self.cpu_allocation_ratio - self.vcpus_used


@dataclass(frozen=True)
class ServerGroup:
    """The server group a request belongs to, with where its members run.

    ``member_hosts`` holds one entry per member already placed, so a host
    appears as often as it runs members. ``max_server_per_host`` is the
    anti-affinity rule of that name (Nova's default: 1).
    """

    uuid: str
    policy: str  # affinity, anti-affinity, soft-affinity, soft-anti-affinity
    member_hosts: tuple[str, ...] = ()
    max_server_per_host: int = 1


@dataclass(frozen=True)
class RequestSpec:
    """One server to place."""

    instance_uuid: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    availability_zone: str | None = None
    image_properties: Mapping[str, Any] = field(default_factory=dict)
    group: ServerGroup | None = None
    ignore_hosts: frozenset[str] = frozenset()

    @property
    def disk_gb(self) -> int:
        """Local disk the server needs."""
        return self.root_gb + self.ephemeral_gb
