"""
EC2 client tokens: what makes C{RunInstances} idempotent.

A client (boto3 does it on its own) sends a C{ClientToken} with each
C{RunInstances}; a retry carries the same one. The first request claims
the token for its project (the unique key stops a concurrent twin), and
records the reservation it made; a retry answers that reservation again
instead of booting more instances, and one with other parameters is refused.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nova_ws.db.models.base import Base, TimestampMixin


class Ec2ClientToken(TimestampMixin, Base):
    """One project's C{ClientToken}: a digest of its request, and the reservation it made
    (C{None} while the request is still booting)."""

    __tablename__ = "ec2_client_tokens"
    __table_args__ = (UniqueConstraint("project_id", "client_token"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    client_token: Mapped[str] = mapped_column(String(64))
    request_digest: Mapped[str] = mapped_column(String(64))
    reservation_id: Mapped[str | None] = mapped_column(String(255))
