"""
Host aggregates: named groups of compute hosts with key/value metadata.

An aggregate whose metadata has C{availability_zone} puts its hosts in that
zone. As in Nova's API database, aggregates are deleted outright (their
hosts and metadata with them) and a name is unique.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nova_ws.db.models.base import Base, TimestampMixin


class Aggregate(TimestampMixin, Base):
    """
    A host aggregate. C{id} is the id the API shows (an integer, as in Nova).
    """

    __tablename__ = "aggregates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)

    hosts: Mapped[list[AggregateHost]] = relationship(
        back_populates="aggregate",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="AggregateHost.id",
    )
    # (``metadata`` is taken by SQLAlchemy's declarative base)
    metadata_items: Mapped[list[AggregateMetadata]] = relationship(
        back_populates="aggregate",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="AggregateMetadata.id",
    )


class AggregateHost(TimestampMixin, Base):
    """
    A compute host in an aggregate (a host may be in several).
    """

    __tablename__ = "aggregate_hosts"
    __table_args__ = (UniqueConstraint("aggregate_id", "host"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aggregate_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("aggregates.id", ondelete="CASCADE")
    )
    host: Mapped[str] = mapped_column(String(255), index=True)

    aggregate: Mapped[Aggregate] = relationship(back_populates="hosts")


class AggregateMetadata(TimestampMixin, Base):
    """
    One metadata item of an aggregate (C{availability_zone = az1}, ...).
    """

    __tablename__ = "aggregate_metadata"
    __table_args__ = (UniqueConstraint("aggregate_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    aggregate_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("aggregates.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(255), index=True)
    value: Mapped[str] = mapped_column(String(255))

    aggregate: Mapped[Aggregate] = relationship(back_populates="metadata_items")
