"""Fixtures: a real router on free ports, and a way to join real clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest_twisted

from nova_ws.testing.wamp import ClientSession, join, start_router

ROUTER_CONF = """
[router]
auth_methods = anonymous, ticket, wampcra
anonymous_role = admin
call_timeout = 0
[router_ticket]
alice = guest:alice-ticket
bob = member:bob-ticket
[router_wampcra]
svc = api:svc-secret
[router_role:nova:guest]
com.public.* = call, subscribe, publish, register
com.disclosed.* = call, publish, register, subscribe, disclose
"""


@pytest_twisted.async_yield_fixture
async def router() -> AsyncIterator[Any]:
    """A running router: anonymous admins, ticket guest/member, a CRA service."""
    from twisted.internet import reactor

    service = await start_router(reactor, ROUTER_CONF)
    try:
        yield service
    finally:
        await service.stopService()


@pytest_twisted.async_yield_fixture
async def connect(router: Any) -> AsyncIterator[Callable[..., Any]]:
    """``await connect(**join_kwargs)`` joins a client; all leave at teardown."""
    from twisted.internet import reactor

    sessions: list[ClientSession] = []

    async def _connect(**kwargs: Any) -> ClientSession:
        kwargs.setdefault("authmethods", ["anonymous"])
        session = await join(reactor, router, **kwargs)
        sessions.append(session)
        return session

    try:
        yield _connect
    finally:
        for s in sessions:
            if s.is_connected():
                s.leave()
                await s.left
