"""
EC2 client tokens, for idempotent RunInstances.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

One row per project and C{ClientToken}: a digest of the request that
claimed it and the reservation it made (see L{nova_ws.db.models.ec2}).
Column types are spelled out, as in 0003.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision = "0005"
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
        "ec2_client_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("client_token", sa.String(64), nullable=False),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column("reservation_id", sa.String(255), nullable=True),
        _time("created_at", nullable=False),
        _time("updated_at"),
        sa.UniqueConstraint("project_id", "client_token"),
        **MYSQL_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table("ec2_client_tokens")
