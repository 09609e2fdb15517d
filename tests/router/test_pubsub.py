"""Publish and subscribe through a live router: basic and advanced broker features."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions, SubscribeOptions
from twisted.internet.defer import Deferred


class Inbox:
    """Collects events and fires when *n* have arrived."""

    def __init__(self) -> None:
        self.events: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self._waiters: list[tuple[int, Deferred[None]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.events.append((args, kwargs))
        for n, d in list(self._waiters):
            if len(self.events) >= n and not d.called:
                d.callback(None)

    def wait(self, n: int) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        self._waiters.append((n, d))
        if len(self.events) >= n:
            d.callback(None)
        return d


async def _sync(*sessions: Any) -> None:
    """Round-trip every session through the router so earlier events were delivered."""
    for s in sessions:
        sub = await s.subscribe(lambda: None, "com.public.sync")
        await sub.unsubscribe()


@pytest.mark.parametrize("transport,serializer", [("websocket", "json"),
                                                  ("websocket", "cbor"),
                                                  ("rawsocket", "msgpack")])
@pytest_twisted.ensureDeferred
async def test_publish_reaches_subscribers(connect: Any, transport: str, serializer: str) -> None:
    """When a client publishes, every subscriber gets the event, the publisher does not."""
    inboxes = [Inbox() for _ in range(3)]
    subs = [await connect(transport=transport, serializer=serializer) for _ in inboxes]
    for s, inbox in zip(subs, inboxes, strict=False):
        await s.subscribe(inbox, "com.news")
    pub = await connect(serializer="msgpack")
    mine = Inbox()
    await pub.subscribe(mine, "com.news")
    pubd = await pub.publish("com.news", 1, "two", three=3,
                             options=PublishOptions(acknowledge=True))
    assert pubd.id > 0
    for inbox in inboxes:
        await inbox.wait(1)
        assert inbox.events == [((1, "two"), {"three": 3})]
    await _sync(pub)
    assert mine.events == []


@pytest_twisted.ensureDeferred
async def test_pattern_subscriptions_carry_topic(connect: Any) -> None:
    """When prefix and wildcard subscriptions match, each event carries the concrete topic."""
    sub = await connect()
    got: list[tuple[str, str]] = []
    await sub.subscribe(lambda details: got.append(("prefix", details.topic)), "com.a.",
                        SubscribeOptions(match="prefix", details_arg="details"))
    await sub.subscribe(lambda details: got.append(("wild", details.topic)), "com..z",
                        SubscribeOptions(match="wildcard", details_arg="details"))
    pub = await connect()
    for topic in ("com.a.z", "com.a.b", "com.q.z", "org.a.z"):
        await pub.publish(topic, options=PublishOptions(acknowledge=True))
    await _sync(sub)
    assert sorted(got) == sorted([("prefix", "com.a.z"), ("wild", "com.a.z"),
                                  ("prefix", "com.a.b"), ("wild", "com.q.z")])


@pytest_twisted.ensureDeferred
async def test_exclusion_and_eligibility(connect: Any) -> None:
    """When a publication names sessions, authids or roles to exclude or allow, only they get it."""
    a, b = Inbox(), Inbox()
    sa = await connect()
    sb = await connect(authmethods=["ticket"], authid="alice", ticket="alice-ticket")
    await sa.subscribe(a, "com.public.t")
    await sb.subscribe(b, "com.public.t")
    pub = await connect()
    ack = PublishOptions(acknowledge=True)
    await pub.publish("com.public.t", "all", options=ack)
    await pub.publish("com.public.t", "not-a", options=PublishOptions(
        acknowledge=True, exclude=[sa._session_id]))
    await pub.publish("com.public.t", "only-a", options=PublishOptions(
        acknowledge=True, eligible=[sa._session_id]))
    await pub.publish("com.public.t", "not-alice", options=PublishOptions(
        acknowledge=True, exclude_authid=["alice"]))
    await pub.publish("com.public.t", "guests", options=PublishOptions(
        acknowledge=True, eligible_authrole=["guest"]))
    await pub.publish("com.public.t", "me-too", options=PublishOptions(
        acknowledge=True, exclude_me=False))
    await _sync(sa, sb)
    assert [e[0][0] for e in a.events] == ["all", "only-a", "not-alice", "me-too"]
    assert [e[0][0] for e in b.events] == ["all", "not-a", "guests", "me-too"]


@pytest_twisted.ensureDeferred
async def test_publisher_disclosure_per_role(connect: Any) -> None:
    """When the publisher's role discloses, subscribers see who published; otherwise not."""
    sub = await connect()
    seen: list[tuple[Any, Any]] = []
    opts = SubscribeOptions(match="prefix", details_arg="details")
    await sub.subscribe(lambda details: seen.append((details.publisher,
                                                     details.publisher_authrole)),
                        "com.", opts)
    admin = await connect()
    guest = await connect(authmethods=["ticket"], authid="alice", ticket="alice-ticket")
    ack = PublishOptions(acknowledge=True)
    await admin.publish("com.x", options=ack)
    await guest.publish("com.public.x", options=ack)
    await guest.publish("com.disclosed.x", options=ack)
    with pytest.raises(ApplicationError) as err:
        await guest.publish("com.x", options=ack)
    assert err.value.error == "wamp.error.not_authorized"
    await _sync(sub)
    assert seen == [(admin._session_id, "admin"), (None, None), (guest._session_id, "guest")]


@pytest_twisted.ensureDeferred
async def test_unsubscribe_stops_events(connect: Any) -> None:
    """When a subscriber unsubscribes, later events no longer reach it."""
    inbox = Inbox()
    sub = await connect()
    subscription = await sub.subscribe(inbox, "com.t")
    pub = await connect()
    await pub.publish("com.t", 1, options=PublishOptions(acknowledge=True))
    await inbox.wait(1)
    await subscription.unsubscribe()
    await pub.publish("com.t", 2, options=PublishOptions(acknowledge=True))
    await _sync(sub)
    assert inbox.events == [((1,), {})]
