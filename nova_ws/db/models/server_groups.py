"""
Server groups: a placement policy (affinity, anti-affinity, soft-*) and the
instances it binds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nova_ws.db.models.base import Base, JSONText, TimestampMixin, UTCDateTime, utcnow


class ServerGroup(TimestampMixin, Base):
    """
    A server group with one policy and its rules (for anti-affinity,
    C{{"max_server_per_host": n}}).
    """

    __tablename__ = "server_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    policy: Mapped[str] = mapped_column(String(255))
    rules: Mapped[dict[str, Any]] = mapped_column(JSONText)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))

    members: Mapped[list[ServerGroupMember]] = relationship(
        back_populates="group",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ServerGroupMember.id",
    )


class ServerGroupMember(Base):
    """
    An instance in a server group.
    """

    __tablename__ = "server_group_members"
    __table_args__ = (UniqueConstraint("group_id", "instance_uuid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("server_groups.id", ondelete="CASCADE")
    )
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[ServerGroup] = relationship(back_populates="members")
