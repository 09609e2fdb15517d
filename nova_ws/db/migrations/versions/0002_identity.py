"""
Identity: domains, projects, users, roles, role assignments, API tokens and
EC2 credentials.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Column types are spelled out, as in 0001. Passwords are kept as salted
scrypt hashes and API tokens as SHA-256 digests; EC2 secrets are kept as
they are, because verifying an EC2 signature needs the secret.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MYSQL_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def _time(name: str, nullable: bool = True) -> sa.Column[Any]:
    kind = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    return sa.Column(name, kind, nullable=nullable)


def _string(name: str, length: int = 255, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _bool(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _timestamps() -> list[sa.Column[Any]]:
    return [_time("created_at", nullable=False), _time("updated_at")]


def _fk(column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [target], ondelete=ondelete)


def _create(name: str, *items: Any) -> None:
    op.create_table(name, *items, **MYSQL_OPTIONS)


def upgrade() -> None:
    _create(
        "identity_domains",
        _string("id", 64),
        _string("name"),
        sa.Column("description", sa.Text(), nullable=True),
        _bool("enabled"),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    _create(
        "identity_projects",
        _string("id", 64),
        _string("name"),
        _string("domain_id", 64),
        sa.Column("description", sa.Text(), nullable=True),
        _bool("enabled"),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id"),
        _fk("domain_id", "identity_domains.id"),
        sa.UniqueConstraint("domain_id", "name"),
    )
    _create(
        "identity_users",
        _string("id", 64),
        _string("name"),
        _string("domain_id", 64),
        _string("default_project_id", 64, nullable=True),
        _bool("enabled"),
        _string("password_hash", nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id"),
        _fk("domain_id", "identity_domains.id"),
        _fk("default_project_id", "identity_projects.id", "SET NULL"),
        sa.UniqueConstraint("domain_id", "name"),
    )
    _create(
        "identity_roles",
        _string("id", 64),
        _string("name"),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    _create(
        "identity_role_assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        _string("user_id", 64),
        _string("project_id", 64),
        _string("role_id", 64),
        *_timestamps(),
        _fk("user_id", "identity_users.id"),
        _fk("project_id", "identity_projects.id"),
        _fk("role_id", "identity_roles.id"),
        sa.UniqueConstraint("user_id", "project_id", "role_id"),
    )
    op.create_index("ix_identity_role_assignments_project_id", "identity_role_assignments",
                    ["project_id"])
    op.create_index("ix_identity_role_assignments_role_id", "identity_role_assignments",
                    ["role_id"])
    _create(
        "identity_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        _string("token_hash", 64),
        _string("user_id", 64),
        _string("project_id", 64, nullable=True),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("methods", sa.Text(), nullable=False),
        _time("issued_at", nullable=False),
        _time("expires_at", nullable=False),
        _time("revoked_at"),
        _fk("user_id", "identity_users.id"),
        _fk("project_id", "identity_projects.id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_identity_tokens_user_id", "identity_tokens", ["user_id"])
    op.create_index("ix_identity_tokens_project_id", "identity_tokens", ["project_id"])
    op.create_index("ix_identity_tokens_expires_at", "identity_tokens", ["expires_at"])
    _create(
        "identity_ec2_credentials",
        sa.Column("id", sa.Integer(), primary_key=True),
        _string("access", 64),
        _string("secret", 128),
        _string("user_id", 64),
        _string("project_id", 64),
        _time("created_at", nullable=False),
        _fk("user_id", "identity_users.id"),
        _fk("project_id", "identity_projects.id"),
        sa.UniqueConstraint("access"),
    )
    op.create_index("ix_identity_ec2_credentials_user_id", "identity_ec2_credentials",
                    ["user_id"])
    op.create_index("ix_identity_ec2_credentials_project_id", "identity_ec2_credentials",
                    ["project_id"])


TABLES = (
    "identity_ec2_credentials", "identity_tokens", "identity_role_assignments",
    "identity_roles", "identity_users", "identity_projects", "identity_domains",
)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
