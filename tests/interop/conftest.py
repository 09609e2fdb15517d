"""Fixtures for interop tests: a live router and an Autobahn|Python (Twisted) peer.

Third-party clients (Autobahn|JS under node, Autobahn|Python on asyncio) run
as subprocesses against the ``router`` fixture. The ``peer`` fixture is the
other side of their scenarios: a Twisted session that registers the
``com.interop.py.*`` procedures they call and records the events published
under ``com.example.`` (a prefix subscription).

Peer procedures (all anonymous ``admin`` on realm ``nova``):

``add(a, b)``; ``echo(*args, **kwargs)`` returns both back; ``countdown(n)``
sends progress ``n .. 1`` when asked and returns ``"liftoff"``; ``fail(*args)``
raises ``com.interop.error.refused`` with ``["no", *args]`` and ``{"code": 7}``;
``relay_call(procedure, args, kwargs=None, progress=False)`` calls *procedure*
from the Twisted side and returns ``{"result", "progress"}`` or
``{"error", "args", "kwargs"}``; ``publish(topic, args, kwargs)`` publishes
with acknowledgement and returns the publication id; and the prefix
registration ``com.interop.pyprefix.`` returns the concrete procedure URI.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import (
    CallDetails,
    CallOptions,
    CallResult,
    EventDetails,
    PublishOptions,
    RegisterOptions,
    SubscribeOptions,
)
from twisted.internet.defer import Deferred
from twisted.internet.utils import getProcessOutputAndValue

from nova_ws.testing.wamp import ClientSession, join, start_router

#: How long a test waits for something that should already be on its way.
TIMEOUT = 15

ROUTER_CONF = """
[router]
auth_methods = anonymous, ticket
anonymous_role = admin
[router_ticket]
alice = member:alice-secret
"""

PY = "com.interop.py."


@dataclass
class ProcessResult:
    """What a client subprocess printed: one JSON object per scenario line."""

    code: int
    out: str
    err: str
    lines: list[dict[str, Any]] = field(default_factory=list)

    def scenario(self, name: str) -> dict[str, Any]:
        """The result line of scenario *name* (fails the test when missing)."""
        for line in self.lines:
            if line.get("scenario") == name:
                return line
        pytest.fail(f"no result for scenario {name!r}; stdout:\n{self.out}\nstderr:\n{self.err}")


async def _run_client(executable: str, args: list[str], *, cwd: str | None = None,
                     env: dict[str, str] | None = None) -> ProcessResult:
    """Run a client subprocess without blocking the reactor; fail on a non-zero exit."""
    import json

    from twisted.internet import reactor

    full_env = dict(os.environ)
    full_env.update(env or {})
    out_b, err_b, code = await getProcessOutputAndValue(
        executable, args, env=full_env, path=cwd, reactor=reactor)
    out, err = out_b.decode("utf-8", "replace"), err_b.decode("utf-8", "replace")
    if code != 0:
        pytest.fail(f"{os.path.basename(executable)} {' '.join(args)} exited with {code}\n"
                    f"stdout:\n{out}\nstderr:\n{err}")
    try:
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    except ValueError as exc:
        pytest.fail(f"client printed something that is not a JSON line ({exc}):\n{out}")
    return ProcessResult(code, out, err, lines)


class Peer:
    """The Autobahn|Python (Twisted) side of the interop scenarios."""

    def __init__(self, session: ClientSession, reactor: Any) -> None:
        self.session = session
        self.reactor = reactor
        self.events: list[dict[str, Any]] = []
        self.echoed: list[dict[str, Any]] = []
        self._waiters: list[tuple[str, int, Deferred[list[dict[str, Any]]]]] = []

    async def start(self) -> None:
        """Register the peer procedures and subscribe to ``com.example.``."""
        s = self.session
        details = RegisterOptions(details_arg="details")
        await s.register(lambda a, b: a + b, PY + "add")
        await s.register(self.echo, PY + "echo")
        await s.register(self.countdown, PY + "countdown", details)
        await s.register(self.fail, PY + "fail")
        await s.register(self.relay_call, PY + "relay_call")
        await s.register(self.publish, PY + "publish")
        await s.register(lambda details: details.procedure, "com.interop.pyprefix.",
                         RegisterOptions(match="prefix", details_arg="details"))
        await s.subscribe(self._on_event, "com.example.",
                          SubscribeOptions(match="prefix", details_arg="details"))

    def echo(self, *args: Any, **kwargs: Any) -> CallResult:
        self.echoed.append({"args": list(args), "kwargs": kwargs})
        return CallResult(*args, **kwargs)

    def countdown(self, n: int, details: CallDetails) -> str:
        if details.progress is not None:
            for i in range(n, 0, -1):
                details.progress(i)
        return "liftoff"

    def fail(self, *args: Any) -> None:
        raise ApplicationError("com.interop.error.refused", "no", *args, code=7)

    async def relay_call(self, procedure: str, args: list[Any],
                         kwargs: dict[str, Any] | None = None,
                         progress: bool = False) -> dict[str, Any]:
        collected: list[Any] = []

        def on_progress(*a: Any, **kw: Any) -> None:
            collected.append(a[0] if len(a) == 1 and not kw else {"args": list(a), "kwargs": kw})

        options = CallOptions(on_progress=on_progress) if progress else None
        try:
            result = await self.session.call(procedure, *args, options=options, **(kwargs or {}))
        except ApplicationError as exc:
            return {"error": exc.error, "args": list(exc.args), "kwargs": exc.kwargs or {}}
        if isinstance(result, CallResult):
            result = {"args": list(result.results), "kwargs": result.kwresults}
        return {"result": result, "progress": collected}

    async def publish(self, topic: str, args: list[Any],
                      kwargs: dict[str, Any] | None = None) -> int:
        pub = await self.session.publish(topic, *args, options=PublishOptions(acknowledge=True),
                                         **(kwargs or {}))
        return int(pub.id)

    def _on_event(self, *args: Any, details: EventDetails, **kwargs: Any) -> None:
        self.events.append({"topic": details.topic, "args": list(args), "kwargs": kwargs,
                            "publication": details.publication})
        self._wake()

    def _wake(self) -> None:
        for waiter in list(self._waiters):
            topic, count, d = waiter
            seen = self.events_seen(topic)
            if len(seen) >= count:
                self._waiters.remove(waiter)
                d.callback(seen)

    def events_seen(self, topic: str) -> list[dict[str, Any]]:
        """Events the peer has received on *topic* so far, in order."""
        return [e for e in self.events if e["topic"] == topic]

    def events_on(self, topic: str, count: int) -> Deferred[list[dict[str, Any]]]:
        """Fires with the events on *topic* once *count* have arrived (times out)."""
        d: Deferred[list[dict[str, Any]]] = Deferred()
        self._waiters.append((topic, count, d))
        d.addTimeout(TIMEOUT, self.reactor)
        self._wake()
        return d


@pytest.fixture
def run_client() -> Callable[..., Awaitable[ProcessResult]]:
    """``await run_client(executable, args, cwd=..., env=...)``: a client subprocess.

    The reactor keeps running while it does; a non-zero exit fails the test
    with the client's output, and each stdout line is parsed as JSON.
    """
    return _run_client


@pytest_twisted.async_yield_fixture
async def router() -> AsyncIterator[Any]:
    """A running router: anonymous sessions are ``admin``, ``alice`` is a ticket member."""
    from twisted.internet import reactor

    service = await start_router(reactor, ROUTER_CONF)
    try:
        yield service
    finally:
        await service.stopService()


@pytest_twisted.async_yield_fixture
async def peer(router: Any) -> AsyncIterator[Peer]:
    """The Twisted peer, joined over RawSocket/msgpack, with its procedures registered."""
    from twisted.internet import reactor

    session = await join(reactor, router, transport="rawsocket", serializer="msgpack",
                         authmethods=["anonymous"])
    try:
        p = Peer(session, reactor)
        await p.start()
        yield p
    finally:
        if session.is_connected():
            session.leave()
            await session.left
