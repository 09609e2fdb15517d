"""nova-consoleauth over a real router, with a fake-driver compute host and SQLite.

Tokens are issued for a running guest's console, validated (and consumed)
with a fresh check against the compute host, refused when unknown, reused,
expired, of another type or pointing at a moved console, and revoked (with
an event the proxies hear) when the instance stops or is deleted.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from sqlalchemy import text
from twisted.internet.defer import Deferred, DeferredList

from nova_ws.auth.consoleauth import rpcapi
from nova_ws.auth.consoleauth.manager import revocation_reason
from nova_ws.testing.cloud import create_rows, start_cloud, stop_cloud, wait_settled


@pytest_twisted.async_yield_fixture
async def cloud(tmp_path: Path) -> Any:
    c = await start_cloud(tmp_path, 1, consoleauth=True)
    yield c
    await stop_cloud(c)


async def running(cloud: Any) -> str:
    (uuid,) = await create_rows(cloud, 1)
    views = await wait_settled(cloud, [uuid])
    assert views[uuid]["vm_state"] == "active"
    return uuid


async def authorize(cloud: Any, uuid: str, console_type: str = "novnc") -> str:
    grant = await cloud.admin.call(rpcapi.AUTHORIZE, uuid, console_type, user_id="u1",
                                   project_id="p-test")
    return str(grant["token"])


async def refused(d: Deferred[Any]) -> ApplicationError:
    try:
        await d
    except ApplicationError as exc:
        return exc
    raise AssertionError("the call succeeded")


@pytest_twisted.ensureDeferred
async def test_token_is_random_and_only_its_hash_is_stored(cloud: Any) -> None:
    """When a token is issued, it has 128+ random bits and only its SHA-256 is stored."""
    uuid = await running(cloud)
    tokens = {await authorize(cloud, uuid) for _ in range(3)}
    assert len(tokens) == 3
    assert all(len(t) >= 22 for t in tokens)  # 22 URL-safe characters hold 128 bits

    def dump(session: Any) -> str:
        rows = session.execute(text("SELECT * FROM console_auth_tokens")).fetchall()
        return repr(rows)

    stored = await cloud.db().run(dump)
    for token in tokens:
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored


@pytest_twisted.ensureDeferred
async def test_validate_returns_the_live_target_once(cloud: Any) -> None:
    """When a token is validated, it leads to the guest's VNC port; a second use is refused."""
    uuid = await running(cloud)
    token = await authorize(cloud, uuid)
    target = await cloud.admin.call(rpcapi.VALIDATE, token, "novnc")
    guest = cloud.computes[0].driver.guests[uuid]
    assert (target["instance_uuid"], target["port"]) == (uuid, guest.console.port)
    assert target["user_id"] == "u1" and target["project_id"] == "p-test"
    assert 590 < target["expires_in"] <= 600
    error = await refused(cloud.admin.call(rpcapi.VALIDATE, token, "novnc"))
    assert error.error == rpcapi.TOKEN_INVALID and error.kwargs["status"] == 401


@pytest_twisted.ensureDeferred
async def test_racing_validations_consume_once(cloud: Any) -> None:
    """When ten proxies validate one single-use token at once, exactly one succeeds."""
    uuid = await running(cloud)
    token = await authorize(cloud, uuid)
    results = await DeferredList(
        [cloud.admin.call(rpcapi.VALIDATE, token, "novnc") for _ in range(10)],
        consumeErrors=True)
    assert sum(1 for ok, _ in results if ok) == 1


@pytest_twisted.ensureDeferred
async def test_refusals(cloud: Any) -> None:
    """When a token is unknown, malformed, of another type or expired, validation is refused."""
    uuid = await running(cloud)
    unknown = await refused(cloud.admin.call(rpcapi.VALIDATE, "x" * 43, "novnc"))
    assert unknown.error == rpcapi.TOKEN_INVALID and unknown.kwargs["status"] == 401
    malformed = await refused(cloud.admin.call(rpcapi.VALIDATE, "short", "novnc"))
    assert malformed.error == rpcapi.TOKEN_INVALID
    token = await authorize(cloud, uuid)
    other = await refused(cloud.admin.call(rpcapi.VALIDATE, token, "spice-html5"))
    assert other.kwargs["status"] == 403 and "novnc" in other.args[0]
    manager = cloud.consoleauth.manager
    token = await authorize(cloud, uuid)
    real_now = manager._now
    manager._now = lambda: real_now() + timedelta(seconds=601)
    try:
        expired = await refused(cloud.admin.call(rpcapi.VALIDATE, token, "novnc"))
    finally:
        manager._now = real_now
    assert expired.error == rpcapi.TOKEN_INVALID


