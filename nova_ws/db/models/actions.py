"""
Instance actions (what was asked of an instance, by whom, in which request)
and their events (the steps taken on the way, with their result).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nova_ws.db.models.base import Base, TimestampMixin, UTCDateTime


class InstanceAction(TimestampMixin, Base):
    """
    One user-visible action on an instance (create, reboot, delete, ...).
    """

    __tablename__ = "instance_actions"
    __table_args__ = (Index(None, "instance_uuid", "request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(255))
    instance_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("instances.uuid", ondelete="CASCADE")
    )
    request_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finish_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message: Mapped[str | None] = mapped_column(String(255))

    events: Mapped[list[InstanceActionEvent]] = relationship(
        back_populates="action",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="InstanceActionEvent.id",
    )


class InstanceActionEvent(TimestampMixin, Base):
    """
    One step of an action (C{compute_build_and_run_instance}, ...).
    """

    __tablename__ = "instance_actions_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("instance_actions.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finish_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(String(255))
    traceback: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)

    action: Mapped[InstanceAction] = relationship(back_populates="events")
