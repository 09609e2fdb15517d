"""Calls the API makes over WAMP, with their errors turned into Nova's faults.

``nova.error.instance_invalid_state`` becomes 409 and
``nova.error.instance_not_found`` 404; an unreachable router or service
becomes 503. Anything else is unexpected (500, logged once).
"""

from __future__ import annotations

from typing import Any

from autobahn.wamp.exception import ApplicationError

from nova_ws.api.errors import Conflict, Fault, NotFound

INVALID_STATE = "nova.error.instance_invalid_state"
NOT_FOUND = "nova.error.instance_not_found"
UNAVAILABLE = frozenset({"nova.error.router_unavailable", "wamp.error.no_such_procedure",
                         "wamp.error.canceled", "wamp.error.timeout"})


def _message(exc: ApplicationError) -> str:
    return str(exc.args[0]) if exc.args else str(exc.error)


async def call_conductor(client: Any, procedure: str, *args: Any, **kwargs: Any) -> Any:
    """Call *procedure*; its known errors raise the matching :class:`Fault`."""
    if client is None:
        raise Fault("The compute service is unavailable.", 503)
    try:
        return await client.call(procedure, *args, **kwargs)
    except ApplicationError as exc:
        message = _message(exc)
        if exc.error == INVALID_STATE:
            uuid = args[0] if args else ""
            raise Conflict(message.replace("instance while", f"instance {uuid} while")
                           ) from exc
        if exc.error == NOT_FOUND:
            raise NotFound(f"Instance {args[0] if args else ''} could not be found."
                           ) from exc
        if exc.error in UNAVAILABLE or exc.error.startswith("nova.error.router"):
            raise Fault("The compute service is unavailable.", 503) from exc
        raise
