"""
Instance actions and their events, as Nova records them: an action is
started per API request (instance, request id), events are started and
finished by the services that do the work, and a failed event marks its
action's message C{Error}.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from nova_ws.db.errors import NotFound, flush_or_conflict
from nova_ws.db.models import InstanceAction as ActionRow
from nova_ws.db.models import InstanceActionEvent as EventRow
from nova_ws.db.models import utcnow

SUCCESS = "Success"
ERROR = "Error"


@dataclass(frozen=True)
class InstanceActionEvent:
    """
    One step of an action; C{result} is C{Success} or C{Error} once finished.
    """

    id: int
    event: str
    start_time: datetime | None
    finish_time: datetime | None
    result: str | None
    traceback: str | None
    host: str | None
    details: str | None


@dataclass(frozen=True)
class InstanceAction:
    """
    One action on an instance, with its events in the order they started;
    C{updated_at} moves whenever one of its events starts or finishes, and
    when it finishes.
    """

    id: int
    action: str
    instance_uuid: str
    request_id: str
    user_id: str | None
    project_id: str | None
    start_time: datetime | None
    finish_time: datetime | None
    message: str | None
    updated_at: datetime | None = None
    events: tuple[InstanceActionEvent, ...] = ()


_EVENT_FIELDS = tuple(InstanceActionEvent.__dataclass_fields__)
_ACTION_FIELDS = tuple(name for name in InstanceAction.__dataclass_fields__ if name != "events")
_SELECT = select(ActionRow).options(selectinload(ActionRow.events))


def _event(row: EventRow) -> InstanceActionEvent:
    return InstanceActionEvent(**{name: getattr(row, name) for name in _EVENT_FIELDS})


def _action(row: ActionRow) -> InstanceAction:
    return InstanceAction(events=tuple(_event(e) for e in row.events),
                          **{name: getattr(row, name) for name in _ACTION_FIELDS})


def _row(session: Session, instance_uuid: str, request_id: str) -> ActionRow:
    row = session.scalars(
        _SELECT.where(ActionRow.instance_uuid == instance_uuid,
                      ActionRow.request_id == request_id)
        .order_by(ActionRow.id.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        raise NotFound(f"action of request {request_id} on instance {instance_uuid}")
    return row


def action_start(
    session: Session,
    *,
    instance_uuid: str,
    action: str,
    request_id: str,
    user_id: str | None = None,
    project_id: str | None = None,
    now: datetime | None = None,
) -> InstanceAction:
    """
    Record that C{action} started on the instance for request C{request_id}.

    @raise Conflict: the instance does not exist.
    """
    now = now or utcnow()
    row = ActionRow(instance_uuid=instance_uuid, action=action, request_id=request_id,
                    user_id=user_id, project_id=project_id, start_time=now, created_at=now)
    session.add(row)
    flush_or_conflict(session, f"action {action} on instance {instance_uuid}")
    return _action(row)


def action_finish(
    session: Session,
    *,
    instance_uuid: str,
    request_id: str,
    message: str | None = None,
    now: datetime | None = None,
) -> InstanceAction:
    """
    Record that the request's action finished (C{message} kept if given).

    @raise NotFound: no such action.
    """
    now = now or utcnow()
    row = _row(session, instance_uuid, request_id)
    row.finish_time = row.updated_at = now
    if message is not None:
        row.message = message
    session.flush()
    return _action(row)


def event_start(
    session: Session,
    *,
    instance_uuid: str,
    request_id: str,
    event: str,
    host: str | None = None,
    now: datetime | None = None,
) -> InstanceActionEvent:
    """
    Record that step C{event} of the request's action started on C{host}.

    @raise NotFound: no such action.
    """
    now = now or utcnow()
    action = _row(session, instance_uuid, request_id)
    row = EventRow(event=event, host=host, start_time=now, created_at=now)
    action.events.append(row)
    action.updated_at = now
    session.flush()
    return _event(row)


def event_finish(
    session: Session,
    *,
    instance_uuid: str,
    request_id: str,
    event: str,
    result: str = SUCCESS,
    traceback: str | None = None,
    details: str | None = None,
    now: datetime | None = None,
) -> InstanceActionEvent:
    """
    Record the result of the latest started step C{event} of the request's
    action; an C{Error} result also sets the action's message to C{Error}.

    @raise NotFound: no such action, or that event never started.
    """
    now = now or utcnow()
    action = _row(session, instance_uuid, request_id)
    started = [e for e in action.events if e.event == event]
    if not started:
        raise NotFound(f"event {event} of request {request_id} on instance {instance_uuid}")
    row = started[-1]
    row.finish_time = row.updated_at = now
    row.result, row.traceback, row.details = result, traceback, details
    action.updated_at = now
    if result == ERROR:
        action.message = ERROR
    session.flush()
    return _event(row)


def get_action(session: Session, instance_uuid: str, request_id: str) -> InstanceAction:
    """
    The action of request C{request_id} on the instance, with its events.

    @raise NotFound: no such action.
    """
    return _action(_row(session, instance_uuid, request_id))


def list_actions(session: Session, instance_uuid: str) -> list[InstanceAction]:
    """
    The instance's actions, newest first, with their events.
    """
    query = _SELECT.where(ActionRow.instance_uuid == instance_uuid).order_by(
        ActionRow.start_time.desc(), ActionRow.id.desc()
    )
    return [_action(row) for row in session.scalars(query)]
