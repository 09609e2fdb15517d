"""
Tests for the Alembic migrations: the migrated schema is exactly the models
on every backend, upgrades are idempotent, and the package ships them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from setuptools import find_namespace_packages
from sqlalchemy import Column, Integer, MetaData, Table, inspect

from nova_ws.config import DatabaseSection
from nova_ws.db import migrate
from nova_ws.db.engine import create_engine_from_config
from nova_ws.db.models import Base, UTCDateTime
from tests.db.conftest import Backend

REPO = Path(__file__).resolve().parents[2]


def _differences(backend: Backend, metadata: MetaData) -> list[object]:
    with backend.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def test_schema_matches_models(backend: Backend) -> None:
    """
    When the migrations have run, autogenerate finds no difference from the models.
    """
    assert migrate.current_revision(backend.engine) == migrate.head_revision()
    assert _differences(backend, Base.metadata) == []


def test_comparison_sees_differences(backend: Backend) -> None:
    """
    When the models gain a table, the same comparison reports it (it is not blind).
    """
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table("not_migrated", metadata, Column("id", Integer, primary_key=True))
    assert [d[0] for d in _differences(backend, metadata)] == ["add_table"]  # type: ignore[index]


def test_timestamps_keep_microseconds(backend: Backend) -> None:
    """
    When the schema is reflected, every timestamp column keeps microseconds
    (MariaDB's DATETIME would drop them unless declared DATETIME(6)).
    """
    inspector = inspect(backend.engine)
    for table in Base.metadata.sorted_tables:
        reflected = {c["name"]: c["type"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if isinstance(column.type, UTCDateTime) and backend.name == "mysql":
                assert getattr(reflected[column.name], "fsp", None) == 6, column


def test_upgrade_is_idempotent(backend: Backend) -> None:
    """
    When the database is at head, upgrading again changes nothing.
    """
    assert migrate.upgrade(backend.engine) == migrate.head_revision()
    assert _differences(backend, Base.metadata) == []


def test_downgrade_and_upgrade(tmp_path: Path) -> None:
    """
    When a fresh SQLite database goes up, down to empty and up again, it ends
    at head with the models' schema.
    """
    engine = create_engine_from_config(
        DatabaseSection(connection="sqlite:///nova.sqlite"), state_path=str(tmp_path)
    )
    try:
        assert migrate.current_revision(engine) is None
        assert migrate.upgrade(engine) == migrate.head_revision()
        assert migrate.downgrade(engine, "base") is None
        assert inspect(engine).get_table_names() == ["alembic_version"]
        assert migrate.upgrade(engine) == migrate.head_revision()
        assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {
            "alembic_version"}
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", ["env.py", "script.py.mako", "versions/0001_initial.py"])
def test_package_ships_migrations(name: str) -> None:
    """
    When nova_ws is packaged, the migration environment and revisions go with it.
    """
    assert "nova_ws.db.migrations.versions" in find_namespace_packages(
        str(REPO), include=["nova_ws", "nova_ws.*"]
    )
    assert resources.files("nova_ws.db.migrations").joinpath(name).is_file()
    if name.endswith(".mako"):
        pyproject = (REPO / "pyproject.toml").read_text()
        assert '"nova_ws.db.migrations" = ["script.py.mako"]' in pyproject
