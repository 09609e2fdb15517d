"""
Tests for L{nova_ws.db.engine.Database}: work runs in transactions on the
Database's own threads, never on the reactor thread, and transactions that
lose a race are run again.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import psycopg.errors
import pymysql.err
import pytest
import pytest_twisted
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from twisted.internet.testing import MemoryReactor
from twisted.python import threadable
from twisted.python.threadpool import ThreadPool

from nova_ws.config import DatabaseSection
from nova_ws.db import migrate
from nova_ws.db.engine import Database, DatabaseService, create_engine_from_config, is_retryable
from nova_ws.db.errors import Conflict
from nova_ws.db.models import ComputeNode
from nova_ws.db.queries import compute_nodes, flavors
from tests.db.conftest import NOW


def _reactor() -> Any:
    from twisted.internet import reactor

    return reactor


def _database(engine: Engine, **kwargs: Any) -> Database:
    database = Database(engine, _reactor(), retry_interval=0.001, **kwargs)
    database.start()
    return database


def _error(orig: BaseException) -> OperationalError:
    return OperationalError("UPDATE ...", {}, orig)


@pytest.mark.parametrize(
    "error, retry",
    [
        (_error(pymysql.err.OperationalError(1213, "Deadlock found")), True),
        (_error(pymysql.err.OperationalError(1205, "Lock wait timeout")), False),
        (_error(pymysql.err.OperationalError(2013, "Lost connection")), False),
        (_error(psycopg.errors.DeadlockDetected("deadlock detected")), True),
        (_error(psycopg.errors.SerializationFailure("could not serialize")), True),
        (_error(psycopg.errors.UniqueViolation("duplicate key")), False),
        (_error(sqlite3.OperationalError("database is locked")), True),
        (_error(sqlite3.OperationalError("no such table: x")), False),
        (IntegrityError("INSERT ...", {}, sqlite3.IntegrityError("UNIQUE")), False),
        (ValueError("not a database error"), False),
    ],
)
def test_is_retryable(error: BaseException, retry: bool) -> None:
    """
    When an error is a deadlock, serialization failure or locked SQLite, it is
    worth a retry; nothing else is.
    """
    assert is_retryable(error) is retry


@pytest_twisted.ensureDeferred
async def test_never_on_reactor_thread(engine: Engine) -> None:
    """
    When work runs through Database.run, it runs on a pool thread, not the reactor's.
    """
    database = _database(engine)
    try:
        assert threadable.isInIOThread()

        def where(session: Session) -> tuple[bool, int]:
            return threadable.isInIOThread(), threading.get_ident()

        for in_io_thread, ident in [await database.run(where) for _ in range(5)]:
            assert in_io_thread is False
            assert ident != threading.get_ident()
    finally:
        database.stop()


@pytest_twisted.ensureDeferred
async def test_commit_on_success(engine: Engine) -> None:
    """
    When the function returns, its transaction is committed and its result delivered.
    """
    database = _database(engine)
    try:
        created = await database.run(flavors.create_flavor, name="a", flavorid="1", vcpus=1,
                                     memory_mb=64, now=NOW)
        assert created.name == "a"
        with Session(engine) as session:
            assert flavors.get_flavor(session, "1") == created
    finally:
        database.stop()


@pytest_twisted.ensureDeferred
async def test_rollback_on_error(engine: Engine) -> None:
    """
    When the function raises, its transaction is rolled back and the error delivered.
    """
    database = _database(engine)

    def create_then_fail(session: Session) -> None:
        flavors.create_flavor(session, name="a", flavorid="1", vcpus=1, memory_mb=64)
        raise RuntimeError("boom")

    try:
        with pytest.raises(RuntimeError, match="boom"):
            await database.run(create_then_fail)
        await database.run(flavors.create_flavor, name="b", flavorid="2", vcpus=1,
                           memory_mb=64)
        with pytest.raises(Conflict):
            await database.run(flavors.create_flavor, name="b", flavorid="3", vcpus=1,
                               memory_mb=64)
        names = await database.run(lambda s: [f.name for f in flavors.list_flavors(s)])
        assert names == ["b"]
    finally:
        database.stop()


def _flaky(fails: int, orig: BaseException) -> tuple[Callable[[Session], int], list[int]]:
    """
    A function that writes a flavor, then fails with C{orig} C{fails} times.
    """
    calls: list[int] = []

    def fn(session: Session) -> int:
        calls.append(1)
        flavors.create_flavor(session, name="a", flavorid="1", vcpus=1, memory_mb=64)
        if len(calls) <= fails:
            raise _error(orig)
        return len(calls)

    return fn, calls


@pytest_twisted.ensureDeferred
async def test_retries_lost_races(engine: Engine) -> None:
    """
    When a transaction deadlocks twice, it is rolled back and run again until it commits.
    """
    database = _database(engine, max_retries=3)
    fn, calls = _flaky(2, pymysql.err.OperationalError(1213, "Deadlock found"))
    try:
        assert await database.run(fn) == 3
        assert len(await database.run(flavors.list_flavors)) == 1
    finally:
        database.stop()


@pytest_twisted.ensureDeferred
async def test_gives_up_after_max_retries(engine: Engine) -> None:
    """
    When a transaction keeps losing, the error comes back after max_retries retries.
    """
    database = _database(engine, max_retries=2)
    fn, calls = _flaky(10, psycopg.errors.SerializationFailure("could not serialize"))
    try:
        with pytest.raises(OperationalError):
            await database.run(fn)
        assert len(calls) == 3
        assert await database.run(flavors.list_flavors) == []
    finally:
        database.stop()


@pytest_twisted.ensureDeferred
async def test_other_errors_not_retried(engine: Engine) -> None:
    """
    When a transaction fails for another reason, it is not run again.
    """
    database = _database(engine)
    fn, calls = _flaky(10, sqlite3.OperationalError("no such table: x"))
    try:
        with pytest.raises(OperationalError):
            await database.run(fn)
        assert len(calls) == 1
    finally:
        database.stop()


def _nodes(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for n in (1, 2):
            compute_nodes.upsert_compute_node(
                session, host=f"h{n}", hypervisor_hostname=f"n{n}", vcpus=1, memory_mb=1,
                local_gb=1, uuid=f"00000000-0000-0000-0000-00000000000{n}")


def _bump(session: Session, host: str) -> None:
    session.execute(update(ComputeNode).where(ComputeNode.host == host)
                    .values(running_vms=ComputeNode.running_vms + 1))


def _running(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return list(session.scalars(select(ComputeNode.running_vms).order_by(ComputeNode.id)))


@pytest.mark.parametrize("backend", ["mysql", "postgresql"], indirect=True)
@pytest_twisted.ensureDeferred
async def test_real_deadlock_is_retried(engine: Engine) -> None:
    """
    When two transactions lock two rows in opposite orders, the server kills
    one as a deadlock; it is run again and both changes land.
    """
    _nodes(engine)
    database = _database(engine)
    both_hold_one = threading.Barrier(2, timeout=30)
    attempts: list[str] = []

    def lock_in_order(session: Session, first: str, second: str) -> None:
        attempts.append(first)
        if engine.dialect.name == "postgresql":
            session.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
        _bump(session, first)
        if attempts.count(first) == 1:
            both_hold_one.wait()
        _bump(session, second)

    try:
        one = database.run(lock_in_order, "h1", "h2")
        two = database.run(lock_in_order, "h2", "h1")
        await one
        await two
        assert len(attempts) == 3
        assert _running(engine) == [2, 2]
    finally:
        database.stop()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest_twisted.ensureDeferred
async def test_stale_sqlite_snapshot_is_retried(engine: Engine) -> None:
    """
    When a SQLite transaction read before another committed a write, its own
    write fails as "database is locked"; it is run again and lands.
    """
    _nodes(engine)
    # two writers at once, as two processes sharing the file would be (one
    # Database on SQLite runs a single thread and never races itself)
    database = _database(engine, threadpool=ThreadPool(2, 2))
    has_read = threading.Event()
    other_committed = threading.Event()
    attempts: list[int] = []

    def read_then_write(session: Session) -> None:
        attempts.append(1)
        session.execute(select(ComputeNode.id)).all()
        if len(attempts) == 1:
            has_read.set()
            assert other_committed.wait(30)
        _bump(session, "h1")

    def write(session: Session) -> None:
        assert has_read.wait(30)
        _bump(session, "h2")

    try:
        first = database.run(read_then_write)
        second = database.run(write)
        second.addCallback(lambda _: other_committed.set())
        await second
        await first
        assert len(attempts) == 2
        assert _running(engine) == [1, 1]
    finally:
        database.stop()


def test_stops_with_reactor(engine: Engine) -> None:
    """
    When the reactor shuts down, a started Database stops its threads.
    """
    reactor = MemoryReactor()
    database = Database(engine, reactor)
    database.start()
    assert database._pool.started
    [(function, args, kwargs)] = reactor.triggers["during"]["shutdown"]
    function(*args, **kwargs)
    assert not database._pool.started


def test_service(engine: Engine) -> None:
    """
    When its service starts and stops, the Database starts and stops.
    """
    database = Database(engine, _reactor())
    service = DatabaseService(database)
    service.startService()
    assert database._pool.started
    service.stopService()
    assert not database._pool.started


@pytest_twisted.ensureDeferred
async def test_in_memory_sqlite() -> None:
    """
    When the connection is sqlite:// (in memory, for tests), the Database runs
    one thread on one shared connection, so the schema and rows persist.
    """
    engine = create_engine_from_config(DatabaseSection(connection="sqlite://"))
    database = Database(engine, _reactor())
    database.start()
    try:
        migrate.upgrade(engine)
        await database.run(flavors.seed_default_flavors)
        assert len(await database.run(flavors.list_flavors)) == 5
        assert database._pool.max == 1
    finally:
        database.stop()
        engine.dispose()
