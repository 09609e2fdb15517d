"""The compute manager: one per host, exposing ``nova.compute.<host>.*``.

It turns RPC calls into driver calls and reports every state change to the
conductor, which alone writes the database. An action runs only when the
conductor has already moved the instance into that action's task_state (the
conductor checks the state machine); the manager finishes it with an update
that expects that task_state, so a racing delete wins cleanly.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from autobahn.wamp.exception import ApplicationError
from twisted.logger import Logger

from nova_ws.compute import power_state, states
from nova_ws.compute.drivers.interfaces import (
    ConsoleTypeUnavailable,
    DriverError,
    IComputeDriver,
    InstanceNotFound,
    InstanceSpec,
)
from nova_ws.compute.rpcapi import (
    BUILD_FAILED,
    CONSOLE_UNAVAILABLE,
    INSTANCE_NOT_FOUND,
    REBUILD_FAILED,
)
from nova_ws.conductor.rpcapi import UNEXPECTED_TASK_STATE, ConductorAPI

log = Logger()

# action name -> (driver method, task_state while running, final vm_state, power_state)
_SIMPLE_ACTIONS: dict[str, tuple[str, str, str, int]] = {
    "start": ("power_on", states.POWERING_ON, states.ACTIVE, power_state.RUNNING),
    "stop": ("power_off", states.POWERING_OFF, states.STOPPED, power_state.SHUTDOWN),
    "pause": ("pause", states.PAUSING, states.PAUSED, power_state.PAUSED),
    "unpause": ("unpause", states.UNPAUSING, states.ACTIVE, power_state.RUNNING),
    "suspend": ("suspend", states.SUSPENDING, states.SUSPENDED, power_state.SUSPENDED),
    "resume": ("resume", states.RESUMING, states.ACTIVE, power_state.RUNNING),
}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def spec_from_request(instance: Mapping[str, Any]) -> InstanceSpec:
    """The driver's view of an instance the conductor asks us to build."""
    flavor = instance.get("flavor") or {}
    return InstanceSpec(
        uuid=str(instance["uuid"]),
        name=str(instance.get("display_name") or instance["uuid"]),
        vcpus=int(flavor.get("vcpus", 1)),
        memory_mb=int(flavor.get("memory_mb", 512)),
        root_gb=int(flavor.get("root_gb", 1)),
        image_ref=str(instance.get("image_ref") or ""),
        image_properties=dict(instance.get("image_properties") or {}),
        metadata=dict(instance.get("metadata") or {}),
    )


