"""The conductor manager: ``nova.conductor.*``.

The conductor is the only writer of the database on behalf of compute
hosts: they report through these procedures. It also orchestrates builds
(schedule, claim, call the chosen compute host, reschedule elsewhere when a
build fails, up to ``max_attempts``) and instance actions (check the state
machine, move the task_state atomically, call the compute host), and it
publishes every instance change under ``nova.project.<project_id>.`` so
browsers and clients see it live.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from autobahn.wamp.exception import ApplicationError
from sqlalchemy.orm import Session
from twisted.internet.defer import Deferred, DeferredLock, ensureDeferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from nova_ws.compute import states
from nova_ws.compute.rpcapi import ComputeAPI
from nova_ws.conductor import rpcapi
from nova_ws.conductor.node_events import NodeEvents
from nova_ws.db.engine import Database
from nova_ws.db.queries import (
    actions,
    aggregates,
    compute_nodes,
    instances,
    server_groups,
    services,
)

log = Logger()
INSTANCE_NOT_FOUND = "nova.error.instance_not_found"
INVALID_STATE = "nova.error.instance_invalid_state"
SELECT_DESTINATIONS = "nova.scheduler.select_destinations"

_WRITABLE = {"vm_state", "task_state", "power_state", "host", "node", "launched_at",
             "terminated_at", "display_name"}


def instance_view(inst: instances.Instance) -> dict[str, Any]:
    """The plain view of an instance that events and RPC answers carry."""
    return {"uuid": inst.uuid, "name": inst.display_name, "project_id": inst.project_id,
            "user_id": inst.user_id, "vm_state": inst.vm_state, "task_state": inst.task_state,
            "power_state": inst.power_state, "host": inst.host, "node": inst.node,
            "flavor": dict(inst.flavor), "image_ref": inst.image_ref,
            "availability_zone": inst.availability_zone,
            "launched_at": inst.launched_at.isoformat() if inst.launched_at else None}


_TIMES = {"launched_at", "terminated_at"}


def _parse_time(key: str, value: Any) -> Any:
    if key in _TIMES and isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _update(session: Session, uuid: str, updates: Mapping[str, Any],
            expected: Sequence[str | None] | None) -> instances.Instance | None:
    values = {k: _parse_time(k, v) for k, v in updates.items()}
    kwargs: dict[str, Any] = {}
    if expected is not None:
        kwargs["expected_task_state"] = list(expected)
    if not instances.update_instance(session, uuid, **kwargs, **values):
        return None
    return instances.get_instance(session, uuid)


def _group_of(session: Session, uuid: str) -> dict[str, Any] | None:
    """The instance's server group with the hosts its other members run on."""
    group = server_groups.get_group_for_instance(session, uuid)
    if group is None:
        return None
    hosts = []
    for member in group.members:
        if member == uuid:
            continue
        try:
            other = instances.get_instance(session, member)
        except LookupError:
            continue  # deleted
        if other.host:
            hosts.append(other.host)
    return {"uuid": group.uuid, "policy": group.policy, "member_hosts": hosts,
            "max_server_per_host": int(group.rules.get("max_server_per_host", 1))}


def _current_request(session: Session, uuid: str) -> str | None:
    found = actions.list_actions(session, uuid)
    if not found:
        return None
    return max(found, key=lambda a: (a.start_time or datetime.min.replace(tzinfo=UTC),
                                     a.id)).request_id


class DeletedWhileBuilding(Exception):
    """The instance was deleted before its build could place it."""


CONSOLE_REVOKE = "nova.consoleauth.revoke"
#: actions that take a guest's console away, and the reason consoles close with.
CONSOLE_ENDING_ACTIONS = {"delete": "instance deleted", "stop": "instance stopped",
                          "suspend": "instance suspended", "rebuild": "instance rebuilt"}
#: what a rebuild may change on the instance with its new image (columns, and metadata)
_REBUILD_FIELDS = frozenset({"image_ref", "display_name", "description", "hostname",
                             "key_name", "metadata"})


