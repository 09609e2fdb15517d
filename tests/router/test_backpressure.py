"""A subscriber that stops reading cannot grow the router's memory without bound."""

from __future__ import annotations

from typing import Any

import pytest_twisted
from autobahn.wamp.types import PublishOptions
from twisted.internet.defer import Deferred

from nova_ws.testing.wamp import join, start_router

LIMIT = 256 * 1024
CONF = f"""
[router]
auth_methods = anonymous
anonymous_role = admin
max_outgoing_buffer = {LIMIT}
"""


@pytest_twisted.ensureDeferred
async def test_slow_subscriber_is_dropped_and_others_go_on() -> None:
    """When a subscriber stops reading, the router drops it past the limit; others keep going."""
    from twisted.internet import reactor

    service = await start_router(reactor, CONF)
    try:
        admin = await join(reactor, service, authmethods=["anonymous"])
        fast_got: list[int] = []
        fast = await join(reactor, service, authmethods=["anonymous"], serializer="msgpack")
        await fast.subscribe(lambda i, blob: fast_got.append(i), "com.flood")
        slow = await join(reactor, service, authmethods=["anonymous"], serializer="msgpack")
        await slow.subscribe(lambda i, blob: None, "com.flood")
        slow_id = slow._session_id
        dropped: Deferred[None] = Deferred()

        def on_leave(sid: int, *rest: Any) -> None:
            if sid == slow_id and not dropped.called:
                dropped.callback(None)

        await admin.subscribe(on_leave, "wamp.session.on_leave")
        slow._transport.transport.pauseProducing()  # the slow client stops reading

        blob = b"x" * 65536
        sent = 0
        while not dropped.called:
            assert sent < 4000, "the router never dropped a subscriber that stopped reading"
            await admin.publish("com.flood", sent, blob, options=PublishOptions(acknowledge=True))
            sent += 1
        await dropped
        assert await admin.call("wamp.session.count") == 2
        # the fast subscriber got everything, in order, and still gets events
        await admin.publish("com.flood", sent, blob, options=PublishOptions(acknowledge=True))
        await fast.call("wamp.session.count")
        assert fast_got == list(range(sent + 1))
        slow._transport.transport.resumeProducing()
    finally:
        await service.stopService()
