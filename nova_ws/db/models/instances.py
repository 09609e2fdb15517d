"""
Instances (servers) and their metadata key/value pairs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nova_ws.db.models.base import Base, JSONText, SoftDeleteMixin, TimestampMixin, UTCDateTime


class Instance(TimestampMixin, SoftDeleteMixin, Base):
    """
    A server. The flavor is copied at boot, as Nova does: the sizes into
    columns (so the scheduler can sum them) and the whole flavor, extra specs
    included, into the C{flavor} JSON snapshot, so changing or deleting the
    flavor later does not change the instance.
    """

    __tablename__ = "instances"
    __table_args__ = (
        Index(None, "project_id", "deleted"),
        Index(None, "host", "deleted"),
        Index(None, "deleted", "created_at"),
        Index(None, "updated_at"),
        Index(None, "reservation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    #: The user's free text about the server (Nova's display_description, API 2.19+).
    description: Mapped[str | None] = mapped_column(String(255))
    hostname: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    instance_type_id: Mapped[int | None] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    flavor: Mapped[dict[str, Any]] = mapped_column(JSONText)
    image_ref: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    node: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    vm_state: Mapped[str] = mapped_column(String(255))
    task_state: Mapped[str | None] = mapped_column(String(255))
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    key_name: Mapped[str | None] = mapped_column(String(255))
    reservation_id: Mapped[str | None] = mapped_column(String(255))
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(255))

    metadata_items: Mapped[list[InstanceMetadata]] = relationship(
        back_populates="instance", cascade="all, delete-orphan", passive_deletes=True
    )


class InstanceMetadata(TimestampMixin, Base):
    """
    One user metadata key/value pair of an instance.
    """

    __tablename__ = "instance_metadata"
    __table_args__ = (UniqueConstraint("instance_uuid", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("instances.uuid", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))

    instance: Mapped[Instance] = relationship(back_populates="metadata_items")
