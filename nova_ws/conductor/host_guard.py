"""Compute hosts may report only about themselves.

The router lets the ``compute`` role call the conductor's reporting
procedures, and discloses the caller; ``HostGuard`` then checks, per call,
that a compute host speaks for its own host (its authid) and only about
instances placed on it. A host that tries to update another host's
instance, node or service gets ``nova.error.not_authorized`` and nothing
changes. Calls from other roles (the conductor's own, an admin's) pass.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from autobahn.wamp.exception import ApplicationError

from nova_ws.conductor import rpcapi
from nova_ws.db.engine import Database
from nova_ws.db.errors import NotFound
from nova_ws.db.queries import instances

NOT_AUTHORIZED = "nova.error.not_authorized"
COMPUTE_ROLE = "compute"


def _refuse(authid: str, what: str) -> ApplicationError:
    return ApplicationError(NOT_AUTHORIZED, f"compute host {authid!r} may not report {what}")


class HostGuard:
    """Wraps the conductor's reporting procedures with the own-host check."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _instance_host(self, uuid: Any) -> str | None:
        if not isinstance(uuid, str):
            return None
        try:
            inst = await self.db.run(instances.get_instance, uuid, include_deleted=True)
        except NotFound:
            return None
        return inst.host

    async def check(self, uri: str, authid: str, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> None:
        """Raise ``NOT_AUTHORIZED`` unless host ``authid`` may make this call."""
        first = args[0] if args else None
        if uri == rpcapi.SERVICE_HEARTBEAT:
            host = first.get("host") if isinstance(first, dict) else None
            if host != authid:
                raise _refuse(authid, f"for service host {host!r}")
        elif uri in (rpcapi.COMPUTE_NODE_UPDATE, rpcapi.INSTANCES_ON_HOST):
            if first != authid:
                raise _refuse(authid, f"for host {first!r}")
        elif uri in (rpcapi.INSTANCE_UPDATE, rpcapi.ACTION_EVENT_START,
                     rpcapi.ACTION_EVENT_FINISH):
            if await self._instance_host(first) != authid:
                raise _refuse(authid, f"about instance {first!r}, which is not on it")
            reported = args[2] if uri != rpcapi.INSTANCE_UPDATE and len(args) > 2 else authid
            if reported != authid:
                raise _refuse(authid, f"as host {reported!r}")

    def wrap(self, uri: str, handler: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        """``handler`` behind the check; it takes the call's ``details``."""
        async def guarded(*args: Any, details: Any = None, **kwargs: Any) -> Any:
            role = getattr(details, "caller_authrole", None)
            if role == COMPUTE_ROLE:
                await self.check(uri, str(details.caller_authid), args, kwargs)
            return await handler(*args, **kwargs)
        return guarded


#: The procedures compute hosts may call (the router's compute role).
GUARDED = frozenset({rpcapi.SERVICE_HEARTBEAT, rpcapi.COMPUTE_NODE_UPDATE,
                     rpcapi.INSTANCE_UPDATE, rpcapi.INSTANCES_ON_HOST,
                     rpcapi.ACTION_EVENT_START, rpcapi.ACTION_EVENT_FINISH})
