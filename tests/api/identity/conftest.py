"""
Fixtures: the Identity API over a migrated SQLite file, bootstrapped with an
admin and a demo user, driven in memory through StubTreq.

The Database runs its transactions inline (L{InlineThreadPool}) so a
request completes within StubTreq's own pumping; the API's clock is a
L{Clock} the tests advance to expire tokens.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from treq.testing import StubTreq
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.web.resource import Resource

from nova_ws.api.identity import IdentityApi
from nova_ws.config import DatabaseSection
from nova_ws.db import migrate
from nova_ws.db.engine import Database, create_engine_from_config
from nova_ws.db.queries import identity

PUBLIC_URL = "http://cloud.example:8774"
BASE = PUBLIC_URL + "/identity"
ADMIN_PASSWORD = "admin-secret"
DEMO_PASSWORD = "demo-secret"
START = 1_900_000_000.0  # 2030-03-17, so tokens carry realistic times


class InlineThreadPool:
    """A thread pool that runs each call at once, on the calling thread."""

    started = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def callInThreadWithCallback(self, onResult: Callable[[bool, Any], None],
                                 func: Callable[..., Any], *args: Any, **kw: Any) -> None:
        try:
            result = func(*args, **kw)
        except BaseException as e:  # noqa: B036 - handed to the Deferred as a Failure
            onResult(False, Failure(e))
        else:
            onResult(True, result)


class InlineReactor(Clock):
    """A Clock whose callFromThread runs at once (the pool is inline too)."""

    def callFromThread(self, f: Callable[..., Any], *args: Any, **kw: Any) -> None:
        f(*args, **kw)

    def addSystemEventTrigger(self, *args: Any, **kw: Any) -> object:
        return object()

    def removeSystemEventTrigger(self, trigger: object) -> None:
        pass


@dataclass
class Cloud:
    """The API under test and what the tests need to drive it."""

    client: StubTreq
    clock: Clock
    db: Database
    boot: identity.Bootstrapped


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database in a temporary file, bootstrapped."""
    engine = create_engine_from_config(
        DatabaseSection(connection=f"sqlite:///{tmp_path / 'nova.sqlite'}"))
    migrate.upgrade(engine)
    db = Database(engine, InlineReactor(), InlineThreadPool())  # type: ignore[arg-type]
    db.start()
    yield db
    db.stop()
    engine.dispose()


@pytest.fixture
def cloud(database: Database) -> Cloud:
    """The Identity API at PUBLIC_URL with an admin and a demo user."""
    clock = Clock()
    clock.advance(START)
    result: list[identity.Bootstrapped] = []
    database.run(identity.bootstrap, admin_password=ADMIN_PASSWORD,
                 demo_password=DEMO_PASSWORD).addCallback(result.append)
    api = IdentityApi(database, clock, public_url=PUBLIC_URL)
    root = Resource()
    root.putChild(b"identity", api.resource())  # mounted as the API server mounts it
    return Cloud(StubTreq(root), clock, database, result[0])


@dataclass(frozen=True)
class Answer:
    """A response: status, JSON body (None if empty) and headers."""

    code: int
    body: Any
    headers: Any


async def call(cloud: Cloud, method: str, path: str, body: Any = None, *,
               token: str | None = None, raw: bytes | None = None,
               headers: dict[str, str] | None = None) -> Answer:
    """Send one request to the API and read the answer."""
    send = {k: [v] for k, v in (headers or {}).items()}
    if token is not None:
        send["X-Auth-Token"] = [token]
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if data is not None:
        send["Content-Type"] = ["application/json"]
    client: Any = cloud.client
    response = await client.request(method, BASE + path, data=data, headers=send)
    content = await response.content()
    return Answer(response.code, json.loads(content) if content else None, response.headers)


def password_auth(name: str, password: str, project: str | None = None,
                  domain: str = "Default") -> dict[str, Any]:
    """A password authentication body, scoped by project name when given."""
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"name": domain}, "password": password}}}}
    if project is not None:
        auth["scope"] = {"project": {"name": project, "domain": {"name": domain}}}
    return {"auth": auth}


async def login(cloud: Cloud, name: str = "admin", password: str = ADMIN_PASSWORD,
                project: str | None = "admin") -> tuple[str, Any]:
    """A token and its body; fails the test unless the login succeeds."""
    answer = await call(cloud, "POST", "/v3/auth/tokens", password_auth(name, password, project))
    assert answer.code == 201, answer.body
    return answer.headers.getRawHeaders("X-Subject-Token")[0], answer.body["token"]