class ComputeManager:
    """Runs one host's guests through its driver."""

    def __init__(self, host: str, driver: IComputeDriver, conductor: ConductorAPI) -> None:
        self.host = host
        self.driver = driver
        self.conductor = conductor

    def procedures(self) -> dict[str, Callable[..., Any]]:
        """The procedures to register, by name under ``nova.compute.<host>.``."""
        table: dict[str, Callable[..., Any]] = {
            "build_and_run_instance": self.build_and_run_instance,
            "terminate_instance": self.terminate_instance,
            "reboot_instance": self.reboot_instance,
            "rebuild_instance": self.rebuild_instance,
            "get_console": self.get_console,
            "get_console_output": self.get_console_output,
        }
        for action in _SIMPLE_ACTIONS:
            table[f"{action}_instance"] = self._simple(action)
        return table

    # -- build and delete --------------------------------------------------

    async def build_and_run_instance(self, instance: dict[str, Any]) -> dict[str, Any]:
        """Spawn a guest; on success the instance is ACTIVE and RUNNING.

        On failure the guest is cleaned up and ``nova.error.build_failed`` is
        raised so the conductor can reschedule; the instance row is left to
        the conductor.
        """
        spec = spec_from_request(instance)
        rid = instance.get("request_id")
        event = "compute__do_build_and_run_instance"
        await self.conductor.action_event_start(spec.uuid, event, self.host, rid)
        await self.conductor.instance_update(
            spec.uuid, {"task_state": states.SPAWNING, "host": self.host},
            expected_task_state=[states.SCHEDULING, None])
        try:
            await self.driver.spawn(spec)
        except DriverError as exc:
            await self._cleanup_failed_build(spec.uuid)
            await self.conductor.action_event_finish(spec.uuid, event, self.host, "Error",
                                                     traceback=str(exc), request_id=rid)
            raise ApplicationError(BUILD_FAILED, f"build of {spec.uuid} on {self.host} "
                                                 f"failed: {exc}") from exc
        updated = await self.conductor.instance_update(
            spec.uuid, {"vm_state": states.ACTIVE, "task_state": None,
                        "power_state": power_state.RUNNING, "launched_at": _now()},
            expected_task_state=[states.SPAWNING])
        await self.conductor.action_event_finish(spec.uuid, event, self.host, "Success",
                                                 request_id=rid)
        return dict(updated or {"uuid": spec.uuid})

    async def _cleanup_failed_build(self, uuid: str) -> None:
        try:
            await self.driver.destroy(uuid)
        except DriverError:
            log.failure("cleanup of failed build {uuid} failed", uuid=uuid)

    async def terminate_instance(self, uuid: str, request_id: str | None = None) -> None:
        """Destroy the guest (idempotent); the conductor marks the row deleted."""
        await self._event(uuid, "compute_terminate_instance", self.driver.destroy(uuid),
                          request_id)

    # -- state changes ---------------------------------------------------------

    def _simple(self, action: str) -> Callable[[str], Any]:
        method, task, vm_state, power = _SIMPLE_ACTIONS[action]

        async def run(uuid: str, request_id: str | None = None) -> dict[str, Any]:
            call = getattr(self.driver, method)
            await self._event(uuid, f"compute_{action}_instance", call(uuid), request_id)
            return dict(await self.conductor.instance_update(
                uuid, {"vm_state": vm_state, "task_state": None, "power_state": power},
                expected_task_state=[task]) or {})

        run.__name__ = f"{action}_instance"
        return run

    async def reboot_instance(self, uuid: str, hard: bool = False,
                              request_id: str | None = None) -> dict[str, Any]:
        """Reboot (soft or hard); the instance ends ACTIVE and RUNNING."""
        task = states.REBOOTING_HARD if hard else states.REBOOTING
        await self._event(uuid, "compute_reboot_instance", self.driver.reboot(uuid, hard),
                          request_id)
        return dict(await self.conductor.instance_update(
            uuid, {"vm_state": states.ACTIVE, "task_state": None,
                   "power_state": power_state.RUNNING},
            expected_task_state=[task]) or {})

    async def rebuild_instance(self, uuid: str, instance: dict[str, Any], stopped: bool = False,
                               request_id: str | None = None) -> dict[str, Any]:
        """Replace the guest with one from *instance*'s (new) image, as Nova's rebuild.

        The conductor has moved the instance to ``rebuilding`` (and written its
        new image, name and metadata); this moves it to ``rebuild_spawning``,
        has the driver destroy and spawn the guest again, and ends it ACTIVE
        and RUNNING, or, when it was *stopped*, powers the new guest off and
        ends it STOPPED, as Nova does. A guest the host no longer has (an
        instance in ERROR) is spawned afresh. A driver failure raises
        ``nova.error.rebuild_failed`` (the conductor puts the instance in
        ERROR); if the instance is deleted meanwhile, the new guest goes too.
        """
        spec = spec_from_request({**instance, "uuid": uuid})
        event = "compute_rebuild_instance"
        conductor = self.conductor
        await conductor.action_event_start(uuid, event, self.host, request_id)
        try:
            await conductor.instance_update(uuid, {"task_state": states.REBUILD_SPAWNING},
                                            expected_task_state=[states.REBUILDING])
            try:
                await self.driver.rebuild(spec)
            except InstanceNotFound:
                # no guest left (a failed build or rebuild in ERROR): Nova's
                # destroy-then-spawn makes a new one, and so do we
                await self.driver.spawn(spec)
            if stopped:
                await self.driver.power_off(uuid)
        except Exception as exc:
            await conductor.action_event_finish(uuid, event, self.host, "Error",
                                                traceback.format_exc(), request_id=request_id)
            if isinstance(exc, InstanceNotFound):
                raise ApplicationError(INSTANCE_NOT_FOUND, str(exc)) from exc
            if isinstance(exc, DriverError):
                raise ApplicationError(REBUILD_FAILED, f"rebuild of {uuid} on {self.host} "
                                                       f"failed: {exc}") from exc
            raise
        await conductor.action_event_finish(uuid, event, self.host, "Success",
                                            request_id=request_id)
        final = ({"vm_state": states.STOPPED, "power_state": power_state.SHUTDOWN} if stopped
                 else {"vm_state": states.ACTIVE, "power_state": power_state.RUNNING})
        try:
            updated = await conductor.instance_update(
                uuid, {**final, "task_state": None, "launched_at": _now()},
                expected_task_state=[states.REBUILD_SPAWNING])
        except ApplicationError as exc:
            if exc.error == UNEXPECTED_TASK_STATE:  # deleted meanwhile: the guest goes too
                await self._cleanup_failed_build(uuid)
            raise
        return dict(updated or {})

    async def _event(self, uuid: str, event: str, work: Any, request_id: str | None) -> None:
        """Run driver *work* between action event start and finish."""
        conductor = self.conductor
        await conductor.action_event_start(uuid, event, self.host, request_id)
        try:
            await work
        except InstanceNotFound as exc:
            await conductor.action_event_finish(uuid, event, self.host, "Error", str(exc),
                                                request_id=request_id)
            raise ApplicationError(INSTANCE_NOT_FOUND, str(exc)) from exc
        except Exception:
            await conductor.action_event_finish(uuid, event, self.host, "Error",
                                                traceback.format_exc(), request_id=request_id)
            raise
        await conductor.action_event_finish(uuid, event, self.host, "Success",
                                            request_id=request_id)

    # -- consoles ----------------------------------------------------------------

    async def get_console(self, uuid: str, kind: str) -> dict[str, Any]:
        """Where the guest's console of *kind* listens (for consoleauth and proxies)."""
        try:
            endpoint = await self.driver.get_console(uuid, kind)
        except InstanceNotFound as exc:
            raise ApplicationError(INSTANCE_NOT_FOUND, str(exc)) from exc
        except ConsoleTypeUnavailable as exc:
            raise ApplicationError(CONSOLE_UNAVAILABLE, str(exc)) from exc
        return {"kind": endpoint.kind, "host": endpoint.host, "port": endpoint.port,
                "password": endpoint.password, "tls": endpoint.tls}

    async def get_console_output(self, uuid: str) -> str:
        """The guest's console log so far."""
        try:
            return str(await self.driver.get_console_output(uuid))
        except InstanceNotFound as exc:
            raise ApplicationError(INSTANCE_NOT_FOUND, str(exc)) from exc
