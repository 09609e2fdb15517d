"""Routed calls through a live router: basic and advanced dealer features."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions, RegisterOptions
from twisted.internet.defer import Deferred

TRANSPORTS = [("websocket", "json"), ("websocket", "msgpack"), ("websocket", "cbor"),
              ("rawsocket", "msgpack"), ("rawsocket", "json"), ("rawsocket", "cbor")]


@pytest.mark.parametrize("transport,serializer", TRANSPORTS)
@pytest_twisted.ensureDeferred
async def test_call_roundtrip(connect: Any, transport: str, serializer: str) -> None:
    """When a callee registers a procedure, a caller on any transport gets its result."""
    callee = await connect()
    await callee.register(lambda a, b: [a, b, a + b], "com.math.add")
    caller = await connect(transport=transport, serializer=serializer)
    assert await caller.call("com.math.add", 2, 40) == [2, 40, 42]
    assert await caller.call("com.math.add", "x", "y") == ["x", "y", "xy"]


@pytest_twisted.ensureDeferred
async def test_errors_are_routed(connect: Any) -> None:
    """When a callee raises an application error, the caller gets its URI and args."""
    callee = await connect()

    def fail() -> None:
        raise ApplicationError("com.error.nope", "bad", code=7)

    await callee.register(fail, "com.fail")
    caller = await connect()
    with pytest.raises(ApplicationError) as err:
        await caller.call("com.fail")
    assert err.value.error == "com.error.nope"
    assert err.value.args == ("bad",) and err.value.kwargs == {"code": 7}
    with pytest.raises(ApplicationError) as err:
        await caller.call("com.missing")
    assert err.value.error == "wamp.error.no_such_procedure"


@pytest_twisted.ensureDeferred
async def test_duplicate_and_unregister(connect: Any) -> None:
    """When a procedure is registered twice it is refused; after unregister it is gone."""
    a, b = await connect(), await connect()
    reg = await a.register(lambda: "a", "com.dup")
    with pytest.raises(ApplicationError) as err:
        await b.register(lambda: "b", "com.dup")
    assert err.value.error == "wamp.error.procedure_already_exists"
    await reg.unregister()
    with pytest.raises(ApplicationError) as err:
        await b.call("com.dup")
    assert err.value.error == "wamp.error.no_such_procedure"


@pytest_twisted.ensureDeferred
async def test_pattern_registrations(connect: Any) -> None:
    """When exact, prefix and wildcard registrations overlap, the best one answers."""
    callee = await connect()
    opts = RegisterOptions(details_arg="details")
    await callee.register(lambda details: ["prefix", details.procedure], "com.p.",
                          RegisterOptions(match="prefix", details_arg="details"))
    await callee.register(lambda details: ["longer", details.procedure], "com.p.long.",
                          RegisterOptions(match="prefix", details_arg="details"))
    await callee.register(lambda details: ["wild", details.procedure], "com..w",
                          RegisterOptions(match="wildcard", details_arg="details"))
    await callee.register(lambda details: ["exact", details.procedure], "com.p.x", opts)
    caller = await connect()
    assert await caller.call("com.p.x") == ["exact", "com.p.x"]
    assert await caller.call("com.p.y") == ["prefix", "com.p.y"]
    assert await caller.call("com.p.long.z") == ["longer", "com.p.long.z"]
    assert await caller.call("com.q.w") == ["wild", "com.q.w"]


@pytest.mark.parametrize("invoke", ["roundrobin", "first", "last", "random"])
@pytest_twisted.ensureDeferred
async def test_shared_registrations(connect: Any, invoke: str) -> None:
    """When several callees share a procedure, the invoke policy picks who answers."""
    callees = [await connect() for _ in range(3)]
    for i, c in enumerate(callees):
        await c.register(lambda i=i: i, "com.shared", RegisterOptions(invoke=invoke))
    caller = await connect()
    answers = [await caller.call("com.shared") for _ in range(9)]
    if invoke == "roundrobin":
        assert answers == [0, 1, 2] * 3
    elif invoke == "first":
        assert answers == [0] * 9
    elif invoke == "last":
        assert answers == [2] * 9
    else:
        assert set(answers) <= {0, 1, 2}
    other = await connect()
    with pytest.raises(ApplicationError) as err:
        await other.register(lambda: 9, "com.shared", RegisterOptions(invoke="single"))
    assert err.value.error == "wamp.error.procedure_already_exists"


@pytest_twisted.ensureDeferred
async def test_progressive_results(connect: Any) -> None:
    """When a caller asks for progress, every progressive result arrives before the last."""
    callee = await connect()

    def count(n: int, details: Any = None) -> str:
        for i in range(n):
            details.progress(i, label=f"step{i}")
        return "done"

    await callee.register(count, "com.count", RegisterOptions(details_arg="details"))
    caller = await connect(serializer="msgpack")
    got: list[Any] = []
    result = await caller.call("com.count", 4, options=CallOptions(on_progress=lambda *a, **k:
                                                                   got.append((a, k))))
    assert result == "done"
    assert got == [((i,), {"label": f"step{i}"}) for i in range(4)]


@pytest_twisted.ensureDeferred
async def test_callee_leaving_answers_pending_calls(connect: Any) -> None:
    """When a callee leaves with calls in flight, each caller gets an error at once."""
    callee = await connect()
    never: Deferred[None] = Deferred()
    await callee.register(lambda: never, "com.hang")
    caller = await connect()
    pending = [caller.call("com.hang") for _ in range(3)]
    await caller.call("wamp.session.count")  # the calls have reached the callee
    callee.leave()
    for d in pending:
        with pytest.raises(ApplicationError) as err:
            await d
        assert err.value.error == "wamp.error.canceled"


@pytest_twisted.ensureDeferred
async def test_call_timeout(connect: Any) -> None:
    """When a call has a timeout and the callee is silent, the dealer answers wamp.error.timeout."""
    callee = await connect()
    interrupted: list[Any] = []
    hang: Deferred[None] = Deferred(lambda d: interrupted.append(True))
    await callee.register(lambda: hang, "com.slow")
    caller = await connect()
    with pytest.raises(ApplicationError) as err:
        await caller.call("com.slow", options=CallOptions(timeout=50))
    assert err.value.error == "wamp.error.timeout"
    await caller.call("wamp.session.count")
    await callee.call("wamp.session.count")  # INTERRUPT reached the callee before this
    assert interrupted == [True]


@pytest.mark.parametrize("mode", ["skip", "kill", "killnowait"])
@pytest_twisted.ensureDeferred
async def test_cancel_modes(connect: Any, mode: str) -> None:
    """When a caller cancels, it gets wamp.error.canceled; kill modes interrupt the callee."""
    callee = await connect()
    interrupted: list[bool] = []
    started: Deferred[None] = Deferred()

    def slow() -> Deferred[None]:
        started.callback(None)
        return Deferred(lambda d: interrupted.append(True))

    await callee.register(slow, "com.slow")
    caller = await connect()
    call = caller.call("com.slow", options=CallOptions())
    await started
    _cancel(caller, call, mode)
    with pytest.raises(ApplicationError) as err:
        await call
    assert err.value.error == "wamp.error.canceled"
    await callee.call("wamp.session.count")
    assert interrupted == ([] if mode == "skip" else [True])


def _cancel(session: Any, call: Deferred[Any], mode: str) -> None:
    """Send CANCEL with an explicit mode, leaving the caller's Deferred to the router."""
    from autobahn.wamp import message

    request_id = next(rid for rid, req in session._call_reqs.items() if req.on_reply is call)
    session._transport.send(message.Cancel(request_id, mode=mode))


@pytest_twisted.ensureDeferred
async def test_caller_disclosure_per_role(connect: Any) -> None:
    """When the caller's role discloses for that URI, the callee sees who called; otherwise not."""
    callee = await connect()
    opts = RegisterOptions(details_arg="details")
    for uri in ("com.public.who", "com.disclosed.who"):
        await callee.register(lambda details: [details.caller, details.caller_authid], uri, opts)
    guest = await connect(authmethods=["ticket"], authid="alice", ticket="alice-ticket")
    assert await guest.call("com.public.who") == [None, None]
    assert await guest.call("com.disclosed.who") == [guest._session_id, "alice"]
    admin = await connect()
    who = await admin.call("com.public.who")
    assert who[0] == admin._session_id and who[1].startswith("anonymous-")
