"""Autobahn|JS under node against the router, with an Autobahn|Python peer.

Each test runs ``js/client.js`` for one scenario over WebSocket and checks
both what the JavaScript client printed and what the Twisted peer saw.
``make deps-node`` installs the client's packages (``npm ci`` in ``js/``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import pytest_twisted

pytestmark = pytest.mark.integration

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
CLIENT = os.path.join(JS_DIR, "client.js")
SERIALIZERS = ["json", "msgpack"]


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node.js (20 or newer) for the JS interop tests")
    if not os.path.isdir(os.path.join(JS_DIR, "node_modules", "autobahn")):
        pytest.fail(f"{JS_DIR}/node_modules is missing: run `make deps-node` "
                    "(npm ci in tests/interop/js) first")
    return node


@pytest.fixture
def run_js(router: Any, run_client: Any) -> Callable[..., Awaitable[dict[str, Any]]]:
    """``await run_js(scenario, serializer, env)``: one client.js scenario's result line."""
    url = f"ws://127.0.0.1:{router.port('websocket')}/ws"

    async def run(scenario: str, serializer: str = "json",
                  env: dict[str, str] | None = None) -> dict[str, Any]:
        result = await run_client(_node(), [CLIENT, url, "nova", serializer, scenario],
                                  cwd=JS_DIR, env=env)
        return dict(result.scenario(scenario))

    return run


@pytest.mark.parametrize("serializer", SERIALIZERS)
@pytest_twisted.ensureDeferred
async def test_rpc(run_js: Any, peer: Any, serializer: str) -> None:
    """When JS and Python register procedures, each calls the other's and gets exact results."""
    out = await run_js("rpc", serializer)
    assert out["add2"] == 5
    assert out["py_add"] == 42
    sent = ["text", "ünïcødé ✓", -7, 2.5, True, None, {"nested": [1, "two", {"three": 3}]}]
    kwargs = {"flag": False, "list": [1, 2]}
    assert out["echo_sent"] == sent
    assert peer.echoed == [{"args": sent, "kwargs": kwargs}]
    assert out["py_echo"] == {"args": sent, "kwargs": kwargs}
    assert out["py_calls_js"] == {"result": 42, "progress": []}


@pytest.mark.parametrize("serializer", SERIALIZERS)
@pytest_twisted.ensureDeferred
async def test_pubsub(run_js: Any, peer: Any, serializer: str) -> None:
    """When JS publishes with exclude_me false it receives its own event, and Python's too."""
    out = await run_js("pubsub", serializer)
    topic = "com.example.topic1"
    assert out["events"] == [
        {"args": ["hello", 1], "kwargs": {"from": "js"}, "topic": topic,
         "publication": out["publication"]},
        {"args": ["from-python"], "kwargs": {"n": 2}, "topic": topic,
         "publication": out["py_publication"]},
    ]
    seen = await peer.events_on(topic, 2)
    assert [(e["args"], e["kwargs"], e["publication"]) for e in seen] == [
        (["excluded"], {}, out["excluded_publication"]),
        (["hello", 1], {"from": "js"}, out["publication"]),
    ]


@pytest.mark.parametrize("serializer", SERIALIZERS)
@pytest_twisted.ensureDeferred
async def test_patterns(run_js: Any, peer: Any, serializer: str) -> None:
    """When JS uses prefix and wildcard URIs, details carry the concrete topic and procedure."""
    out = await run_js("patterns", serializer)
    events = sorted(out["events"], key=lambda e: e["topic"])
    assert events == [
        {"sub": "prefix", "topic": "com.example.pattern.a.b", "args": ["p"]},
        {"sub": "prefix", "topic": "com.example.pattern.from.py", "args": ["py"]},
        {"sub": "wildcard", "topic": "com.example.x.wild", "args": ["w"]},
    ]
    # The event JS must not match was published and routed, to Python's prefix.
    assert [e["args"] for e in await peer.events_on("com.example.unrelated", 1)] == [["none"]]
    assert out["calls"] == {
        "prefix": ["prefix", "com.example.proc.alpha"],
        "wildcard": ["wildcard", "com.example.y.wproc"],
        "py_calls_prefix": {"result": ["prefix", "com.example.proc.beta.gamma"], "progress": []},
        "py_prefix": "com.interop.pyprefix.one.two",
    }


@pytest.mark.parametrize("serializer", SERIALIZERS)
@pytest_twisted.ensureDeferred
async def test_progressive(run_js: Any, peer: Any, serializer: str) -> None:
    """When a caller asks for progress, JS and Python callees send it in order, then the result."""
    out = await run_js("progressive", serializer)
    assert out["py_countdown"] == {"result": "liftoff", "progress": [3, 2, 1]}
    assert out["js_self"] == {"result": "ticked", "progress": [0, 1, 2]}
    assert out["py_calls_js"] == {"result": "ticked", "progress": [0, 1, 2, 3]}
    # Without receive_progress the JS callee gets no progress function.
    assert out["py_calls_js_quiet"] == {"result": "ticked-quietly", "progress": []}


@pytest.mark.parametrize("serializer", SERIALIZERS)
@pytest_twisted.ensureDeferred
async def test_errors(run_js: Any, peer: Any, serializer: str) -> None:
    """When a procedure is missing or a callee fails, the caller gets the error URI and payload."""
    out = await run_js("errors", serializer)
    assert out["missing"]["error"] == "wamp.error.no_such_procedure"
    assert out["py_fail"] == {"error": "com.interop.error.refused", "args": ["no", "why"],
                              "kwargs": {"code": 7}}
    js_error = {"error": "com.example.error.js", "kwargs": {"field": "x"}}
    assert out["js_fail"] == {**js_error, "args": ["bad input", 5]}
    assert out["py_calls_js_fail"] == {**js_error, "args": ["bad input", 6]}


@pytest_twisted.ensureDeferred
async def test_ticket(run_js: Any, peer: Any) -> None:
    """When JS joins with WAMP-Ticket it gets its role; a wrong ticket is refused at join."""
    out = await run_js("ticket", env={"NOVA_WS_AUTHID": "alice",
                                              "NOVA_WS_TICKET": "alice-secret"})
    assert out["joined"] == {"authid": "alice", "authrole": "member", "authmethod": "ticket"}
    assert out["denied"]["error"] == "wamp.error.not_authorized"
    assert out["bad_ticket"]["joined"] is False
    assert out["bad_ticket"]["reason"] == "wamp.error.not_authorized"
