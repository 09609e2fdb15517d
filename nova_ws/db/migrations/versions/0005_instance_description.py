"""
Instances: the server description of API microversion 2.19.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

A nullable C{description} column (at most 255 characters, as the API
accepts), C{NULL} for the instances that exist already.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("instances", sa.Column("description", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("description")
