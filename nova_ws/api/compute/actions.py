"""``POST /servers/{id}/action``: power actions, rebuild and the console log.

Power actions and ``rebuild`` (:mod:`rebuild`) go through the conductor's
state machine (``nova.conductor.instance_action``), so a state that does not
allow one answers 409 with Nova's message; the console log comes from the
instance's compute host (``nova.compute.<host>.get_console_output``).
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from nova_ws.api.compute import rebuild
from nova_ws.api.compute.context import RequestContext
from nova_ws.api.compute.rpc import call_conductor
from nova_ws.api.compute.servers import Servers
from nova_ws.api.errors import BadRequest, Conflict
from nova_ws.api.microversions import Version
from nova_ws.compute.rpcapi import uri
from nova_ws.conductor import rpcapi

#: API action name -> the conductor's action.
POWER_ACTIONS = {"os-start": "start", "os-stop": "stop", "reboot": "reboot",
                 "pause": "pause", "unpause": "unpause", "suspend": "suspend",
                 "resume": "resume"}
CONSOLE_OUTPUT = "os-getConsoleOutput"
REBUILD = "rebuild"
REBOOT_TYPES = {"SOFT": False, "HARD": True}
V2_1 = Version(2, 1)


def parse(body: Any) -> tuple[str, Any]:
    """The action's name and argument; 400 for a malformed or unknown action."""
    if not isinstance(body, dict) or not body:
        raise BadRequest("Malformed request body")
    for name, argument in body.items():
        if name in POWER_ACTIONS or name in (CONSOLE_OUTPUT, REBUILD):
            return name, argument
    raise BadRequest(f"There is no such action: {next(iter(body))}")


def reboot_hard(argument: Any) -> bool:
    """Whether a ``reboot`` body asks for a hard reboot."""
    kind = argument.get("type") if isinstance(argument, dict) else None
    if not isinstance(kind, str) or kind.upper() not in REBOOT_TYPES:
        raise BadRequest(f"Invalid input for field/attribute type. Value: {kind}. "
                         "'type' must be one of 'SOFT', 'HARD'")
    return REBOOT_TYPES[kind.upper()]


def console_length(argument: Any) -> int | None:
    """The number of last lines a console-output body asks for (None: all)."""
    length = argument.get("length") if isinstance(argument, dict) else None
    if argument is not None and not isinstance(argument, dict):
        raise BadRequest("Invalid input for field/attribute os-getConsoleOutput.")
    if isinstance(length, str) and length.lstrip("-").isdigit():
        length = int(length)
    if length is None:
        return None
    if isinstance(length, bool) or not isinstance(length, int) or length < -1:
        raise BadRequest(f"Invalid input for field/attribute length. Value: {length}.")
    return None if length == -1 else length


class Actions:
    """The action handler."""

    def __init__(self, servers: Servers) -> None:
        self.servers = servers

    async def run(self, ctx: RequestContext, uuid: str, body: Any,
                  version: Version = V2_1) -> tuple[int, Any]:
        """Run the action named in *body* on the server."""
        name, argument = parse(body)
        ctx.require_write()
        if name == REBUILD:
            return await rebuild.rebuild(self.servers, ctx, version, uuid, body)
        if name == CONSOLE_OUTPUT:
            return 200, {"output": await self._console(ctx, uuid, console_length(argument))}
        kwargs: dict[str, Any] = {"request_id": f"req-{uuidlib.uuid4()}"}
        if name == "reboot":
            kwargs["hard"] = reboot_hard(argument)
        await self.servers.get(ctx, uuid)
        await call_conductor(self.servers.client, rpcapi.INSTANCE_ACTION, uuid,
                             POWER_ACTIONS[name], **kwargs)
        return 202, None

    async def _console(self, ctx: RequestContext, uuid: str, length: int | None) -> str:
        inst = await self.servers.get(ctx, uuid)
        if not inst.host or inst.vm_state not in ("active", "stopped", "paused",
                                                  "suspended", "error"):
            raise Conflict(f"Instance {uuid} is not ready yet.")
        output = str(await call_conductor(self.servers.client,
                                          uri(inst.host, "get_console_output"), uuid))
        if length is None:
            return output
        lines = output.splitlines(keepends=True)
        return "".join(lines[-length:]) if length else ""
