"""
Fixtures: one database per backend (SQLite, MariaDB, PostgreSQL) for the
whole run, its schema made by the Alembic migrations, emptied before each
test.

MariaDB and PostgreSQL are reached over 127.0.0.1 (override with
C{NOVA_WS_TEST_MYSQL_URL} and C{NOVA_WS_TEST_POSTGRESQL_URL}, URLs of a
database the tests may connect to and create others from). If one is not
reachable, its tests fail and say so: they are never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from nova_ws.config import DatabaseSection
from nova_ws.db import migrate
from nova_ws.db.engine import create_engine_from_config
from nova_ws.db.models import Base

MYSQL_ADMIN_URL = os.environ.get(
    "NOVA_WS_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)
POSTGRESQL_ADMIN_URL = os.environ.get(
    "NOVA_WS_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SERVERS = {
    "mysql": ("MariaDB", MYSQL_ADMIN_URL),
    "postgresql": ("PostgreSQL", POSTGRESQL_ADMIN_URL),
}
BACKENDS = [
    "sqlite",
    pytest.param("mysql", marks=pytest.mark.integration),
    pytest.param("postgresql", marks=pytest.mark.integration),
]
SERVER_BACKENDS = [p for p in BACKENDS if not isinstance(p, str)]

#: A fixed "now" for tests: timezone-aware UTC, with microseconds.
NOW = datetime(2030, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


@dataclass(frozen=True)
class Backend:
    """
    A migrated, private database on one backend.
    """

    name: str
    url: str
    engine: Engine


def _admin_engine(name: str) -> Engine:
    label, url = SERVERS[name]
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return engine
    except OperationalError as e:
        reason = str(e.orig)
    engine.dispose()
    pytest.fail(
        f"{label} is not reachable at {make_url(url)!r}: {reason}. The database tests "
        f"need it (CI has it); start it, or point {_variable(name)} at one.",
        pytrace=False,
    )


def _variable(name: str) -> str:
    return f"NOVA_WS_TEST_{name.upper()}_URL"


def _engine(url: str) -> Engine:
    return create_engine_from_config(
        DatabaseSection(connection=url, max_pool_size=5, max_overflow=25)
    )


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Backend]:
    """
    A database of its own on each backend, migrated to head, for the session.
    """
    name = request.param
    if name == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'nova.sqlite'}"
        engine = _engine(url)
        migrate.upgrade(engine)
        yield Backend(name, url, engine)
        engine.dispose()
        return
    with scratch_database(name) as url:
        engine = _engine(url)
        try:
            migrate.upgrade(engine)
            yield Backend(name, url, engine)
        finally:
            engine.dispose()


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """The URL of a new, empty database on server *name* (``postgresql``, ``mysql``),
    dropped on the way out; fails, saying why, when the server is unreachable."""
    admin = _admin_engine(name)
    database = f"nova_ws_test_{uuid.uuid4().hex[:12]}"
    create = f"CREATE DATABASE {database}"
    if name == "mysql":
        create += " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    with admin.connect() as connection:
        connection.execute(text(create))
    try:
        yield make_url(SERVERS[name][1]).set(database=database).render_as_string(
            hide_password=False)
    finally:
        drop = f"DROP DATABASE {database}"
        with admin.connect() as connection:
            connection.execute(text(drop + (" WITH (FORCE)" if name == "postgresql" else "")))
        admin.dispose()


def empty(engine: Engine) -> None:
    """
    Delete every row of every table, children first.
    """
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))


@pytest.fixture
def engine(backend: Backend) -> Engine:
    """
    The backend's engine, its tables emptied.
    """
    empty(backend.engine)
    return backend.engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """
    A session on the emptied database; what it did not commit is rolled back.
    """
    with Session(engine) as session:
        yield session


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """
    Where a test may put a SQLite database of its own.
    """
    return tmp_path / "nova.sqlite"
