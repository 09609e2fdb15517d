"""Autobahn|Python on asyncio against the router, with an Autobahn|Python (Twisted) peer.

The test process runs Twisted's reactor, so the asyncio client
(``asyncio_client.py``) runs in a subprocess of the same interpreter; each
test checks what it printed and what the Twisted peer saw.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest
import pytest_twisted

pytestmark = pytest.mark.integration

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "asyncio_client.py")

TRANSPORTS = [("websocket", "json"), ("websocket", "msgpack"), ("websocket", "cbor"),
              ("rawsocket", "msgpack")]


@pytest.mark.parametrize("transport,serializer", TRANSPORTS)
@pytest_twisted.ensureDeferred
async def test_asyncio_client(router: Any, peer: Any, run_client: Any,
                              transport: str, serializer: str) -> None:
    """When an asyncio client joins, RPC, pub/sub, prefix and progress work both ways."""
    if transport == "websocket":
        url = f"ws://127.0.0.1:{router.port('websocket')}/ws"
    else:
        url = f"rs://127.0.0.1:{router.port('rawsocket')}"
    result = await run_client(sys.executable, [CLIENT, url, "--serializer", serializer])

    rpc = result.scenario("rpc")
    sent = ["text", "ünïcødé ✓", -7, 2.5, True, None, {"nested": [1, "two"]}]
    assert rpc["echo_sent"] == sent
    assert peer.echoed == [{"args": sent, "kwargs": {"flag": False}}]
    assert rpc["py_echo"] == {"args": sent, "kwargs": {"flag": False}}
    assert rpc["self_mul"] == 42 and rpc["py_add"] == 42
    assert rpc["py_calls_asyncio"] == {"result": 15, "progress": []}
    assert rpc["py_fail"] == {"error": "com.interop.error.refused", "args": ["no", "asyncio"],
                              "kwargs": {"code": 7}}

    pubsub = result.scenario("pubsub")
    topic = "com.example.asyncio.topic"
    assert pubsub["events"] == [
        {"args": ["hello", 1], "kwargs": {"from": "asyncio"}, "topic": topic,
         "publication": pubsub["publication"]},
        {"args": ["from-python"], "kwargs": {"n": 2}, "topic": topic,
         "publication": pubsub["py_publication"]},
    ]
    seen = await peer.events_on(topic, 1)
    assert [(e["args"], e["kwargs"], e["publication"]) for e in seen] == [
        (["hello", 1], {"from": "asyncio"}, pubsub["publication"])]

    prefix = result.scenario("prefix")
    assert sorted(prefix["events"], key=lambda e: e["topic"]) == [
        {"topic": "com.example.asyncio.prefix.a.b", "args": ["mine"]},
        {"topic": "com.example.asyncio.prefix.from.py", "args": ["py"]},
    ]
    # The event outside the prefix was routed (to the peer), just not to this subscription.
    assert [e["args"] for e in await peer.events_on("com.example.asyncio.other", 1)] == [["none"]]
    assert prefix["py_prefix"] == "com.interop.pyprefix.x.y"

    progressive = result.scenario("progressive")
    assert progressive["py_countdown"] == {"result": "liftoff", "progress": [3, 2, 1]}
    assert progressive["py_calls_asyncio"] == {"result": "ticked", "progress": [0, 1, 2]}
    assert progressive["py_calls_asyncio_quiet"] == {"result": "ticked-quietly", "progress": []}
