"""
Tests for L{nova_ws.db.queries.instances} on every backend.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nova_ws.db.errors import Conflict, NotFound
from nova_ws.db.queries import flavors, instances
from tests.db import factories
from tests.db.conftest import NOW

UUID = "11111111-1111-1111-1111-111111111111"


def test_create_copies_flavor(session: Session) -> None:
    """
    When an instance is created, the flavor's sizes and a snapshot are copied into it.
    """
    flavor = factories.flavor(session, vcpus=2, memory_mb=4096, root_gb=40, ephemeral_gb=5,
                              extra_specs={"hw:cpu_policy": "dedicated"})
    created = factories.instance(session, flavor_=flavor, uuid=UUID, display_name="vm1",
                                 metadata={"role": "web"}, key_name="k1", reservation_id="r-1")
    assert created.uuid == UUID
    assert (created.vcpus, created.memory_mb, created.root_gb, created.ephemeral_gb) == (
        2, 4096, 40, 5)
    assert created.instance_type_id == flavor.id
    assert created.flavor["name"] == "m1.small"
    assert created.flavor["extra_specs"] == {"hw:cpu_policy": "dedicated"}
    assert (created.vm_state, created.task_state, created.power_state) == (
        "building", "scheduling", 0)
    assert created.metadata == {"role": "web"}
    assert created.created_at == created.updated_at == NOW
    assert created.deleted is False and created.locked is False
    assert instances.get_instance(session, UUID) == created


def test_flavor_change_leaves_instance(session: Session) -> None:
    """
    When the flavor is deleted after boot, the instance keeps its snapshot.
    """
    flavor = factories.flavor(session, flavorid="f1")
    factories.instance(session, flavor_=flavor, uuid=UUID)
    flavors.delete_flavor(session, "f1")
    assert instances.get_instance(session, UUID).flavor["flavorid"] == "f1"


def test_duplicate_uuid(engine: Engine) -> None:
    """
    When a second instance has a uuid in use, Conflict.
    """
    with Session(engine) as session:
        factories.instance(session, uuid=UUID)
        with pytest.raises(Conflict):
            factories.instance(session, uuid=UUID)


def test_get_unknown(session: Session) -> None:
    """
    When an unknown instance is asked for, NotFound.
    """
    with pytest.raises(NotFound):
        instances.get_instance(session, UUID)


def test_list_filters(session: Session) -> None:
    """
    When instances are listed with filters, only matching live ones come back, newest first.
    """
    a = factories.instance(session, project_id="p1", now=NOW)
    b = factories.instance(session, project_id="p2", now=NOW + timedelta(seconds=1))
    c = factories.instance(session, project_id="p1", now=NOW + timedelta(seconds=2))
    instances.update_instance(session, a.uuid, host="h1", vm_state="active", now=NOW)
    instances.update_instance(session, b.uuid, host="h2", vm_state="error", now=NOW)
    assert [i.uuid for i in instances.list_instances(session)] == [c.uuid, b.uuid, a.uuid]
    assert [i.uuid for i in instances.list_instances(session, project_id="p1")] == [
        c.uuid, a.uuid]
    assert [i.uuid for i in instances.list_instances(session, host="h2")] == [b.uuid]
    assert [i.uuid for i in instances.list_instances(session, vm_state="active")] == [a.uuid]
    assert [i.uuid for i in instances.list_instances(
        session, vm_state=["active", "error"])] == [b.uuid, a.uuid]
    assert instances.list_instances(session, user_id="nobody") == []
    instances.soft_delete_instance(session, c.uuid, now=NOW)
    assert [i.uuid for i in instances.list_instances(session, project_id="p1")] == [a.uuid]
    assert len(instances.list_instances(session, include_deleted=True)) == 3


def test_pagination(session: Session) -> None:
    """
    When pages are read with limit and marker, every instance comes once, newest
    first, even when several share a creation time.
    """
    made = [factories.instance(session, now=NOW + timedelta(seconds=n // 3)) for n in range(8)]
    expected = [i.uuid for i in sorted(made, key=lambda i: (i.created_at, i.id), reverse=True)]
    seen: list[str] = []
    marker = None
    while True:
        page = instances.list_instances(session, limit=3, marker=marker)
        if not page:
            break
        assert len(page) <= 3
        seen += [i.uuid for i in page]
        marker = page[-1].uuid
    assert seen == expected
    with pytest.raises(NotFound):
        instances.list_instances(session, marker=UUID)


def test_changes_since(session: Session) -> None:
    """
    When listing changes since a time, instances created, updated or deleted
    since then come back, deleted ones included.
    """
    old = factories.instance(session, now=NOW)
    new = factories.instance(session, now=NOW + timedelta(minutes=2))
    updated = factories.instance(session, now=NOW)
    gone = factories.instance(session, now=NOW)
    since = NOW + timedelta(minutes=1)
    instances.update_instance(session, updated.uuid, display_name="x", now=since)
    instances.soft_delete_instance(session, gone.uuid, now=since + timedelta(seconds=1))
    changed = instances.list_instances(session, changes_since=since)
    assert {i.uuid for i in changed} == {new.uuid, updated.uuid, gone.uuid}
    assert old.uuid not in {i.uuid for i in changed}
    assert [i.deleted for i in changed if i.uuid == gone.uuid] == [True]
    assert {i.uuid for i in instances.list_instances(
        session, changes_since=since, include_deleted=False)} == {new.uuid, updated.uuid}


def test_update_with_expected_task_state(session: Session) -> None:
    """
    When an update expects a task state the instance is not in, nothing changes
    and the answer is False; when it is in it, the update happens.
    """
    factories.instance(session, uuid=UUID)
    assert instances.update_instance(session, UUID, expected_task_state="spawning",
                                     task_state=None, vm_state="active", now=NOW) is False
    assert instances.get_instance(session, UUID).vm_state == "building"
    later = NOW + timedelta(seconds=5)
    assert instances.update_instance(session, UUID, expected_task_state=["scheduling", None],
                                     task_state="spawning", host="h1", node="n1", now=later)
    assert instances.update_instance(session, UUID, expected_task_state="spawning",
                                     expected_vm_state="building", task_state=None,
                                     vm_state="active", power_state=1, launched_at=later)
    got = instances.get_instance(session, UUID)
    assert (got.vm_state, got.task_state, got.power_state) == ("active", None, 1)
    assert (got.host, got.node, got.launched_at) == ("h1", "n1", later)
    assert instances.update_instance(session, UUID, expected_task_state=None, locked=True,
                                     locked_by="owner")
    assert instances.update_instance(session, UUID, expected_vm_state="error",
                                     vm_state="deleted") is False


def test_racing_state_updates_one_wins(engine: Engine) -> None:
    """
    When two transactions both expect the same task state, only the first commits a change.
    """
    with Session(engine) as session, session.begin():
        factories.instance(session, uuid=UUID)
    with Session(engine) as one, Session(engine) as two:
        assert instances.update_instance(one, UUID, expected_task_state="scheduling",
                                         task_state="spawning")
        one.commit()
        assert not instances.update_instance(two, UUID, expected_task_state="scheduling",
                                             task_state="deleting")
        two.commit()
    with Session(engine) as session:
        assert instances.get_instance(session, UUID).task_state == "spawning"


def test_update_refuses(session: Session) -> None:
    """
    When an update names a frozen or unknown field, or no live instance, it raises.
    """
    factories.instance(session, uuid=UUID)
    with pytest.raises(ValueError):
        instances.update_instance(session, UUID, uuid="other")
    with pytest.raises(ValueError):
        instances.update_instance(session, UUID, colour="red")
    with pytest.raises(NotFound):
        instances.update_instance(session, "nope", vm_state="active")
    instances.soft_delete_instance(session, UUID, now=NOW)
    with pytest.raises(NotFound):
        instances.update_instance(session, UUID, expected_task_state="x", vm_state="active")


def test_metadata(session: Session) -> None:
    """
    When metadata is set, merged, replaced and deleted, the instance keeps what was asked.
    """
    factories.instance(session, uuid=UUID, metadata={"a": "1", "b": "2"})
    assert instances.set_instance_metadata(session, UUID, {"b": "3", "c": "4"}, now=NOW) == {
        "a": "1", "b": "3", "c": "4"}
    assert instances.set_instance_metadata(session, UUID, {"c": "5"}, replace=True) == {
        "c": "5"}
    instances.delete_instance_metadata(session, UUID, "c")
    assert instances.get_instance(session, UUID).metadata == {}
    with pytest.raises(NotFound):
        instances.delete_instance_metadata(session, UUID, "c")
    with pytest.raises(NotFound):
        instances.set_instance_metadata(session, "nope", {"a": "1"})


def test_soft_delete(session: Session) -> None:
    """
    When an instance is deleted, it is hidden but kept, and deleting again says False.
    """
    factories.instance(session, uuid=UUID)
    assert instances.soft_delete_instance(session, UUID, now=NOW + timedelta(hours=1))
    assert instances.soft_delete_instance(session, UUID) is False
    with pytest.raises(NotFound):
        instances.get_instance(session, UUID)
    gone = instances.get_instance(session, UUID, include_deleted=True)
    assert gone.deleted is True
    assert gone.deleted_at == gone.updated_at == NOW + timedelta(hours=1)


def test_project_usage(session: Session) -> None:
    """
    When a project's usage is counted, only its live instances are summed.
    """
    big = factories.flavor(session, "big", vcpus=4, memory_mb=8192)
    factories.instance(session, flavor_=big)
    factories.instance(session, flavor_=big)
    gone = factories.instance(session, flavor_=big)
    factories.instance(session, flavor_=big, project_id="p2")
    instances.soft_delete_instance(session, gone.uuid)
    assert instances.project_usage(session, "p1") == instances.ProjectUsage(2, 8, 16384)
    assert instances.project_usage(session, "p3") == instances.ProjectUsage(0, 0, 0)
