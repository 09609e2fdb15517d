"""How other services call nova-conductor: its URIs and a typed client.

Compute hosts hold no database credentials; everything they learn or change
goes through these procedures, which only the conductor registers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from twisted.internet.defer import Deferred

PREFIX = "nova.conductor."
SERVICE_HEARTBEAT = PREFIX + "service_heartbeat"
COMPUTE_NODE_UPDATE = PREFIX + "compute_node_update"
INSTANCE_UPDATE = PREFIX + "instance_update"
INSTANCES_ON_HOST = PREFIX + "instances_on_host"
ACTION_EVENT_START = PREFIX + "action_event_start"
ACTION_EVENT_FINISH = PREFIX + "action_event_finish"
BUILD_INSTANCES = PREFIX + "build_instances"
INSTANCE_ACTION = PREFIX + "instance_action"
SERVICE_UPDATE = PREFIX + "service_update"
SERVICE_LIST = PREFIX + "service_list"

UNEXPECTED_TASK_STATE = "nova.error.unexpected_task_state"


class Caller(Protocol):
    """Anything that can call a WAMP procedure (an Autobahn session does)."""

    def call(self, procedure: str, *args: Any, **kwargs: Any) -> Deferred[Any]: ...


class ConductorAPI:
    """A typed client for the conductor's procedures."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    def service_heartbeat(self, binary: str, host: str, topic: str,
                          zone: str = "nova") -> Deferred[Any]:
        """Register or refresh a service; fires with {"disabled": bool, ...}."""
        return self._caller.call(SERVICE_HEARTBEAT, {"binary": binary, "host": host,
                                                     "topic": topic, "zone": zone})

    def compute_node_update(self, host: str, resources: Mapping[str, Any]) -> Deferred[Any]:
        """Report the host's totals and usage."""
        return self._caller.call(COMPUTE_NODE_UPDATE, host, dict(resources))

    def instance_update(self, uuid: str, updates: Mapping[str, Any],
                        expected_task_state: Sequence[str | None] | None = None
                        ) -> Deferred[Any]:
        """Change an instance's fields; with *expected_task_state*, only from those.

        Fails with ``nova.error.unexpected_task_state`` when the instance's
        task_state is not one of the expected ones.
        """
        kwargs: dict[str, Any] = {}
        if expected_task_state is not None:
            kwargs["expected_task_state"] = list(expected_task_state)
        return self._caller.call(INSTANCE_UPDATE, uuid, dict(updates), **kwargs)

    def instances_on_host(self, host: str) -> Deferred[Any]:
        """The instances the database places on *host* (uuid and states)."""
        return self._caller.call(INSTANCES_ON_HOST, host)

    def action_event_start(self, uuid: str, event: str, host: str,
                           request_id: str | None = None) -> Deferred[Any]:
        """Record that an event of the action *request_id* started."""
        return self._caller.call(ACTION_EVENT_START, uuid, event, host, request_id=request_id)

    def action_event_finish(self, uuid: str, event: str, host: str, result: str,
                            traceback: str | None = None,
                            request_id: str | None = None) -> Deferred[Any]:
        """Record how an event of the action *request_id* ended."""
        return self._caller.call(ACTION_EVENT_FINISH, uuid, event, host, result,
                                 traceback=traceback, request_id=request_id)
