"""
Flavors (the sizes a server can be booted with) and their extra specs.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Double, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nova_ws.db.models.base import Base, TimestampMixin


class Flavor(TimestampMixin, Base):
    """
    A flavor. C{flavorid} is the id the API shows; C{id} is internal.
    """

    __tablename__ = "flavors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Double, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)

    extra_specs: Mapped[list[FlavorExtraSpec]] = relationship(
        back_populates="flavor", cascade="all, delete-orphan", passive_deletes=True
    )


class FlavorExtraSpec(TimestampMixin, Base):
    """
    One extra spec (C{hw:cpu_policy = dedicated}, ...) of a flavor.
    """

    __tablename__ = "flavor_extra_specs"
    __table_args__ = (UniqueConstraint("flavor_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flavor_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("flavors.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))

    flavor: Mapped[Flavor] = relationship(back_populates="extra_specs")
