"""Service clients against a live router: join, register, call, reconnect."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from twisted.internet.defer import Deferred

from nova_ws.config import WampSection
from nova_ws.testing.wamp import join, start_router
from nova_ws.wamp.client import NOT_CONNECTED, Procedure, ServiceClient

CONF = """
[router]
auth_methods = wampcra, ticket, anonymous
anonymous_role = admin
[router_wampcra]
cond = conductor:cond-secret:salt1:100:32
[router_ticket]
sched = scheduler:sched-ticket
"""


def _wamp(service: Any, scheme: str, **kw: Any) -> WampSection:
    port = service.port("websocket" if scheme == "ws" else "rawsocket")
    path = "/ws" if scheme == "ws" else ""
    return WampSection(url=f"{scheme}://127.0.0.1:{port}{path}", realm="nova", **kw)


@pytest.mark.parametrize("scheme", ["ws", "rs"])
@pytest_twisted.ensureDeferred
async def test_service_registers_and_is_called(scheme: str) -> None:
    """When a service client joins, its procedures are callable by others, and it calls too."""
    from twisted.internet import reactor

    router = await start_router(reactor, CONF)
    cond = ServiceClient(_wamp(router, scheme, authid="cond", authmethod="wampcra",
                               secret="cond-secret"), reactor,
                         procedures=lambda: {"nova.conductor.ping": Procedure(lambda x: x + 1)})
    sched = ServiceClient(_wamp(router, scheme, authid="sched", authmethod="ticket",
                                secret="sched-ticket"), reactor,
                          procedures=lambda: {"nova.scheduler.pick": Procedure(
                              lambda: "host1", invoke="roundrobin")})
    try:
        with pytest.raises(ApplicationError) as err:
            await cond.call("nova.scheduler.pick")
        assert err.value.error == NOT_CONNECTED
        cond.startService()
        sched.startService()
        await cond.when_joined()
        await sched.when_joined()
        assert cond.session is not None and cond.session._authrole == "conductor"
        assert await cond.call("nova.scheduler.pick") == "host1"
        admin = await join(reactor, router, authmethods=["anonymous"])
        assert await admin.call("nova.conductor.ping", 41) == 42
    finally:
        await cond.stopService()
        await sched.stopService()
        await router.stopService()


@pytest_twisted.ensureDeferred
async def test_service_rejoins_after_being_dropped() -> None:
    """When the router drops a service, it reconnects and registers its procedures again."""
    from twisted.internet import reactor

    router = await start_router(reactor, CONF)
    joins: list[int] = []
    cond = ServiceClient(_wamp(router, "ws", authid="cond", authmethod="wampcra",
                               secret="cond-secret"), reactor,
                         procedures=lambda: {"nova.conductor.ping": Procedure(lambda x: x)})
    rejoined: Deferred[None] = Deferred()

    def on_join() -> None:
        joins.append(1)
        if len(joins) == 2:
            rejoined.callback(None)

    cond.on_join(on_join)
    try:
        cond.startService()
        await cond.when_joined()
        admin = await join(reactor, router, authmethods=["anonymous"])
        await admin.call("wamp.session.kill_by_authid", "cond")
        await rejoined
        assert await admin.call("nova.conductor.ping", 7) == 7
    finally:
        await cond.stopService()
        await router.stopService()
