"""``/servers/{id}/os-instance-actions``: what was done to a server, and how.

The conductor records an action per request (create, delete, the power
actions) and the events of the services that did the work; this reads
them, newest first. Microversions, as in Nova: a deleted server's actions
from 2.21; ``updated_at``, paging (``limit``, ``marker`` = a request id)
and ``changes-since`` from 2.58, ``changes-before`` from 2.66. An action's
events show to admins always (with the traceback), to its project's users
from 2.51 (without); from 2.62 each event has the opaque ``hostId`` (and
admins the ``host``), from 2.84 its ``details``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nova_ws.api.compute import params, views
from nova_ws.api.compute.context import RequestContext
from nova_ws.api.errors import BadRequest, NotFound
from nova_ws.api.microversions import Version
from nova_ws.db import errors as db_errors
from nova_ws.db.queries import actions, instances
from nova_ws.db.queries.instances import Instance

V2_21, V2_51, V2_58, V2_62, V2_66, V2_84 = (Version(2, n) for n in (21, 51, 58, 62, 66, 84))


def action_view(action: actions.InstanceAction, version: Version) -> dict[str, Any]:
    """Nova's action document (without events)."""
    view: dict[str, Any] = {
        "action": action.action, "instance_uuid": action.instance_uuid,
        "request_id": action.request_id, "user_id": action.user_id,
        "project_id": action.project_id, "start_time": params.nova_time(action.start_time),
        "message": action.message}
    if version >= V2_58:
        view["updated_at"] = params.nova_time(action.updated_at)
    return view


def event_view(event: actions.InstanceActionEvent, project_id: str, version: Version,
               is_admin: bool) -> dict[str, Any]:
    """Nova's event document, as *version* and the asker's role show it."""
    view: dict[str, Any] = {"event": event.event,
                            "start_time": params.nova_time(event.start_time),
                            "finish_time": params.nova_time(event.finish_time),
                            "result": event.result}
    if is_admin:
        view["traceback"] = event.traceback
        if version >= V2_62:
            view["host"] = event.host
    if version >= V2_62:
        view["hostId"] = views.host_id(project_id, event.host)
    if version >= V2_84:
        view["details"] = event.details
    return view


def _changes(since: datetime | None, before: datetime | None,
             action: actions.InstanceAction) -> bool:
    if since is None and before is None:
        return True
    if action.updated_at is None:
        return False
    return not ((since is not None and action.updated_at < since)
                or (before is not None and action.updated_at > before))


class InstanceActions:
    """The instance action handlers; each returns ``(status, body)``."""

    def __init__(self, db: Any, base: str) -> None:
        self.db = db
        self.base = base

    async def _instance(self, ctx: RequestContext, version: Version, uuid: str) -> Instance:
        try:
            inst: Instance = await self.db.run(lambda s: instances.get_instance(
                s, uuid, include_deleted=version >= V2_21))
        except db_errors.NotFound:
            raise NotFound(f"Instance {uuid} could not be found.") from None
        if not ctx.may_see(inst.project_id):
            raise NotFound(f"Instance {uuid} could not be found.")
        return inst

    async def index(self, ctx: RequestContext, version: Version, uuid: str,
                    args: params.Args) -> tuple[int, Any]:
        """The server's actions, newest first."""
        limit = marker = since = before = None
        if version >= V2_58:
            known = ["limit", "marker", "changes-since"]
            if version >= V2_66:
                known.append("changes-before")
            params.check_known(args, known, version, since=V2_58)
            limit = params.non_negative(args, "limit")
            marker = params.one(args, "marker")
            since = params.timestamp(args, "changes-since")
            if version >= V2_66:
                before = params.timestamp(args, "changes-before")
            if since is not None and before is not None and before < since:
                raise BadRequest("The value of changes-since must be less than or equal "
                                 "to changes-before.")
        await self._instance(ctx, version, uuid)

        def read(session: Session) -> list[actions.InstanceAction]:
            return actions.list_actions(session, uuid)

        found = await self.db.run(read)
        if marker is not None:
            ids = [a.request_id for a in found]
            if marker not in ids:
                raise BadRequest(f"Marker {marker} could not be found.")
            found = found[ids.index(marker) + 1:]
        found = [a for a in found if _changes(since, before, a)]
        if version >= V2_58:
            found = found[:params.page_size(limit)]
        answer: dict[str, Any] = {"instanceActions": [action_view(a, version) for a in found]}
        if version >= V2_58:
            links = params.next_links(self.base, f"servers/{uuid}/os-instance-actions", args,
                                      limit, len(found),
                                      found[-1].request_id if found else None)
            if links:
                answer["links"] = links
        return 200, answer

    async def show(self, ctx: RequestContext, version: Version, uuid: str, request_id: str
                   ) -> tuple[int, Any]:
        """One action of the server, with its events as the asker may see them."""
        inst = await self._instance(ctx, version, uuid)
        try:
            action = await self.db.run(actions.get_action, uuid, request_id)
        except db_errors.NotFound:
            raise NotFound(f"Action {request_id} not found") from None
        view = action_view(action, version)
        if ctx.is_admin or version >= V2_51:
            project_id = action.project_id or inst.project_id
            view["events"] = [event_view(e, project_id, version, ctx.is_admin)
                              for e in reversed(action.events)]
        return 200, {"instanceAction": view}
