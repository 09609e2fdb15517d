"""
From C{[database]} to an C{Engine}, and L{Database}: the one way code on the
reactor thread runs database work.

Query functions (L{nova_ws.db.queries}) are plain and blocking: they take a
C{Session} and return frozen dataclasses. L{Database.run} calls one in a
transaction on a thread of the Database's own pool and hands back a
C{Deferred}, so blocking calls never run on the reactor thread::

    db = Database(create_engine_from_config(config.database,
                                            state_path=config.default.state_path),
                  reactor)
    db.start()
    instance = await db.run(instances.get_instance, uuid)
"""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool
from twisted.application.service import Service
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from nova_ws.config import DatabaseSection

P = ParamSpec("P")
R = TypeVar("R")

#: Drivers used when a URL names only the database (C{mysql://}, C{postgresql://}).
DEFAULT_DRIVERS = {"mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql",
                   "postgresql": "postgresql+psycopg"}
#: MySQL/MariaDB error codes worth a retry: deadlock found.
MYSQL_RETRY_CODES = frozenset({1213})
#: PostgreSQL SQLSTATEs worth a retry: serialization failure, deadlock detected.
POSTGRESQL_RETRY_STATES = frozenset({"40001", "40P01"})
SQLITE_BUSY_TIMEOUT = 30.0


def database_url(section: DatabaseSection, state_path: str = ".") -> URL:
    """
    The URL of C{[database] connection}.

    A driverless C{mysql://}, C{mariadb://} or C{postgresql://} gets the
    driver nova_ws ships (PyMySQL, psycopg 3); MariaDB/MySQL gets
    C{charset=utf8mb4} unless a charset is given; a relative SQLite file path
    is taken relative to C{state_path} (C{[DEFAULT] state_path}).
    """
    url = make_url(section.connection)
    if url.drivername in DEFAULT_DRIVERS:
        url = url.set(drivername=DEFAULT_DRIVERS[url.drivername])
    backend = url.get_backend_name()
    if backend in ("mysql", "mariadb") and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    if backend == "sqlite" and not _sqlite_in_memory(url) and url.database:
        if not os.path.isabs(url.database) and not url.database.startswith("file:"):
            url = url.set(database=os.path.join(state_path, url.database))
    return url


def _sqlite_in_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def create_engine_from_config(section: DatabaseSection, *, state_path: str = ".") -> Engine:
    """
    An C{Engine} for C{[database]}, with the pool options applied.

      - SQLite: foreign keys on, WAL journal, a busy timeout, and real
        transactions (C{BEGIN} when a session begins, so SAVEPOINT and
        transactional DDL work). In-memory SQLite (C{sqlite://}) keeps one
        connection (for tests; L{Database} then runs one thread).
      - MariaDB/MySQL (C{mysql+pymysql://}): utf8mb4, C{pool_pre_ping},
        C{sql_mode=TRADITIONAL} (bad values are errors, not truncations).
      - PostgreSQL (C{postgresql+psycopg://}): C{pool_pre_ping}.
    """
    url = database_url(section, state_path)
    backend = url.get_backend_name()
    options: dict[str, Any] = {}
    if backend == "sqlite" and _sqlite_in_memory(url):
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        options.update(
            pool_size=section.max_pool_size,
            max_overflow=section.max_overflow,
            pool_timeout=section.pool_timeout,
            pool_recycle=section.connection_recycle_time,
        )
    if backend == "sqlite":
        options.setdefault("connect_args", {})["timeout"] = SQLITE_BUSY_TIMEOUT
    else:
        options["pool_pre_ping"] = True
    engine = create_engine(url, **options)
    if backend == "sqlite":
        _sqlite_events(engine)
    elif backend in ("mysql", "mariadb"):
        _mysql_events(engine)
    return engine


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def _mysql_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET SESSION sql_mode = 'TRADITIONAL'")
        cursor.close()


def is_retryable(error: BaseException) -> bool:
    """
    Whether C{error} means "the transaction lost a race; run it again":
    a deadlock (MySQL 1213, PostgreSQL 40P01), a serialization failure
    (PostgreSQL 40001), or a locked SQLite database.
    """
    if not isinstance(error, DBAPIError):
        return False
    orig = error.orig
    if getattr(orig, "sqlstate", None) in POSTGRESQL_RETRY_STATES:
        return True
    if type(orig).__module__.startswith("pymysql"):
        args: tuple[Any, ...] = getattr(orig, "args", ())
        return bool(args) and args[0] in MYSQL_RETRY_CODES
    if isinstance(orig, sqlite3.OperationalError):
        return "database is locked" in str(orig) or "database is busy" in str(orig)
    return False


