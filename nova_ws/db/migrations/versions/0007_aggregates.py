"""
Host aggregates, their hosts and their metadata.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

As in Nova's API database, aggregates are deleted outright (no soft
delete), their names are unique, and their hosts and metadata go with them
(C{ON DELETE CASCADE}). Column types are spelled out, as in 0003.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007"
down_revision = "0006"
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


def _child(name: str, *columns: Any) -> None:
    """A table of one aggregate's items, deleted with it."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("aggregate_id", sa.Integer(), nullable=False),
        *columns,
        _time("created_at", nullable=False),
        _time("updated_at"),
        sa.ForeignKeyConstraint(["aggregate_id"], ["aggregates.id"], ondelete="CASCADE"),
        **MYSQL_OPTIONS,
    )


def upgrade() -> None:
    op.create_table(
        "aggregates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        _time("created_at", nullable=False),
        _time("updated_at"),
        sa.UniqueConstraint("uuid"),
        sa.UniqueConstraint("name"),
        **MYSQL_OPTIONS,
    )
    _child(
        "aggregate_hosts",
        sa.Column("host", sa.String(255), nullable=False),
        sa.UniqueConstraint("aggregate_id", "host"),
    )
    op.create_index("ix_aggregate_hosts_host", "aggregate_hosts", ["host"])
    _child(
        "aggregate_metadata",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.UniqueConstraint("aggregate_id", "key"),
    )
    op.create_index("ix_aggregate_metadata_key", "aggregate_metadata", ["key"])


def downgrade() -> None:
    for table in ("aggregate_metadata", "aggregate_hosts", "aggregates"):
        op.drop_table(table)