def _rebuild_changes(rebuild: Any) -> dict[str, Any]:
    """The fields a rebuild writes: its new ``image_ref`` and what else nova-api asked."""
    if not isinstance(rebuild, dict) or not isinstance(rebuild.get("image_ref"), str):
        raise ApplicationError("nova.error.invalid_update", "a rebuild needs an image_ref")
    bad = set(rebuild) - _REBUILD_FIELDS
    if bad:
        raise ApplicationError("nova.error.invalid_update", f"cannot set {sorted(bad)}")
    return dict(rebuild)


class ConductorManager:
    """Writes for compute hosts; orchestrates builds and actions."""

    def __init__(self, db: Database, caller: Any, publish: Callable[..., None],
                 max_attempts: int = 3, service_down_time: float = 60.0,
                 clock: IReactorTime | None = None) -> None:
        self.db = db
        self.caller = caller
        self.compute = ComputeAPI(caller)
        self.publish = publish
        if clock is None:
            from twisted.internet import reactor

            clock = cast(IReactorTime, reactor)
        #: hypervisor usage, pushed after claims, releases and hosts' reports
        self.nodes = NodeEvents(db, publish, clock)
        self._service_states: dict[tuple[str, str], str] = {}
        self.max_attempts = max_attempts
        self.service_down_time = service_down_time
        self.builds: dict[str, Deferred[None]] = {}
        self._group_locks: dict[str, DeferredLock] = {}

    def procedures(self) -> dict[str, Callable[..., Any]]:
        """The procedures to register, by full URI."""
        return {
            rpcapi.SERVICE_HEARTBEAT: self.service_heartbeat,
            rpcapi.COMPUTE_NODE_UPDATE: self.compute_node_update,
            rpcapi.INSTANCE_UPDATE: self.instance_update,
            rpcapi.INSTANCES_ON_HOST: self.instances_on_host,
            rpcapi.ACTION_EVENT_START: self.action_event_start,
            rpcapi.ACTION_EVENT_FINISH: self.action_event_finish,
            rpcapi.BUILD_INSTANCES: self.build_instances,
            rpcapi.INSTANCE_ACTION: self.instance_action,
            rpcapi.SERVICE_UPDATE: self.service_update,
            rpcapi.SERVICE_LIST: self.service_list,
        }

    # -- reports from services and hosts -------------------------------------

    async def service_heartbeat(self, service: dict[str, Any]) -> dict[str, Any]:
        """Register a service on first sight, then count its heartbeats."""
        def beat(session: Session) -> dict[str, Any]:
            host, binary = service["host"], service["binary"]
            if not services.heartbeat(session, host, binary):
                services.register_service(session, host, binary, topic=service.get("topic"),
                                          availability_zone=service.get("zone"))
                services.heartbeat(session, host, binary)
            row = services.get_service(session, host, binary)
            return {"disabled": row.disabled, "forced_down": row.forced_down}
        return await self.db.run(beat)

    async def service_update(self, host: str, binary: str, disabled: bool | None = None,
                             disabled_reason: str | None = None,
                             forced_down: bool | None = None) -> dict[str, Any]:
        """Disable or enable a service, or force it down (as ``os-services`` does)."""
        def change(session: Session) -> tuple[services.Service, dict[str, str]]:
            if disabled is True:
                services.disable_service(session, host, binary, disabled_reason)
            elif disabled is False:
                services.enable_service(session, host, binary)
            if forced_down is not None:
                services.set_forced_down(session, host, binary, forced_down)
            return (services.get_service(session, host, binary),
                    aggregates.host_availability_zones(session))
        try:
            row, zones = await self.db.run(change)
        except LookupError as exc:
            raise ApplicationError("nova.error.service_not_found",
                                   f"no service {binary} on {host}") from exc
        view = self._service_view(row, zones)
        self.publish("nova.event.service", view)
        return view

    async def service_list(self) -> list[dict[str, Any]]:
        """Every service with its computed up/down state and its zone."""
        def read(session: Session) -> tuple[list[services.Service], dict[str, str]]:
            return (services.list_services(session),
                    aggregates.host_availability_zones(session))
        rows, zones = await self.db.run(read)
        return [self._service_view(r, zones) for r in rows]

    async def watch_services(self) -> list[dict[str, Any]]:
        """Publish every service whose up/down state changed since the last look.

        A service that stays connected but stops reporting goes down without
        any update to announce it; the conductor looks periodically, so the
        dashboard and the scheduler hear it. The first look only records.
        Returns the views published.
        """
        views = await self.service_list()
        changed = []
        for view in views:
            key = (view["host"], view["binary"])
            before = self._service_states.get(key)
            self._service_states[key] = view["state"]
            if before is not None and before != view["state"]:
                changed.append(view)
                self.publish("nova.event.service", view)
        return changed

    def _service_view(self, row: services.Service, zones: dict[str, str]) -> dict[str, Any]:
        """The service as RPC answers and events carry it; a compute host's zone is
        its aggregate's (*zones*, by host) when it has one, as in Nova.
        """
        now = datetime.now(UTC)
        zone = zones.get(row.host) if row.binary == "nova-compute" else None
        return {"id": row.id, "host": row.host, "binary": row.binary,
                "zone": zone or row.availability_zone, "disabled": row.disabled,
                "disabled_reason": row.disabled_reason, "forced_down": row.forced_down,
                "state": "up" if services.is_up(row, now, self.service_down_time) else "down",
                "updated_at": (row.last_seen_up or row.created_at).isoformat()}

    async def compute_node_update(self, host: str, resources: dict[str, Any]) -> None:
        """Record a host's totals; usage is driven by the scheduler's claims."""
        node = await self.db.run(lambda s: compute_nodes.upsert_compute_node(
            s, host=host, hypervisor_hostname=resources.get("hypervisor_hostname") or host,
            vcpus=int(resources["vcpus"]), memory_mb=int(resources["memory_mb"]),
            local_gb=int(resources["local_gb"]),
            hypervisor_type=str(resources.get("hypervisor_type", "fake")),
            hypervisor_version=int(resources.get("hypervisor_version", 0)),
            cpu_info={"arch": resources.get("cpu_arch", "x86_64")}))
        self.nodes.changed(node.uuid)

    async def instance_update(self, uuid: str, updates: dict[str, Any],
                              expected_task_state: list[str | None] | None = None
                              ) -> dict[str, Any]:
        """Write instance fields a compute host reports; publish the change."""
        bad = set(updates) - _WRITABLE
        if bad:
            raise ApplicationError("nova.error.invalid_update", f"cannot set {sorted(bad)}")
        inst = await self.db.run(_update, uuid, updates, expected_task_state)
        if inst is None:
            raise ApplicationError(rpcapi.UNEXPECTED_TASK_STATE,
                                   f"instance {uuid} is not in task_state {expected_task_state}")
        view = instance_view(inst)
        self._announce(view)
        return view

    async def instances_on_host(self, host: str) -> list[dict[str, Any]]:
        """The live instances the database places on *host*."""
        found = await self.db.run(lambda s: instances.list_instances(s, host=host))
        return [{"uuid": i.uuid, "vm_state": i.vm_state, "task_state": i.task_state,
                 "power_state": i.power_state} for i in found]

    async def action_event_start(self, uuid: str, event: str, host: str,
                                 request_id: str | None = None) -> None:
        """Record an event of the action *request_id* (default: the latest action)."""
        def start(session: Session) -> None:
            rid = request_id or _current_request(session, uuid)
            if rid is not None:
                actions.event_start(session, instance_uuid=uuid, request_id=rid,
                                    event=event, host=host)
        await self.db.run(start)

    async def action_event_finish(self, uuid: str, event: str, host: str, result: str,
                                  traceback: str | None = None,
                                  request_id: str | None = None) -> None:
        """Record how an event of the action *request_id* (default: the latest) ended."""
        def finish(session: Session) -> None:
            rid = request_id or _current_request(session, uuid)
            if rid is not None:
                actions.event_finish(session, instance_uuid=uuid, request_id=rid,
                                     event=event, result=result, traceback=traceback)
        await self.db.run(finish)

    def _announce(self, view: dict[str, Any]) -> None:
        self.publish(f"nova.project.{view['project_id']}.instance", view)

    # -- builds ------------------------------------------------------------------

    async def build_instances(self, instance_uuids: list[str],
                              request_id: str | None = None) -> list[str]:
        """Schedule and build instances whose rows exist (vm_state building).

        Returns at once with the uuids; each build goes on in the background
        and its progress is published as instance events.
        """
        for uuid in instance_uuids:
            d = ensureDeferred(self._build(uuid, request_id or f"req-{uuidlib.uuid4()}"))
            self.builds[uuid] = d
            d.addBoth(self._forget_build, uuid)
        return list(instance_uuids)

    def _forget_build(self, result: Any, uuid: str) -> None:
        self.builds.pop(uuid, None)
        if isinstance(result, Failure):
            log.failure("build of {uuid} crashed", result, uuid=uuid)

    async def _place(self, uuid: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Select and claim a host, and record it on the instance.

        Members of one server group are placed one at a time (a lock per
        group), each seeing where the others already are, so concurrent
        boots cannot break affinity or anti-affinity.
        """
        group = await self.db.run(_group_of, uuid)
        if group is None:
            dest: dict[str, Any] = await self.caller.call(SELECT_DESTINATIONS, spec)
            return await self._record_placement(uuid, spec, dest)
        lock = self._group_locks.setdefault(group["uuid"], DeferredLock())
        await lock.acquire()
        try:
            spec = {**spec, "group": await self.db.run(_group_of, uuid)}
            dest = await self.caller.call(SELECT_DESTINATIONS, spec)
            return await self._record_placement(uuid, spec, dest)
        finally:
            lock.release()

    async def _record_placement(self, uuid: str, spec: dict[str, Any],
                                dest: dict[str, Any]) -> dict[str, Any]:
        """Put the chosen host on the instance, unless it stopped scheduling meanwhile
        (a delete): then the claim goes back and ``DeletedWhileBuilding`` is raised."""
        try:
            placed = await self.db.run(_update, uuid, {"host": dest["host"],
                                                       "node": dest["node"]}, [states.SCHEDULING])
        except LookupError:  # deleted already
            placed = None
        if placed is None:
            await self.db.run(compute_nodes.release, dest["node"], vcpus=spec["vcpus"],
                              memory_mb=spec["memory_mb"],
                              disk_gb=spec["root_gb"] + spec["ephemeral_gb"])
            self.nodes.changed(dest["node"])
            raise DeletedWhileBuilding(uuid)
        self.nodes.changed(dest["node"])  # the scheduler's claim
        return dest

    async def _build(self, uuid: str, request_id: str) -> None:
        inst = await self.db.run(instances.get_instance, uuid)
        await self.db.run(lambda s: actions.action_start(
            s, instance_uuid=uuid, action="create", request_id=request_id,
            user_id=inst.user_id, project_id=inst.project_id))
        tried: list[str] = []
        reason = "no attempt made"
        for _attempt in range(self.max_attempts):
            spec = {"instance_uuid": uuid, "vcpus": inst.vcpus, "memory_mb": inst.memory_mb,
                    "root_gb": inst.root_gb, "ephemeral_gb": inst.ephemeral_gb,
                    "availability_zone": inst.availability_zone, "ignore_hosts": tried}
            try:
                dest = await self._place(uuid, spec)
            except DeletedWhileBuilding:
                await self._finish_action(uuid, request_id, "deleted while building")
                return
            except ApplicationError as exc:
                reason = str(exc.args[0] if exc.args else exc.error)
                break
            try:
                await self.compute.build_and_run_instance(dest["host"], {
                    "uuid": uuid, "display_name": inst.display_name, "flavor": inst.flavor,
                    "image_ref": inst.image_ref, "project_id": inst.project_id,
                    "request_id": request_id})
                await self._finish_action(uuid, request_id)
                return
            except ApplicationError as exc:
                reason = str(exc.args[0] if exc.args else exc.error)
                if await self._being_deleted(uuid):
                    # the delete won the race: it releases the claim and ends the row
                    log.info("build of {uuid} on {host} stopped: the instance is being deleted",
                             uuid=uuid, host=dest["host"])
                    await self._finish_action(uuid, request_id, "deleted while building")
                    return
                log.warn("build of {uuid} failed on {host}: {reason}; rescheduling",
                         uuid=uuid, host=dest["host"], reason=reason)
                await self.db.run(compute_nodes.release, dest["node"], vcpus=inst.vcpus,
                                  memory_mb=inst.memory_mb,
                                  disk_gb=inst.root_gb + inst.ephemeral_gb)
                self.nodes.changed(dest["node"])
                tried.append(dest["host"])
                await self.db.run(_update, uuid, {"task_state": states.SCHEDULING,
                                                  "host": None, "node": None}, None)
        view = await self.db.run(_update, uuid, {"vm_state": states.ERROR, "task_state": None},
                                 None)
        await self._finish_action(uuid, request_id, reason)
        log.warn("instance {uuid} is in ERROR: {reason}", uuid=uuid, reason=reason)
        if view is not None:
            self._announce(instance_view(view))

    async def _being_deleted(self, uuid: str) -> bool:
        try:
            inst = await self.db.run(instances.get_instance, uuid, include_deleted=True)
        except LookupError:
            return True
        return inst.deleted or inst.vm_state == states.DELETED or \
            inst.task_state == states.DELETING

    # -- actions -------------------------------------------------------------------

    async def instance_action(self, uuid: str, action: str, hard: bool = False,
                              request_id: str | None = None,
                              rebuild: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run *action* on an instance if its state allows it (else a 409-style error).

        A ``rebuild`` carries what it changes (``image_ref`` and, if asked,
        ``display_name``, ``description``, ``hostname``, ``key_name``,
        ``metadata``, which replaces the old): they are written with the move
        to ``rebuilding``, in one transaction, so a refused rebuild changes
        nothing.
        """
        name = "reboot_hard" if action == "reboot" and hard else action
        if name not in states.ACTIONS:
            raise ApplicationError("nova.error.invalid_action", f"unknown action {action!r}")
        request_id = request_id or f"req-{uuidlib.uuid4()}"
        changes = _rebuild_changes(rebuild) if action == "rebuild" else {}
        metadata = changes.pop("metadata", None)

        def begin(session: Session) -> tuple[str, instances.Instance]:
            inst = instances.get_instance(session, uuid)
            transition = states.check(name, inst.vm_state, inst.task_state)
            if action != "delete" and inst.host is None:
                # never built (e.g. no valid host): nothing to act on, and no
                # task state may be left behind
                raise states.InvalidState(name, inst.vm_state, inst.task_state)
            if not instances.update_instance(session, uuid, task_state=transition.task,
                                             expected_task_state=inst.task_state, **changes):
                raise states.InvalidState(name, inst.vm_state, "changing")
            if metadata is not None:
                instances.set_instance_metadata(session, uuid, metadata, replace=True)
            actions.action_start(session, instance_uuid=uuid, action=action,
                                 request_id=request_id, user_id=inst.user_id,
                                 project_id=inst.project_id)
            return inst.vm_state, instances.get_instance(session, uuid)

        try:
            was, inst = await self.db.run(begin)
        except states.InvalidState as exc:
            raise ApplicationError(INVALID_STATE, str(exc)) from exc
        except LookupError as exc:
            raise ApplicationError(INSTANCE_NOT_FOUND, f"instance {uuid} not found") from exc
        self._announce(instance_view(inst))
        if action in CONSOLE_ENDING_ACTIONS:
            await self._end_consoles(uuid, CONSOLE_ENDING_ACTIONS[action])
        if action == "delete":
            return await self._delete(inst, request_id)
        if action == "rebuild":
            return await self._rebuild(inst, was == states.STOPPED, request_id)
        assert inst.host is not None  # begin() refused the instances on no host
        extra: dict[str, Any] = {"request_id": request_id}
        if action == "reboot":
            extra["hard"] = hard
        result = await self.compute.action(inst.host, action, uuid, **extra)
        await self._finish_action(uuid, request_id)
        return dict(result or {})

    async def _rebuild(self, inst: instances.Instance, stopped: bool,
                       request_id: str) -> dict[str, Any]:
        """Have the instance's host rebuild its guest from the (new) image.

        A failure puts the instance in ERROR, as in Nova, and answers its view
        (the API has accepted the rebuild by then); a delete that raced the
        rebuild wins, and the caller hears that the instance is gone.
        """
        assert inst.host is not None  # begin() refuses a rebuild without one
        spec = {"uuid": inst.uuid, "display_name": inst.display_name, "flavor": inst.flavor,
                "image_ref": inst.image_ref, "project_id": inst.project_id,
                "metadata": dict(inst.metadata)}
        try:
            result = await self.compute.rebuild_instance(inst.host, inst.uuid, spec,
                                                         stopped=stopped, request_id=request_id)
        except ApplicationError as exc:
            reason = str(exc.args[0] if exc.args else exc.error)
            if await self._being_deleted(inst.uuid):
                await self._finish_action(inst.uuid, request_id, "deleted while rebuilding")
                raise ApplicationError(INSTANCE_NOT_FOUND,
                                       f"instance {inst.uuid} was deleted while rebuilding"
                                       ) from exc
            log.warn("rebuild of {uuid} failed on {host}: {reason}", uuid=inst.uuid,
                     host=inst.host, reason=reason)
            try:
                failed = await self.db.run(_update, inst.uuid,
                                           {"vm_state": states.ERROR, "task_state": None},
                                           [states.REBUILDING, states.REBUILD_SPAWNING])
            except LookupError:
                failed = None
            await self._finish_action(inst.uuid, request_id, reason)
            if failed is None:
                raise
            view = instance_view(failed)
            self._announce(view)
            return view
        await self._finish_action(inst.uuid, request_id)
        return dict(result or {})

    async def _end_consoles(self, uuid: str, reason: str) -> None:
        """Revoke the instance's console tokens before its guest goes away.

        nova-consoleauth publishes the revocation before it answers, so
        proxies close live consoles with ``reason`` before the guest's
        console port closes under them. Best effort: without consoleauth the
        action still runs.
        """
        try:
            await self.caller.call(CONSOLE_REVOKE, uuid, reason)
        except ApplicationError as exc:
            log.info("console tokens of {uuid} not revoked: {error}", uuid=uuid, error=exc.error)

    async def _finish_action(self, uuid: str, request_id: str,
                             message: str | None = None) -> None:
        await self.db.run(lambda s: actions.action_finish(
            s, instance_uuid=uuid, request_id=request_id, message=message))

    async def _delete(self, inst: instances.Instance, request_id: str) -> dict[str, Any]:
        if inst.host:
            await self.compute.terminate_instance(inst.host, inst.uuid, request_id)

        def finish(session: Session) -> instances.Instance:
            instances.update_instance(session, inst.uuid, vm_state=states.DELETED,
                                      task_state=None, power_state=0,
                                      terminated_at=datetime.now(UTC))
            instances.soft_delete_instance(session, inst.uuid)
            if inst.node:
                compute_nodes.release(session, inst.node, vcpus=inst.vcpus,
                                      memory_mb=inst.memory_mb,
                                      disk_gb=inst.root_gb + inst.ephemeral_gb)
            return instances.get_instance(session, inst.uuid, include_deleted=True)

        done = await self.db.run(finish)
        self.nodes.changed(inst.node)
        view = instance_view(done)
        self._announce(view)
        return view
