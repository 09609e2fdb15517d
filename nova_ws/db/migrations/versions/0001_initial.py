"""
The initial schema: every table of nova_ws.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

The column types are spelled out here rather than imported from the models,
so this revision stays what it was when the models move on: timestamps are
C{DATETIME(6)} on MariaDB/MySQL and C{timestamp with time zone} elsewhere;
JSON values are text. On MariaDB/MySQL the tables are InnoDB, utf8mb4 with
the binary collation, so comparisons are case-sensitive as on the others.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MYSQL_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def _datetime() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _string(name: str, length: int = 255, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _int(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _bool(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _time(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, _datetime(), nullable=nullable)


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _timestamps() -> list[sa.Column[Any]]:
    return [_time("created_at", nullable=False), _time("updated_at")]


def _soft_delete() -> list[sa.Column[Any]]:
    return [
        sa.Column("deleted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _time("deleted_at"),
    ]


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [target], ondelete="CASCADE")


def _create(name: str, *items: Any) -> None:
    op.create_table(name, *items, **MYSQL_OPTIONS)


def upgrade() -> None:
    _services()
    _instances()
    _flavors_and_images()
    _auth()


def _services() -> None:
    _create(
        "services",
        _id(),
        _string("host"),
        _string("binary"),
        _string("topic", nullable=True),
        _string("availability_zone", nullable=True),
        _bool("disabled"),
        _string("disabled_reason", nullable=True),
        _int("report_count"),
        _time("last_seen_up"),
        _bool("forced_down"),
        _int("version"),
        *_timestamps(),
        *_soft_delete(),
        sa.UniqueConstraint("host", "binary", "deleted"),
    )
    op.create_index("ix_services_binary", "services", ["binary"])
    _create(
        "compute_nodes",
        _id(),
        _string("uuid", 36),
        _string("host"),
        _string("hypervisor_hostname"),
        *(_int(n) for n in ("vcpus", "memory_mb", "local_gb", "vcpus_used",
                            "memory_mb_used", "local_gb_used", "running_vms")),
        *(sa.Column(n, sa.Double(), nullable=False) for n in (
            "cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio")),
        _string("hypervisor_type"),
        _int("hypervisor_version"),
        sa.Column("cpu_info", sa.Text(), nullable=True),
        *_timestamps(),
        *_soft_delete(),
        sa.UniqueConstraint("uuid"),
        sa.UniqueConstraint("host", "hypervisor_hostname", "deleted"),
    )


def _instances() -> None:
    _create(
        "instances",
        _id(),
        _string("uuid", 36),
        _string("display_name", nullable=True),
        _string("hostname", nullable=True),
        _string("project_id"),
        _string("user_id"),
        _int("instance_type_id", nullable=True),
        *(_int(n) for n in ("vcpus", "memory_mb", "root_gb", "ephemeral_gb")),
        sa.Column("flavor", sa.Text(), nullable=False),
        *(_string(n, nullable=True) for n in ("image_ref", "host", "node", "availability_zone")),
        _string("vm_state"),
        _string("task_state", nullable=True),
        _int("power_state"),
        _time("launched_at"),
        _time("terminated_at"),
        _string("key_name", nullable=True),
        _string("reservation_id", nullable=True),
        _int("launch_index"),
        _bool("locked"),
        _string("locked_by", nullable=True),
        *_timestamps(),
        *_soft_delete(),
        sa.UniqueConstraint("uuid"),
    )
    for columns in (["project_id", "deleted"], ["host", "deleted"], ["deleted", "created_at"],
                    ["updated_at"], ["reservation_id"]):
        op.create_index(f"ix_instances_{'_'.join(columns)}", "instances", columns)
    _create(
        "instance_metadata",
        _id(),
        _string("instance_uuid", 36),
        _string("key"),
        _string("value"),
        *_timestamps(),
        _fk("instance_uuid", "instances.uuid"),
        sa.UniqueConstraint("instance_uuid", "key"),
    )
    _create(
        "instance_actions",
        _id(),
        _string("action"),
        _string("instance_uuid", 36),
        _string("request_id"),
        _string("user_id", nullable=True),
        _string("project_id", nullable=True),
        _time("start_time"),
        _time("finish_time"),
        _string("message", nullable=True),
        *_timestamps(),
        _fk("instance_uuid", "instances.uuid"),
    )
    op.create_index(
        "ix_instance_actions_instance_uuid_request_id",
        "instance_actions",
        ["instance_uuid", "request_id"],
    )
    _create(
        "instance_actions_events",
        _id(),
        _int("action_id"),
        _string("event"),
        _time("start_time"),
        _time("finish_time"),
        _string("result", nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        _string("host", nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        *_timestamps(),
        _fk("action_id", "instance_actions.id"),
    )
    op.create_index(
        "ix_instance_actions_events_action_id", "instance_actions_events", ["action_id"]
    )
    _create(
        "server_groups",
        _id(),
        _string("uuid", 36),
        _string("name"),
        _string("policy"),
        sa.Column("rules", sa.Text(), nullable=False),
        _string("project_id"),
        _string("user_id"),
        *_timestamps(),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index("ix_server_groups_project_id", "server_groups", ["project_id"])
    _create(
        "server_group_members",
        _id(),
        _int("group_id"),
        _string("instance_uuid", 36),
        _time("created_at", nullable=False),
        _fk("group_id", "server_groups.id"),
        sa.UniqueConstraint("group_id", "instance_uuid"),
    )
    op.create_index(
        "ix_server_group_members_instance_uuid", "server_group_members", ["instance_uuid"]
    )


def _flavors_and_images() -> None:
    _create(
        "flavors",
        _id(),
        _string("flavorid"),
        _string("name"),
        *(_int(n) for n in ("vcpus", "memory_mb", "root_gb", "ephemeral_gb", "swap")),
        sa.Column("rxtx_factor", sa.Double(), nullable=False),
        _bool("is_public"),
        _bool("disabled"),
        sa.Column("description", sa.Text(), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("flavorid"),
        sa.UniqueConstraint("name"),
    )
    _create(
        "flavor_extra_specs",
        _id(),
        _int("flavor_id"),
        _string("key"),
        _string("value"),
        *_timestamps(),
        _fk("flavor_id", "flavors.id"),
        sa.UniqueConstraint("flavor_id", "key"),
    )
    _create(
        "images",
        _id(),
        _string("uuid", 36),
        _string("name", nullable=True),
        _string("status", 30),
        _string("disk_format", 30, nullable=True),
        _string("container_format", 30, nullable=True),
        _int("min_ram"),
        _int("min_disk"),
        sa.Column("size", sa.BigInteger(), nullable=True),
        _string("checksum", 128, nullable=True),
        _string("visibility", 20),
        _string("owner", nullable=True),
        _bool("protected"),
        *_timestamps(),
        sa.UniqueConstraint("uuid"),
    )
    op.create_index("ix_images_name", "images", ["name"])
    op.create_index("ix_images_owner", "images", ["owner"])
    _create(
        "image_properties",
        _id(),
        _int("image_id"),
        _string("name"),
        sa.Column("value", sa.Text(), nullable=False),
        _fk("image_id", "images.id"),
        sa.UniqueConstraint("image_id", "name"),
    )


def _auth() -> None:
    _create(
        "console_auth_tokens",
        _id(),
        _string("token_hash", 64),
        _string("console_type"),
        _string("host"),
        _int("port"),
        _string("internal_access_path", nullable=True),
        _string("instance_uuid", 36),
        _string("access_url_base", nullable=True),
        _time("expires", nullable=False),
        _string("user_id", nullable=True),
        _string("project_id", nullable=True),
        _bool("view_only"),
        _bool("multi_use"),
        _time("used_at"),
        *_timestamps(),
        _fk("instance_uuid", "instances.uuid"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_console_auth_tokens_instance_uuid", "console_auth_tokens",
                    ["instance_uuid"])
    op.create_index("ix_console_auth_tokens_expires", "console_auth_tokens", ["expires"])
    _create(
        "key_pairs",
        _id(),
        _string("name"),
        _string("user_id"),
        _string("fingerprint"),
        sa.Column("public_key", sa.Text(), nullable=False),
        _string("type", 10),
        *_timestamps(),
        sa.UniqueConstraint("user_id", "name"),
    )
    _create(
        "certificates",
        _id(),
        _string("serial", 64),
        _string("user_id", nullable=True),
        _string("project_id", nullable=True),
        _string("file_name", nullable=True),
        _string("subject", 1024),
        _time("not_after", nullable=False),
        _time("revoked_at"),
        *_timestamps(),
        sa.UniqueConstraint("serial"),
    )
    op.create_index("ix_certificates_user_id", "certificates", ["user_id"])
    op.create_index("ix_certificates_project_id", "certificates", ["project_id"])


TABLES = (
    "certificates", "key_pairs", "console_auth_tokens", "image_properties", "images",
    "flavor_extra_specs", "flavors", "server_group_members", "server_groups",
    "instance_actions_events", "instance_actions", "instance_metadata", "instances",
    "compute_nodes", "services",
)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
