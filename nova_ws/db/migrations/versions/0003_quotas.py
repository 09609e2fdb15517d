"""
Quotas: each project's own limits, overriding the nova.conf defaults.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Column types are spelled out, as in 0001: timestamps are C{DATETIME(6)} on
MariaDB/MySQL and C{timestamp with time zone} elsewhere.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
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


def upgrade() -> None:
    op.create_table(
        "quotas",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("resource", sa.String(255), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        _time("created_at", nullable=False),
        _time("updated_at"),
        sa.UniqueConstraint("project_id", "resource"),
        **MYSQL_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table("quotas")
