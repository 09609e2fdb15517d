"""
What the Identity v3 subset keeps: domains, projects, users (a salted scrypt
hash of the password, never the password), roles, role assignments, API
tokens (the SHA-256 of the token, never the token) and EC2 credentials.

EC2 credentials keep their secret retrievably: an EC2 signature (SigV2/SigV4)
is an HMAC keyed with the secret, so the verifier needs the secret itself; a
hash of it could not check a signature. As Keystone does with its credential
blobs, nova-api stores it encrypted (C{fernet:...}, with keys kept outside
the database: L{nova_ws.api.identity.credential_keys}).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nova_ws.db.models.base import Base, JSONText, TimestampMixin, UTCDateTime


class IdentityDomain(TimestampMixin, Base):
    """
    A domain: a namespace for users and projects (C{default} is the one used).
    """

    __tablename__ = "identity_domains"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class IdentityProject(TimestampMixin, Base):
    """
    A project (tenant): what owns servers, images and quotas.
    """

    __tablename__ = "identity_projects"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("identity_domains.id", ondelete="CASCADE")
    )
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class IdentityUser(TimestampMixin, Base):
    """
    A user; C{password_hash} is C{scrypt$n$r$p$salt$hash}, or C{None} when
    the user cannot log in with a password.
    """

    __tablename__ = "identity_users"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("identity_domains.id", ondelete="CASCADE")
    )
    default_project_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("identity_projects.id", ondelete="SET NULL")
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))


class IdentityRole(TimestampMixin, Base):
    """
    A role (C{admin}, C{member}, C{reader}).
    """

    __tablename__ = "identity_roles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class IdentityRoleAssignment(TimestampMixin, Base):
    """
    A user holds a role on a project.
    """

    __tablename__ = "identity_role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "project_id", "role_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("identity_users.id", ondelete="CASCADE")
    )
    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("identity_projects.id", ondelete="CASCADE"), index=True
    )
    role_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("identity_roles.id", ondelete="CASCADE"), index=True
    )


class IdentityToken(Base):
    """
    An API token: the SHA-256 hex digest of the token, whom and what project
    it is for (C{None}: unscoped), the roles it carried when issued, and
    its life.
    """

    __tablename__ = "identity_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("identity_users.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("identity_projects.id", ondelete="CASCADE"), index=True
    )
    roles: Mapped[list[dict[str, str]]] = mapped_column(JSONText)
    methods: Mapped[list[str]] = mapped_column(JSONText)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdentityEc2Credential(Base):
    """
    An EC2 access key (public) and its secret (sealed: see the module), for
    a user in a project.
    """

    __tablename__ = "identity_ec2_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    access: Mapped[str] = mapped_column(String(64), unique=True)
    secret: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("identity_users.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("identity_projects.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