def _default_threads(engine: Engine) -> int:
    if isinstance(engine.pool, StaticPool) or engine.dialect.name == "sqlite":
        return 1  # SQLite has one writer: queueing here beats "database is locked"
    if isinstance(engine.pool, QueuePool):
        return max(1, engine.pool.size())
    return 5


class Database:
    """
    Runs query functions in transactions, on a thread pool it owns.

    Call L{start} before the first result is awaited (work queued before
    then waits for it) and L{stop} when done; a started Database also
    stops when the reactor shuts down. L{DatabaseService} does both for a
    service's C{MultiService}.

    @param engine: from L{create_engine_from_config}; the caller disposes of it.
    @param reactor: provides C{IReactorFromThreads}, C{IReactorTime} and
        C{IReactorCore}.
    @param threadpool: the pool to use (default: one with as many threads as
        the engine's connection pool holds, so a thread never waits for a
        connection). The Database starts and stops it.
    @param max_retries: how many times a transaction that lost a race
        (L{is_retryable}) is run again before its error is returned.
    @param retry_interval: seconds before the first retry; it doubles at
        each retry, with jitter, up to 1 second.
    """

    def __init__(
        self,
        engine: Engine,
        reactor: Any,
        threadpool: ThreadPool | None = None,
        *,
        max_retries: int = 5,
        retry_interval: float = 0.01,
    ) -> None:
        self.engine = engine
        self._reactor = reactor
        self._pool = threadpool or ThreadPool(0, _default_threads(engine), "nova_ws.db")
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._max_retries = max_retries
        self._retry_interval = retry_interval
        self._shutdown_trigger: Any = None

    def start(self) -> None:
        """
        Start the thread pool, and stop it at reactor shutdown unless
        L{stop} comes first. A stopped Database does not start again.
        """
        if self._pool.started:
            return
        self._pool.start()
        self._shutdown_trigger = self._reactor.addSystemEventTrigger(
            "during", "shutdown", self._stop_at_shutdown
        )

    def stop(self) -> None:
        """
        Stop the thread pool, waiting for the transactions in flight.
        """
        if self._shutdown_trigger is not None:
            self._reactor.removeSystemEventTrigger(self._shutdown_trigger)
            self._shutdown_trigger = None
        if self._pool.started:
            self._pool.stop()

    def _stop_at_shutdown(self) -> None:
        self._shutdown_trigger = None
        self.stop()

    def run(
        self, fn: Callable[Concatenate[Session, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> Deferred[R]:
        """
        Call C{fn(session, *args, **kwargs)} on a pool thread inside a
        transaction: committed when C{fn} returns, rolled back when it raises.

        A transaction that loses a race (deadlock, serialization failure,
        locked SQLite) is rolled back and run again, up to C{max_retries}
        times, so C{fn} must do nothing outside the database that cannot be
        done twice.

        @return: a Deferred that fires, on the reactor thread, with what
            C{fn} returned (return plain values, never ORM objects), or fails
            with what it raised.
        """
        return ensureDeferred(self._run(fn, args, kwargs))

    async def _run(self, fn: Callable[..., R], args: Any, kwargs: Any) -> R:
        retries = 0
        while True:
            try:
                return await deferToThreadPool(
                    self._reactor, self._pool, self._transaction, fn, args, kwargs
                )
            except DBAPIError as e:
                if retries >= self._max_retries or not is_retryable(e):
                    raise
            retries += 1
            delay = min(1.0, self._retry_interval * 2 ** (retries - 1))
            await deferLater(self._reactor, delay * random.uniform(0.5, 1.0), lambda: None)

    def _transaction(self, fn: Callable[..., R], args: Any, kwargs: Any) -> R:
        with self._sessions() as session, session.begin():
            return fn(session, *args, **kwargs)


class DatabaseService(Service):
    """
    Starts a L{Database} with its parent service and stops it with it.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    def startService(self) -> None:
        super().startService()
        self.database.start()

    def stopService(self) -> Deferred[None] | None:
        self.database.stop()
        return super().stopService()


def database_service(section: DatabaseSection, state_path: str, reactor: Any,
                     parent: Any) -> Database:
    """A Database for *section*, started and stopped with the service *parent*."""
    db = Database(create_engine_from_config(section, state_path=state_path), reactor,
                  max_retries=section.db_max_retries)
    DatabaseService(db).setServiceParent(parent)
    return db
