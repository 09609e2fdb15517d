"""The WAMP meta API: session, registration and subscription procedures and events."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import RegisterOptions, SubscribeOptions
from twisted.internet.defer import Deferred


@pytest_twisted.ensureDeferred
async def test_session_meta(connect: Any) -> None:
    """When sessions join and leave, count/list/get see them and on_join/on_leave fire."""
    admin = await connect()
    joins: list[Any] = []
    leaves: list[Any] = []
    left: Deferred[None] = Deferred()
    await admin.subscribe(lambda d: joins.append(d), "wamp.session.on_join")

    def on_leave(*args: Any) -> None:
        leaves.append(args)
        left.callback(None)

    await admin.subscribe(on_leave, "wamp.session.on_leave")
    bob = await connect(authmethods=["ticket"], authid="bob", ticket="bob-ticket",
                        serializer="msgpack")
    assert await admin.call("wamp.session.count") == 2
    assert await admin.call("wamp.session.count", ["member"]) == 1
    assert sorted(await admin.call("wamp.session.list")) == sorted(
        [admin._session_id, bob._session_id])
    info = await admin.call("wamp.session.get", bob._session_id)
    assert (info["authid"], info["authrole"], info["authmethod"]) == ("bob", "member", "ticket")
    assert info["transport"]["peer"].startswith("tcp4:127.0.0.1:")
    with pytest.raises(ApplicationError) as err:
        await admin.call("wamp.session.get", 12345)
    assert err.value.error == "wamp.error.no_such_session"
    bob_id = bob._session_id
    bob.leave()
    await left
    assert [j["session"] for j in joins] == [bob_id]
    assert leaves == [(bob_id, "bob", "member")]


@pytest_twisted.ensureDeferred
async def test_session_kill(connect: Any) -> None:
    """When an admin kills a session, it is closed with the given reason."""
    admin = await connect()
    victim = await connect(authmethods=["ticket"], authid="bob", ticket="bob-ticket")
    await admin.call("wamp.session.kill", victim._session_id, reason="com.reason.bye",
                     message="go away")
    details = await victim.left
    assert details.reason == "com.reason.bye"
    assert await admin.call("wamp.session.count") == 1


@pytest_twisted.ensureDeferred
async def test_registration_meta(connect: Any) -> None:
    """When procedures are registered, list/lookup/match/get/list_callees describe them."""
    admin = await connect()
    events: list[tuple[str, Any]] = []
    for name in ("on_create", "on_register", "on_unregister", "on_delete"):
        await admin.subscribe(lambda *a, name=name: events.append((name, a)),
                              f"wamp.registration.{name}")
    callee = await connect()
    reg = await callee.register(lambda: 1, "com.meta.proc")
    await callee.register(lambda: 1, "com.meta.", RegisterOptions(match="prefix"))
    listing = await admin.call("wamp.registration.list")
    assert reg.id in listing["exact"] and len(listing["prefix"]) == 1
    assert await admin.call("wamp.registration.lookup", "com.meta.proc") == reg.id
    assert await admin.call("wamp.registration.match", "com.meta.other") == listing["prefix"][0]
    details = await admin.call("wamp.registration.get", reg.id)
    assert (details["uri"], details["match"], details["invoke"]) == ("com.meta.proc", "exact",
                                                                     "single")
    assert await admin.call("wamp.registration.list_callees", reg.id) == [callee._session_id]
    assert await admin.call("wamp.registration.count_callees", reg.id) == 1
    await reg.unregister()
    with pytest.raises(ApplicationError) as err:
        await admin.call("wamp.registration.get", reg.id)
    assert err.value.error == "wamp.error.no_such_registration"
    names = [e[0] for e in events if e[1][1] == reg.id or
             (isinstance(e[1][1], dict) and e[1][1]["id"] == reg.id)]
    assert names == ["on_create", "on_register", "on_unregister", "on_delete"]


@pytest_twisted.ensureDeferred
async def test_subscription_meta(connect: Any) -> None:
    """When clients subscribe, the subscription meta API lists and matches them."""
    admin = await connect()
    a, b = await connect(), await connect()
    sa = await a.subscribe(lambda: None, "com.meta.topic")
    await b.subscribe(lambda: None, "com.meta.topic")
    sp = await b.subscribe(lambda: None, "com.meta.", SubscribeOptions(match="prefix"))
    assert sa.id == (await admin.call("wamp.subscription.lookup", "com.meta.topic"))
    assert sorted(await admin.call("wamp.subscription.match", "com.meta.topic")) == sorted(
        [sa.id, sp.id])
    assert sorted(await admin.call("wamp.subscription.list_subscribers", sa.id)) == sorted(
        [a._session_id, b._session_id])
    assert await admin.call("wamp.subscription.count_subscribers", sa.id) == 2
    assert (await admin.call("wamp.subscription.get", sp.id))["match"] == "prefix"


@pytest_twisted.ensureDeferred
async def test_meta_api_is_admin_only(connect: Any) -> None:
    """When a non-admin calls or subscribes to wamp.* meta URIs, it is refused."""
    bob = await connect(authmethods=["ticket"], authid="bob", ticket="bob-ticket")
    with pytest.raises(ApplicationError) as err:
        await bob.call("wamp.session.list")
    assert err.value.error == "wamp.error.not_authorized"
    with pytest.raises(ApplicationError) as err:
        await bob.subscribe(lambda: None, "wamp.session.on_join")
    assert err.value.error == "wamp.error.not_authorized"
    admin = await connect()
    with pytest.raises(ApplicationError) as err:
        await admin.register(lambda: None, "wamp.session.fake")
    assert err.value.error == "wamp.error.not_authorized"