@pytest_twisted.ensureDeferred
async def test_moved_console_is_refused(cloud: Any) -> None:
    """When the console no longer listens where the token was bound, the token is refused."""
    uuid = await running(cloud)
    token = await authorize(cloud, uuid)
    await cloud.db().run(lambda s: s.execute(text(
        "UPDATE console_auth_tokens SET port = port + 1")))
    error = await refused(cloud.admin.call(rpcapi.VALIDATE, token, "novnc"))
    assert error.kwargs["status"] == 403 and "moved" in error.args[0]


@pytest_twisted.ensureDeferred
async def test_no_console_for_a_stopped_server(cloud: Any) -> None:
    """When the instance is not active, no token is issued."""
    uuid = await running(cloud)
    await cloud.admin.call("nova.conductor.instance_action", uuid, "stop")
    error = await refused(cloud.admin.call(rpcapi.AUTHORIZE, uuid, "novnc", user_id="u1",
                                           project_id="p-test"))
    assert error.error == rpcapi.CONSOLE_UNAVAILABLE
    missing = await refused(cloud.admin.call(rpcapi.AUTHORIZE, "no-such", "novnc",
                                             user_id="u1", project_id="p-test"))
    assert missing.error == rpcapi.CONSOLE_UNAVAILABLE


@pytest.mark.parametrize("action, reason", [("delete", "instance deleted"),
                                            ("stop", "instance stopped")])
@pytest_twisted.ensureDeferred
async def test_instance_changes_revoke_tokens(cloud: Any, action: str, reason: str) -> None:
    """When an instance is deleted or stopped, its tokens go and the revocation is published."""
    uuid = await running(cloud)
    token = await authorize(cloud, uuid)
    heard: Deferred[dict[str, Any]] = Deferred()
    sub = await cloud.admin.subscribe(
        lambda event: heard.called or heard.callback(event), rpcapi.REVOKED)
    await cloud.admin.call("nova.conductor.instance_action", uuid, action)
    event = await heard
    assert event == {"instance_uuid": uuid, "reason": reason}
    await sub.unsubscribe()
    error = await refused(cloud.admin.call(rpcapi.VALIDATE, token, "novnc"))
    assert error.error == rpcapi.TOKEN_INVALID


@pytest_twisted.ensureDeferred
async def test_explicit_revoke(cloud: Any) -> None:
    """When an admin revokes an instance's consoles, its tokens stop working."""
    uuid = await running(cloud)
    tokens = [await authorize(cloud, uuid) for _ in range(2)]
    assert await cloud.admin.call(rpcapi.REVOKE, uuid, "by hand") == 2
    for token in tokens:
        assert (await refused(cloud.admin.call(rpcapi.VALIDATE, token, "novnc"))).error \
            == rpcapi.TOKEN_INVALID


def test_revocation_reasons() -> None:
    """Which instance states end consoles, and which leave them."""
    assert revocation_reason({"vm_state": "active", "task_state": None}) is None
    assert revocation_reason({"vm_state": "paused", "task_state": None}) is None
    assert revocation_reason({"vm_state": "active", "task_state": "rebooting"}) is None
    assert revocation_reason({"vm_state": "active", "task_state": "deleting"}) == \
        "instance deleted"
    assert revocation_reason({"vm_state": "active", "task_state": "migrating"}) == \
        "instance moved"
    assert revocation_reason({"vm_state": "stopped", "task_state": None}) == "instance stopped"


@pytest_twisted.ensureDeferred
async def test_multi_use_tokens(tmp_path: Path) -> None:
    """When [consoleauth] multi_use is set, a token validates until it expires, as Nova's do."""
    c = await start_cloud(tmp_path, 1, consoleauth=True,
                          config_text="[consoleauth]\nmulti_use = true\ntoken_ttl = 30\n")
    try:
        uuid = await running(c)
        token = await authorize(c, uuid)
        for _ in range(3):
            target = await c.admin.call(rpcapi.VALIDATE, token, "novnc")
            assert target["instance_uuid"] == uuid and target["expires_in"] <= 30
    finally:
        await stop_cloud(c)
