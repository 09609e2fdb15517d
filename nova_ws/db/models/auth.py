"""
What the auth services keep: console auth tokens (hashes only), keypairs,
and the metadata of the certificates the CA issued (never a private key).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nova_ws.db.models.base import Base, TimestampMixin, UTCDateTime


class ConsoleAuthToken(TimestampMixin, Base):
    """
    A console token bound to an instance, a host, a port and a console type.
    Only the SHA-256 hex digest of the token is stored.
    """

    __tablename__ = "console_auth_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    console_type: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    internal_access_path: Mapped[str | None] = mapped_column(String(255))
    instance_uuid: Mapped[str] = mapped_column(
        String(36), ForeignKey("instances.uuid", ondelete="CASCADE"), index=True
    )
    access_url_base: Mapped[str | None] = mapped_column(String(255))
    expires: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    view_only: Mapped[bool] = mapped_column(Boolean, default=False)
    multi_use: Mapped[bool] = mapped_column(Boolean, default=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Keypair(TimestampMixin, Base):
    """
    A user's named public key (ssh or x509).
    """

    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(10), default="ssh")


class Certificate(TimestampMixin, Base):
    """
    A certificate that C{nova-cert} issued: who it is for, its serial (hex),
    subject and expiry, and when it was revoked. Never the private key.
    """

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str | None] = mapped_column(String(255), index=True)
    project_id: Mapped[str | None] = mapped_column(String(255), index=True)
    file_name: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(1024))
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
