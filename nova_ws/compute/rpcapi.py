"""How other services call a compute host: its URIs and a typed client."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred

from nova_ws.conductor.rpcapi import Caller

BUILD_FAILED = "nova.error.build_failed"
INSTANCE_NOT_FOUND = "nova.error.instance_not_found"
CONSOLE_UNAVAILABLE = "nova.error.console_type_unavailable"
REBUILD_FAILED = "nova.error.rebuild_failed"


def uri(host: str, procedure: str) -> str:
    """``nova.compute.<host>.<procedure>``."""
    return f"nova.compute.{host}.{procedure}"


class ComputeAPI:
    """A typed client for one compute host's procedures."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    def build_and_run_instance(self, host: str, instance: dict[str, Any]) -> Deferred[Any]:
        """Spawn on *host*; fails with ``nova.error.build_failed``."""
        return self._caller.call(uri(host, "build_and_run_instance"), instance)

    def terminate_instance(self, host: str, uuid: str,
                           request_id: str | None = None) -> Deferred[Any]:
        """Destroy the guest (idempotent)."""
        return self._caller.call(uri(host, "terminate_instance"), uuid, request_id=request_id)

    def action(self, host: str, action: str, uuid: str, **kwargs: Any) -> Deferred[Any]:
        """start, stop, reboot, pause, unpause, suspend or resume."""
        return self._caller.call(uri(host, f"{action}_instance"), uuid, **kwargs)

    def rebuild_instance(self, host: str, uuid: str, instance: dict[str, Any],
                         stopped: bool = False, request_id: str | None = None
                         ) -> Deferred[Any]:
        """Destroy and spawn the guest again from *instance* (its new image); with
        *stopped*, power it off after. Fails with ``nova.error.rebuild_failed``."""
        return self._caller.call(uri(host, "rebuild_instance"), uuid, instance,
                                 stopped=stopped, request_id=request_id)

    def get_console(self, host: str, uuid: str, kind: str) -> Deferred[Any]:
        """The console endpoint ({kind, host, port, password, tls})."""
        return self._caller.call(uri(host, "get_console"), uuid, kind)

    def get_console_output(self, host: str, uuid: str) -> Deferred[Any]:
        """The guest's console log."""
        return self._caller.call(uri(host, "get_console_output"), uuid)
