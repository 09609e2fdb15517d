"""Instance actions: list and show what the conductor recorded, per microversion
and role (events, traceback, host, hostId, details, paging, deleted servers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest_twisted
from sqlalchemy.orm import Session

from nova_ws.api.compute import views
from nova_ws.db.queries import actions, instances
from tests.api.compute.conftest import BASE, Api, boot, call

T0 = datetime(2030, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def _record(session: Session, uuid: str) -> None:
    """A create that failed once and a stop, as the conductor and compute record them."""
    inst = instances.get_instance(session, uuid)
    who = {"user_id": inst.user_id, "project_id": inst.project_id}
    actions.action_start(session, instance_uuid=uuid, action="create", request_id="req-1",
                         now=T0, **who)
    actions.event_start(session, instance_uuid=uuid, request_id="req-1", host="h1",
                        event="compute_build_and_run_instance", now=T0)
    actions.event_finish(session, instance_uuid=uuid, request_id="req-1",
                         event="compute_build_and_run_instance", result=actions.ERROR,
                         traceback="Traceback ...", details="no room",
                         now=T0 + timedelta(seconds=1))
    actions.event_start(session, instance_uuid=uuid, request_id="req-1", host="h2",
                        event="compute_build_and_run_instance", now=T0 + timedelta(seconds=2))
    actions.action_finish(session, instance_uuid=uuid, request_id="req-1",
                          now=T0 + timedelta(seconds=3))
    actions.action_start(session, instance_uuid=uuid, action="stop", request_id="req-2",
                         now=T0 + timedelta(seconds=10), **who)


@pytest_twisted.ensureDeferred
async def test_list_newest_first_by_microversion(api: Api) -> None:
    """When actions are listed, they come newest first with Nova's fields; updated_at
    from 2.58."""
    uuid = await boot(api)
    await api.db.run(_record, uuid)
    old = await call(api, "GET", f"/servers/{uuid}/os-instance-actions")
    assert old.code == 200
    first, second = old.body["instanceActions"]
    assert (first["action"], second["action"]) == ("stop", "create")
    assert second == {"action": "create", "instance_uuid": uuid, "request_id": "req-1",
                      "user_id": second["user_id"], "project_id": api.projects["demo"],
                      "start_time": "2030-01-02T03:04:05.123456", "message": "Error"}
    new = await call(api, "GET", f"/servers/{uuid}/os-instance-actions", version="2.58")
    assert new.body["instanceActions"][1]["updated_at"] == "2030-01-02T03:04:08.123456"
    assert new.body["instanceActions"][0]["updated_at"] is None
    assert (await call(api, "GET", f"/servers/{uuid}/os-instance-actions", who="other")
            ).code == 404
    assert (await call(api, "GET", f"/servers/{uuid}/os-instance-actions", who="admin")
            ).code == 200


@pytest_twisted.ensureDeferred
async def test_paging_and_changes_from_2_58(api: Api) -> None:
    """When limit, marker and changes-since/-before are given (2.58, 2.66), pages and
    filters are Nova's; bad values are 400."""
    uuid = await boot(api)
    await api.db.run(_record, uuid)
    path = f"/servers/{uuid}/os-instance-actions"
    page = await call(api, "GET", f"{path}?limit=1", version="2.58")
    assert [a["request_id"] for a in page.body["instanceActions"]] == ["req-2"]
    assert page.body["links"] == [{"rel": "next", "href":
                                   f"{BASE}/v2.1{path}?limit=1&marker=req-2"}]
    rest = await call(api, "GET", f"{path}?limit=1&marker=req-2", version="2.58")
    assert [a["request_id"] for a in rest.body["instanceActions"]] == ["req-1"]
    ignored = await call(api, "GET", f"{path}?limit=1", version="2.57")
    assert len(ignored.body["instanceActions"]) == 2 and "links" not in ignored.body
    since = await call(api, "GET", f"{path}?changes-since=2030-01-02T03:04:07Z",
                       version="2.58")
    assert [a["request_id"] for a in since.body["instanceActions"]] == ["req-1"]
    before = await call(api, "GET", f"{path}?changes-before=2030-01-02T03:04:07Z",
                        version="2.66")
    assert before.body["instanceActions"] == []
    for query, version in (("marker=nope", "2.58"), ("limit=-1", "2.58"),
                           ("changes-since=yesterday", "2.58"), ("bogus=1", "2.58"),
                           ("changes-before=2030-01-01T00:00:00Z", "2.65"),
                           ("changes-since=2030-01-02T00:00:00Z&"
                            "changes-before=2030-01-01T00:00:00Z", "2.66")):
        answer = await call(api, "GET", f"{path}?{query}", version=version)
        assert answer.code == 400, (query, answer.body)


@pytest_twisted.ensureDeferred
async def test_show_events_by_role_and_microversion(api: Api) -> None:
    """When an action is shown, events are an admin's (with traceback) until 2.51, then
    everyone's without it; host and hostId from 2.62, details from 2.84."""
    uuid = await boot(api)
    await api.db.run(_record, uuid)
    path = f"/servers/{uuid}/os-instance-actions/req-1"
    member_old = (await call(api, "GET", path, version="2.50")).body["instanceAction"]
    assert "events" not in member_old and member_old["message"] == "Error"
    admin_old = (await call(api, "GET", path, who="admin")).body["instanceAction"]
    newest, oldest = admin_old["events"]
    assert oldest == {"event": "compute_build_and_run_instance",
                      "start_time": "2030-01-02T03:04:05.123456",
                      "finish_time": "2030-01-02T03:04:06.123456", "result": "Error",
                      "traceback": "Traceback ..."}
    assert newest["finish_time"] is None and newest["result"] is None
    member = (await call(api, "GET", path, version="2.51")).body["instanceAction"]
    assert [set(e) for e in member["events"]] == [{"event", "start_time", "finish_time",
                                                   "result"}] * 2
    hosted = (await call(api, "GET", path, version="2.62")).body["instanceAction"]
    assert hosted["events"][1]["hostId"] == views.host_id(api.projects["demo"], "h1")
    assert "host" not in hosted["events"][1]
    admin = (await call(api, "GET", path, who="admin", version="2.84")
             ).body["instanceAction"]
    assert (admin["events"][1]["host"], admin["events"][1]["details"]) == ("h1", "no room")
    missing = await call(api, "GET", f"/servers/{uuid}/os-instance-actions/req-9")
    assert missing.code == 404
    assert missing.body["itemNotFound"]["message"] == "Action req-9 not found"
    assert (await call(api, "GET", path, who="other")).code == 404


@pytest_twisted.ensureDeferred
async def test_deleted_servers_from_2_21(api: Api) -> None:
    """When the server is deleted, its actions are 404 before 2.21 and readable from it."""
    uuid = await boot(api)
    await api.db.run(_record, uuid)
    await api.db.run(instances.soft_delete_instance, uuid)
    path = f"/servers/{uuid}/os-instance-actions"
    assert (await call(api, "GET", path, version="2.20")).code == 404
    listed = await call(api, "GET", path, version="2.21")
    assert len(listed.body["instanceActions"]) == 2
    assert (await call(api, "GET", f"{path}/req-2", version="2.21")).code == 200
    assert (await call(api, "GET", "/servers/nope/os-instance-actions")).code == 404
