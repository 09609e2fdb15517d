"""
EC2 secrets are stored encrypted: room for the sealed value.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

A sealed secret is C{fernet:} and a Fernet token (191 characters for a
64-character secret), more than the 128 characters 0002 made room for.
Secrets already stored stay as they are (in the clear, still readable);
new ones are sealed by nova-api (see L{nova_ws.api.identity.credential_keys}).
Batch mode, so SQLite (which cannot alter a column) copies the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity_ec2_credentials") as batch:
        batch.alter_column("secret", existing_type=sa.String(128), type_=sa.String(255),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("identity_ec2_credentials") as batch:
        batch.alter_column("secret", existing_type=sa.String(255), type_=sa.String(128),
                           existing_nullable=False)
