"""Scratch databases for the boot benchmark: one empty, migrated database per part.

``--database`` takes:

* nothing, or ``sqlite``: a SQLite file in a temporary directory;
* ``mysql`` / ``mariadb`` / ``postgresql``: the local server as the test suite
  reaches it (``mysql+pymysql://root@127.0.0.1/``,
  ``postgresql+psycopg://postgres@127.0.0.1/``);
* a server URL without a database name: a database ``nova_ws_bench_<hex>`` is
  created there for each part and dropped after it;
* a URL with a database name (or a SQLite file): used as it is, migrated if
  needed. Its tables must be empty; each part empties them again when it
  ends, so only what the benchmark wrote is removed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from nova_ws.config import DatabaseSection
from nova_ws.db import migrate
from nova_ws.db.engine import DEFAULT_DRIVERS, create_engine_from_config
from nova_ws.db.models import Base

SHORTCUTS = {
    "mysql": "mysql+pymysql://root@127.0.0.1/",
    "mariadb": "mysql+pymysql://root@127.0.0.1/",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1/",
}


class ScratchError(Exception):
    """The database given cannot be used (unreachable, or not empty)."""


class Scratch:
    """Hands out one empty, migrated database URL per benchmark part."""

    def __init__(self, spec: str | None) -> None:
        spec = spec or "sqlite"
        self.spec = SHORTCUTS.get(spec, spec)
        self.url: URL | None = None if self.spec == "sqlite" else make_url(self.spec)
        if self.url is not None and self.url.drivername in DEFAULT_DRIVERS:
            self.url = self.url.set(drivername=DEFAULT_DRIVERS[self.url.drivername])
        if self.url is not None and self.backend == "sqlite":
            path = self.url.database
            if not path or path == ":memory:" or path.startswith("file:"):
                raise ScratchError("an in-memory SQLite database cannot be shared by the "
                                   "benchmark's engines: give a file, or nothing")
            self.url = self.url.set(database=os.path.abspath(path))

    @property
    def backend(self) -> str:
        """``sqlite``, ``mysql`` or ``postgresql``."""
        return "sqlite" if self.url is None else self.url.get_backend_name()

    def describe(self) -> str:
        """What the report says about the database (no password)."""
        if self.url is None:
            return "SQLite, a temporary file per part"
        shown = self.url.render_as_string(hide_password=True)
        if self._temporary():
            return f"{self.backend} at {shown} (a temporary database per part)"
        return f"{self.backend} {shown}"

    def _temporary(self) -> bool:
        return self.url is not None and self.backend != "sqlite" and not self.url.database

    @contextmanager
    def database(self, part: str) -> Iterator[str]:
        """An empty, migrated database for *part*; its URL (with password)."""
        if self.url is None:
            tmp = Path(tempfile.mkdtemp(prefix=f"bench-boot-{part}-"))
            try:
                url = f"sqlite:///{tmp / 'nova.sqlite'}"
                _migrate(url)
                yield url
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        elif self._temporary():
            with self._temporary_database(part) as url:
                yield url
        else:
            url = self.url.render_as_string(hide_password=False)
            try:
                _migrate(url)
            except SQLAlchemyError as exc:
                shown = self.url.render_as_string(hide_password=True)
                raise ScratchError(f"cannot use {shown}: {exc}") from exc
            _check_empty(url)
            try:
                yield url
            finally:
                _empty(url)

    @contextmanager
    def _temporary_database(self, part: str) -> Iterator[str]:
        assert self.url is not None
        name = f"nova_ws_bench_{part}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        create = f"CREATE DATABASE {name}"
        if self.backend == "mysql":
            create += " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        try:
            with admin.connect() as connection:
                connection.execute(text(create))
        except Exception as exc:
            admin.dispose()
            shown = self.url.render_as_string(hide_password=True)
            raise ScratchError(f"cannot create a database on {shown}: {exc}") from exc
        url = self.url.set(database=name).render_as_string(hide_password=False)
        try:
            _migrate(url)
            yield url
        finally:
            drop = f"DROP DATABASE {name}"
            if self.backend == "postgresql":
                drop += " WITH (FORCE)"
            with admin.connect() as connection:
                connection.execute(text(drop))
            admin.dispose()


def _engine(url: str) -> Engine:
    return create_engine_from_config(DatabaseSection(connection=url))


def _migrate(url: str) -> None:
    engine = _engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def _check_empty(url: str) -> None:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                count = connection.execute(select(func.count()).select_from(table)).scalar_one()
                if count:
                    raise ScratchError(
                        f"{make_url(url).render_as_string(hide_password=True)} is not empty "
                        f"({count} rows in {table.name}); give a server URL without "
                        f"a database name to use a temporary database")
    finally:
        engine.dispose()


def _empty(url: str) -> None:
    """Delete every row the benchmark wrote (the database was empty before)."""
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(delete(table))
    finally:
        engine.dispose()
