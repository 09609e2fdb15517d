"""Autobahn|Python on asyncio against a WAMP router: the interop scenarios.

    python asyncio_client.py URL [--realm nova] [--serializer json|msgpack|cbor]

URL is ``ws://host:port/path`` (WebSocket) or ``rs://host:port`` (RawSocket
over TCP). The client joins anonymously through ``ApplicationRunner``, runs
the scenarios ``rpc``, ``pubsub``, ``prefix`` and ``progressive`` in one
session, prints one JSON line ``{"scenario": NAME, ...}`` per scenario and
leaves. It exits 0 when all ran, and 1 with a message on stderr on the first
failure or after ``--timeout`` seconds.

It needs the peer of ``tests/interop/conftest.py`` (procedures under
``com.interop.py.``) on the same realm. The test process runs Twisted's
reactor, so this client runs in a process of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from autobahn.asyncio.wamp import ApplicationRunner, ApplicationSession
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import (
    CallDetails,
    CallOptions,
    CallResult,
    EventDetails,
    PublishOptions,
    RegisterOptions,
    SubscribeOptions,
)

SERIALIZERS = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}
PY = "com.interop.py."


def plain(result: Any) -> Any:
    """A call result as JSON: multi-valued results become ``{"args", "kwargs"}``."""
    if isinstance(result, CallResult):
        return {"args": list(result.results), "kwargs": result.kwresults}
    return result


class Inbox:
    """Collects events; ``await wait(n)`` returns them once *n* have arrived."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def push(self, item: dict[str, Any]) -> None:
        self.items.append(item)
        self._changed.set()

    async def wait(self, count: int) -> list[dict[str, Any]]:
        while len(self.items) < count:
            self._changed.clear()
            await self._changed.wait()
        return list(self.items)


class InteropSession(ApplicationSession):
    """Runs every scenario once joined; ``done`` holds the outcome."""

    done: asyncio.Future[None]

    def onConnect(self) -> None:
        self.join(self.config.realm, authmethods=["anonymous"])

    async def onJoin(self, details: Any) -> None:
        try:
            for name in ("rpc", "pubsub", "prefix", "progressive"):
                result = await getattr(self, f"scenario_{name}")()
                print(json.dumps({"scenario": name, **result}), flush=True)
        except Exception as exc:
            if not self.done.done():
                self.done.set_exception(exc)
        else:
            if not self.done.done():
                self.done.set_result(None)
        self.leave()

    def onLeave(self, details: Any) -> None:
        if not self.done.done():
            self.done.set_exception(RuntimeError(f"left before the end: {details}"))
        self.disconnect()

    def onDisconnect(self) -> None:
        if not self.done.done():
            self.done.set_exception(RuntimeError("connection lost"))

    async def relay_call(self, procedure: str, *args: Any, progress: bool = False) -> Any:
        return await self.call(PY + "relay_call", procedure, list(args), progress=progress)

    async def relay_publish(self, topic: str, *args: Any, **kwargs: Any) -> Any:
        return await self.call(PY + "publish", topic, list(args), kwargs)

    async def scenario_rpc(self) -> dict[str, Any]:
        await self.register(lambda a, b: a * b, "com.example.asyncio.mul")
        payload = ["text", "ünïcødé ✓", -7, 2.5, True, None, {"nested": [1, "two"]}]
        try:
            await self.call(PY + "fail", "asyncio")
            failed: dict[str, Any] = {}
        except ApplicationError as exc:
            failed = {"error": exc.error, "args": list(exc.args), "kwargs": exc.kwargs}
        return {
            "self_mul": await self.call("com.example.asyncio.mul", 6, 7),
            "py_add": await self.call(PY + "add", 20, 22),
            "py_echo": plain(await self.call(PY + "echo", *payload, flag=False)),
            "echo_sent": payload,
            "py_calls_asyncio": await self.relay_call("com.example.asyncio.mul", 3, 5),
            "py_fail": failed,
        }

    async def scenario_pubsub(self) -> dict[str, Any]:
        topic = "com.example.asyncio.topic"
        inbox = Inbox()

        def on_event(*args: Any, details: EventDetails, **kwargs: Any) -> None:
            inbox.push({"args": list(args), "kwargs": kwargs, "topic": details.topic,
                        "publication": details.publication})

        await self.subscribe(on_event, topic, SubscribeOptions(details_arg="details"))
        pub = await self.publish(topic, "hello", 1, options=PublishOptions(
            acknowledge=True, exclude_me=False), **{"from": "asyncio"})
        py_pub = await self.relay_publish(topic, "from-python", n=2)
        return {"publication": pub.id, "py_publication": py_pub, "events": await inbox.wait(2)}

    async def scenario_prefix(self) -> dict[str, Any]:
        inbox = Inbox()

        def on_event(*args: Any, details: EventDetails, **kwargs: Any) -> None:
            inbox.push({"topic": details.topic, "args": list(args)})

        await self.subscribe(on_event, "com.example.asyncio.prefix.",
                             SubscribeOptions(match="prefix", details_arg="details"))
        options = PublishOptions(acknowledge=True, exclude_me=False)
        await self.publish("com.example.asyncio.other", "none", options=options)
        await self.publish("com.example.asyncio.prefix.a.b", "mine", options=options)
        await self.relay_publish("com.example.asyncio.prefix.from.py", "py")
        return {
            "events": await inbox.wait(2),
            "py_prefix": await self.call("com.interop.pyprefix.x.y"),
        }

    async def scenario_progressive(self) -> dict[str, Any]:
        progress: list[Any] = []
        result = await self.call(PY + "countdown", 3,
                                 options=CallOptions(on_progress=progress.append))

        def ticker(n: int, details: CallDetails) -> str:
            if details.progress is None:
                return "ticked-quietly"
            for i in range(n):
                details.progress(i)
            return "ticked"

        await self.register(ticker, "com.example.asyncio.ticker",
                            RegisterOptions(details_arg="details"))
        return {
            "py_countdown": {"result": result, "progress": progress},
            "py_calls_asyncio": await self.relay_call("com.example.asyncio.ticker", 3,
                                                      progress=True),
            "py_calls_asyncio_quiet": await self.relay_call("com.example.asyncio.ticker", 3),
        }


async def run(url: str, realm: str, serializer: str, timeout: float) -> None:
    """Connect, run the scenarios, and wait for the session to finish them."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def make(config: Any) -> InteropSession:
        session = InteropSession(config)
        session.done = done
        return session

    runner = ApplicationRunner(url, realm, serializers=[SERIALIZERS[serializer]()])
    transport, _ = await runner.run(make, start_loop=False)
    try:
        await asyncio.wait_for(asyncio.shield(done), timeout)
    except TimeoutError:
        raise RuntimeError(f"the scenarios did not finish within {timeout} s") from None
    finally:
        transport.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="ws://host:port/path or rs://host:port")
    parser.add_argument("--realm", default="nova")
    parser.add_argument("--serializer", choices=sorted(SERIALIZERS), default="json")
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(run(args.url, args.realm, args.serializer, args.timeout))
    except Exception as exc:
        print(f"asyncio client: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
