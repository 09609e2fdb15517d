"""
Tests for L{nova_ws.db.queries.actions} on every backend.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nova_ws.db.errors import Conflict, NotFound
from nova_ws.db.queries import actions
from tests.db import factories
from tests.db.conftest import NOW

UUID = "33333333-3333-3333-3333-333333333333"


def test_action_lifecycle(session: Session) -> None:
    """
    When an action starts, its events start and finish, and it finishes, all is recorded.
    """
    factories.instance(session, uuid=UUID)
    started = actions.action_start(session, instance_uuid=UUID, action="create",
                                   request_id="req-1", user_id="u1", project_id="p1", now=NOW)
    assert (started.action, started.start_time, started.finish_time) == ("create", NOW, None)
    event = actions.event_start(session, instance_uuid=UUID, request_id="req-1",
                                event="compute_build_and_run_instance", host="h1",
                                now=NOW + timedelta(seconds=1))
    assert (event.host, event.result) == ("h1", None)
    done = actions.event_finish(session, instance_uuid=UUID, request_id="req-1",
                                event="compute_build_and_run_instance",
                                now=NOW + timedelta(seconds=2))
    assert (done.result, done.finish_time) == (actions.SUCCESS, NOW + timedelta(seconds=2))
    finished = actions.action_finish(session, instance_uuid=UUID, request_id="req-1",
                                     now=NOW + timedelta(seconds=3))
    assert finished.finish_time == NOW + timedelta(seconds=3)
    assert finished.message is None
    assert [e.event for e in finished.events] == ["compute_build_and_run_instance"]
    assert actions.get_action(session, UUID, "req-1") == finished


def test_failed_event_marks_action(session: Session) -> None:
    """
    When an event finishes in error, its traceback is kept and the action says Error.
    """
    factories.instance(session, uuid=UUID)
    actions.action_start(session, instance_uuid=UUID, action="reboot", request_id="r")
    actions.event_start(session, instance_uuid=UUID, request_id="r", event="reboot")
    failed = actions.event_finish(session, instance_uuid=UUID, request_id="r", event="reboot",
                                  result=actions.ERROR, traceback="Traceback ...",
                                  details="guest did not answer")
    assert (failed.result, failed.traceback) == (actions.ERROR, "Traceback ...")
    assert failed.details == "guest did not answer"
    assert actions.get_action(session, UUID, "r").message == actions.ERROR


def test_list_newest_first(session: Session) -> None:
    """
    When an instance's actions are listed, the newest comes first, each with its events.
    """
    factories.instance(session, uuid=UUID)
    for n, name in enumerate(["create", "stop", "start"]):
        actions.action_start(session, instance_uuid=UUID, action=name, request_id=f"r{n}",
                             now=NOW + timedelta(minutes=n))
    actions.event_start(session, instance_uuid=UUID, request_id="r1", event="a")
    actions.event_start(session, instance_uuid=UUID, request_id="r1", event="b")
    listed = actions.list_actions(session, UUID)
    assert [a.action for a in listed] == ["start", "stop", "create"]
    assert [e.event for e in listed[1].events] == ["a", "b"]
    assert actions.list_actions(session, "other") == []


def test_unknown(session: Session) -> None:
    """
    When an action or event that never started is finished, NotFound.
    """
    factories.instance(session, uuid=UUID)
    with pytest.raises(NotFound):
        actions.action_finish(session, instance_uuid=UUID, request_id="r")
    with pytest.raises(NotFound):
        actions.event_start(session, instance_uuid=UUID, request_id="r", event="e")
    actions.action_start(session, instance_uuid=UUID, action="create", request_id="r")
    with pytest.raises(NotFound):
        actions.event_finish(session, instance_uuid=UUID, request_id="r", event="e")
    with pytest.raises(NotFound):
        actions.get_action(session, UUID, "other")


def test_action_needs_instance(engine: Engine) -> None:
    """
    When an action names an instance that does not exist, Conflict.
    """
    with Session(engine) as session, pytest.raises(Conflict):
        actions.action_start(session, instance_uuid=UUID, action="create", request_id="r")


def test_updated_at_follows_events(session: Session) -> None:
    """
    When an action's events start and finish, and it finishes, its updated_at
    moves each time (it starts unset), as Nova's does.
    """
    factories.instance(session, uuid=UUID)
    started = actions.action_start(session, instance_uuid=UUID, action="stop", request_id="r",
                                   now=NOW)
    assert started.updated_at is None
    for step, record in enumerate((
            lambda now: actions.event_start(session, instance_uuid=UUID, request_id="r",
                                            event="e", now=now),
            lambda now: actions.event_finish(session, instance_uuid=UUID, request_id="r",
                                             event="e", now=now),
            lambda now: actions.action_finish(session, instance_uuid=UUID, request_id="r",
                                              now=now)), start=1):
        record(NOW + timedelta(seconds=step))
        assert actions.get_action(session, UUID, "r").updated_at == NOW + timedelta(
            seconds=step)
