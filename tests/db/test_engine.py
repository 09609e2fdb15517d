"""
Tests for L{nova_ws.db.engine}: URLs and engine settings per backend, and
the column types every backend must agree on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from nova_ws.config import DatabaseSection
from nova_ws.db.engine import create_engine_from_config, database_url
from nova_ws.db.models import Service
from nova_ws.db.queries import services
from tests.db.conftest import NOW, Backend


@pytest.mark.parametrize(
    "connection, state_path, expected",
    [
        ("sqlite:///nova.sqlite", "/var/lib/nova", "sqlite:////var/lib/nova/nova.sqlite"),
        ("sqlite:///nova.sqlite", ".", "sqlite:///./nova.sqlite"),
        ("sqlite:////abs/nova.sqlite", "/var/lib/nova", "sqlite:////abs/nova.sqlite"),
        ("sqlite://", "/var/lib/nova", "sqlite://"),
        ("mysql://nova:pw@db/nova", ".", "mysql+pymysql://nova:pw@db/nova?charset=utf8mb4"),
        ("mysql+pymysql://db/nova?charset=utf8", ".", "mysql+pymysql://db/nova?charset=utf8"),
        ("postgresql://nova@db/nova", ".", "postgresql+psycopg://nova@db/nova"),
        ("postgresql+psycopg://db/nova", ".", "postgresql+psycopg://db/nova"),
    ],
)
def test_database_url(connection: str, state_path: str, expected: str) -> None:
    """
    When a connection URL is resolved, drivers, charset and the SQLite path are filled in.
    """
    url = database_url(DatabaseSection(connection=connection), state_path)
    assert url.render_as_string(hide_password=False) == expected


def test_pool_options() -> None:
    """
    When [database] sets pool options, the engine's pool uses them.
    """
    engine = create_engine_from_config(
        DatabaseSection(connection="postgresql+psycopg://db/nova", max_pool_size=7,
                        max_overflow=3, pool_timeout=4.0, connection_recycle_time=60)
    )
    try:
        pool = engine.pool
        assert pool.size() == 7  # type: ignore[attr-defined]
        assert pool._max_overflow == 3  # type: ignore[attr-defined]
        assert pool._timeout == 4.0  # type: ignore[attr-defined]
        assert pool._recycle == 60
        assert pool._pre_ping
    finally:
        engine.dispose()


def test_sqlite_settings(tmp_path: Path) -> None:
    """
    When a SQLite engine connects, foreign keys are on and the journal is WAL.
    """
    engine = create_engine_from_config(
        DatabaseSection(connection="sqlite:///nova.sqlite"), state_path=str(tmp_path)
    )
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()


def test_server_settings(backend: Backend) -> None:
    """
    When MariaDB is used the connection is utf8mb4 in TRADITIONAL mode.
    """
    with backend.engine.connect() as connection:
        if backend.name == "mysql":
            assert connection.execute(text("SELECT @@character_set_client")).scalar() == (
                "utf8mb4")
            assert "TRADITIONAL" in connection.execute(text("SELECT @@sql_mode")).scalar_one()
        else:
            assert connection.execute(text("SELECT 1")).scalar() == 1


def test_timestamps_are_utc(engine: Engine) -> None:
    """
    When an aware time in another zone is stored, it reads back as the same instant in UTC.
    """
    plus_two = NOW.astimezone(timezone(timedelta(hours=2)))
    with Session(engine) as session, session.begin():
        services.register_service(session, "h", "b", now=plus_two)
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
        seen = session.scalars(select(Service.last_seen_up)).one()
    assert seen == NOW
    assert seen.tzinfo is UTC
    assert seen.microsecond == NOW.microsecond


def test_naive_timestamps_refused(engine: Engine) -> None:
    """
    When a naive datetime is bound, it is refused rather than guessed at.
    """
    with Session(engine) as session, pytest.raises(StatementError, match="naive datetime"):
        services.register_service(session, "h", "b", now=datetime(2030, 1, 1))


def test_unicode_round_trip(engine: Engine) -> None:
    """
    When text outside the BMP is stored (MariaDB needs utf8mb4), it reads back unchanged.
    """
    name = "caf\u00e9 \U0001f680"
    with Session(engine) as session, session.begin():
        services.register_service(session, name, "b", now=NOW)
    with Session(engine) as session:
        assert services.list_services(session)[0].host == name
