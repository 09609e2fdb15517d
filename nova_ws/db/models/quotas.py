"""
Quotas: a project's own limit of one resource, overriding the C{[quota]}
default of nova.conf (which holds for every project without a row).
"""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nova_ws.db.models.base import Base, TimestampMixin


class Quota(TimestampMixin, Base):
    """
    The hard limit of one resource (C{instances}, C{cores}, ...) for one
    project; -1 is unlimited.
    """

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255))
    hard_limit: Mapped[int] = mapped_column(Integer)
