"""
Services (one row per running binary on a host) and compute nodes (the
resources a compute host offers, and how much of them is claimed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Double, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nova_ws.db.models.base import Base, JSONText, SoftDeleteMixin, TimestampMixin, UTCDateTime


class Service(TimestampMixin, SoftDeleteMixin, Base):
    """
    A service binary (C{nova-compute}, C{nova-scheduler}, ...) on a host, with
    its heartbeat (C{report_count}, C{last_seen_up}) and admin state.
    """

    __tablename__ = "services"
    __table_args__ = (
        UniqueConstraint("host", "binary", "deleted"),
        Index(None, "binary"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    last_seen_up: Mapped[datetime | None] = mapped_column(UTCDateTime)
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=0)


class ComputeNode(TimestampMixin, SoftDeleteMixin, Base):
    """
    One hypervisor's resources: totals reported by its compute host, usage
    changed only by atomic claims and releases, and the allocation ratios
    that say how far each total may be overcommitted.
    """

    __tablename__ = "compute_nodes"
    __table_args__ = (UniqueConstraint("host", "hypervisor_hostname", "deleted"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    hypervisor_hostname: Mapped[str] = mapped_column(String(255))
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    local_gb: Mapped[int] = mapped_column(Integer)
    vcpus_used: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb_used: Mapped[int] = mapped_column(Integer, default=0)
    local_gb_used: Mapped[int] = mapped_column(Integer, default=0)
    running_vms: Mapped[int] = mapped_column(Integer, default=0)
    cpu_allocation_ratio: Mapped[float] = mapped_column(Double, default=16.0)
    ram_allocation_ratio: Mapped[float] = mapped_column(Double, default=1.5)
    disk_allocation_ratio: Mapped[float] = mapped_column(Double, default=1.0)
    hypervisor_type: Mapped[str] = mapped_column(String(255))
    hypervisor_version: Mapped[int] = mapped_column(Integer, default=0)
    cpu_info: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
