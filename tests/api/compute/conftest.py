"""
Fixtures: the Compute API over a migrated SQLite file, with an admin, a
member and a reader of the demo project and a member of another project,
driven in memory through StubTreq; the conductor and compute hosts are a
recording caller at our own RPC boundary.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from autobahn.wamp.exception import ApplicationError
from treq.testing import StubTreq
from twisted.internet.defer import Deferred, fail, maybeDeferred, succeed

from nova_ws.api.compute.app import ComputeApi
from nova_ws.api.root import ApiRoot
from nova_ws.db.engine import Database
from nova_ws.db.queries import flavors, identity, images
from tests.api.identity.conftest import database  # noqa: F401 - a fixture used here

PUBLIC_URL = "http://cloud.example:8774"
BASE = PUBLIC_URL + "/compute"
IMAGE = "11111111-2222-3333-4444-555555555555"


@dataclass
class RecordingCaller:
    """Records every call; answers from *answers* (uri -> function), else None."""

    answers: dict[str, Callable[..., Any]] = field(default_factory=dict)
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)

    def call(self, procedure: str, *args: Any, **kwargs: Any) -> Deferred[Any]:
        self.calls.append((procedure, args, kwargs))
        answer = self.answers.get(procedure)
        try:
            return succeed(answer(*args, **kwargs) if answer else None)
        except ApplicationError as exc:
            return fail(exc)

    def named(self, procedure: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        """The arguments of each call to *procedure*."""
        return [(a, k) for p, a, k in self.calls if p == procedure]


@dataclass
class Api:
    """The API under test, its database, its caller and a token per persona."""

    client: StubTreq
    db: Database
    caller: RecordingCaller
    tokens: dict[str, str]
    projects: dict[str, str]
    compute: ComputeApi | None = None


def _people(session: Any) -> tuple[dict[str, str], dict[str, str]]:
    boot = identity.bootstrap(session, admin_password="a", demo_password="d")
    assert boot.demo_project is not None and boot.demo_user is not None
    reader_role = identity.find_role(session, "reader")
    member_role = identity.find_role(session, "member")
    reader = identity.create_user(session, name="reader", password="r")
    identity.assign_role(session, reader.id, boot.demo_project.id, reader_role.id)
    alt = identity.create_project(session, name="alt")
    other = identity.create_user(session, name="other", password="o")
    identity.assign_role(session, other.id, alt.id, member_role.id)
    tokens = {
        "admin": identity.issue_token(session, boot.admin_user.id, boot.admin_project.id)[0],
        "member": identity.issue_token(session, boot.demo_user.id, boot.demo_project.id)[0],
        "reader": identity.issue_token(session, reader.id, boot.demo_project.id)[0],
        "other": identity.issue_token(session, other.id, alt.id)[0],
        "unscoped": identity.issue_token(session, boot.demo_user.id)[0]}
    flavors.seed_default_flavors(session)
    images.create_image(session, name="cirros", uuid=IMAGE)
    return tokens, {"demo": boot.demo_project.id, "admin": boot.admin_project.id,
                    "alt": alt.id}


@pytest.fixture
def api(database: Database) -> Api:  # noqa: F811 - the imported fixture
    """The API root with the Compute API on the test database."""
    found: list[Any] = []
    database.run(_people).addCallback(found.append)
    tokens, projects = found[0]
    caller = RecordingCaller()
    compute = ComputeApi(PUBLIC_URL, db=database, client=caller)
    compute.keypairs.offload = maybeDeferred  # key generation inline, as the database runs
    root = ApiRoot(compute)
    return Api(StubTreq(root.resource()), database, caller, tokens, projects, compute)


@dataclass(frozen=True)
class Answer:
    """A response: status, JSON body (None if empty) and headers."""

    code: int
    body: Any
    headers: Any


async def call(api: Api, method: str, path: str, body: Any = None, *,
               who: str | None = "member", version: str | None = None,
               raw: bytes | None = None) -> Answer:
    """Send one request as *who* (a persona's token) and read the answer."""
    headers: dict[str, list[str]] = {}
    if who is not None:
        headers["X-Auth-Token"] = [api.tokens.get(who, who)]
    if version is not None:
        headers["OpenStack-API-Version"] = [f"compute {version}"]
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if data is not None:
        headers["Content-Type"] = ["application/json"]
    client: Any = api.client
    response = await client.request(method, BASE + "/v2.1" + path, data=data, headers=headers)
    content = await response.content()
    return Answer(response.code, json.loads(content) if content else None, response.headers)


def server_body(**extra: Any) -> dict[str, Any]:
    """A valid create body, with *extra* fields."""
    return {"server": {"name": "vm", "flavorRef": "1", "imageRef": IMAGE, **extra}}


async def boot(api: Api, who: str = "member", **extra: Any) -> str:
    """Create one server; fail the test unless it is accepted."""
    answer = await call(api, "POST", "/servers", server_body(**extra), who=who)
    assert answer.code == 202, answer.body
    server_id: str = answer.body["server"]["id"]
    return server_id
