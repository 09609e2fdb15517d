"""
Server groups: create, add and remove members, get, list, delete, and the
group an instance belongs to.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from nova_ws.db.errors import NotFound, flush_or_conflict
from nova_ws.db.models import Instance as InstanceRow
from nova_ws.db.models import ServerGroup as GroupRow
from nova_ws.db.models import ServerGroupMember, utcnow
from nova_ws.db.queries._statements import execute_count

POLICIES = frozenset({"affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"})


@dataclass(frozen=True)
class ServerGroup:
    """
    A server group and the uuids of its member instances, oldest first.
    """

    id: int
    uuid: str
    name: str
    policy: str
    project_id: str
    user_id: str
    created_at: datetime
    rules: dict[str, Any] = field(default_factory=dict)
    members: tuple[str, ...] = ()


_SELECT = select(GroupRow).options(selectinload(GroupRow.members))


def _group(row: GroupRow) -> ServerGroup:
    return ServerGroup(
        id=row.id, uuid=row.uuid, name=row.name, policy=row.policy,
        project_id=row.project_id, user_id=row.user_id, created_at=row.created_at,
        rules=dict(row.rules), members=tuple(m.instance_uuid for m in row.members),
    )


def _row(session: Session, uuid: str) -> GroupRow:
    row = session.scalars(_SELECT.where(GroupRow.uuid == uuid)).one_or_none()
    if row is None:
        raise NotFound(f"server group {uuid}")
    return row


def create_server_group(
    session: Session,
    *,
    name: str,
    policy: str,
    project_id: str,
    user_id: str,
    rules: Mapping[str, Any] | None = None,
    members: Iterable[str] = (),
    uuid: str | None = None,
    now: datetime | None = None,
) -> ServerGroup:
    """
    Create a server group.

    @raise ValueError: unknown policy, or rules on a policy other than
        anti-affinity (the only one Nova gives a rule:
        C{max_server_per_host}).
    @raise Conflict: the uuid is taken.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy {policy!r} is not one of {sorted(POLICIES)}")
    if rules and policy != "anti-affinity":
        raise ValueError(f"policy {policy!r} takes no rules")
    now = now or utcnow()
    row = GroupRow(
        uuid=uuid or str(uuidlib.uuid4()), name=name, policy=policy, rules=dict(rules or {}),
        project_id=project_id, user_id=user_id, created_at=now,
        members=[ServerGroupMember(instance_uuid=m, created_at=now)
                 for m in dict.fromkeys(members)],
    )
    session.add(row)
    flush_or_conflict(session, f"server group {name!r}")
    return _group(row)


def add_members(
    session: Session, uuid: str, instance_uuids: Iterable[str], *, now: datetime | None = None
) -> ServerGroup:
    """
    Add instances to the group; ones already in it are left as they are.

    @raise NotFound: no such group.
    @raise Conflict: another transaction added the same member meanwhile.
    """
    now = now or utcnow()
    row = _row(session, uuid)
    present = {m.instance_uuid for m in row.members}
    for instance_uuid in dict.fromkeys(instance_uuids):
        if instance_uuid not in present:
            row.members.append(ServerGroupMember(instance_uuid=instance_uuid, created_at=now))
    flush_or_conflict(session, f"members of server group {uuid}")
    return _group(row)


def remove_members(session: Session, uuid: str, instance_uuids: Iterable[str]) -> ServerGroup:
    """
    Remove instances from the group (ones not in it are ignored).

    @raise NotFound: no such group.
    """
    group_id = _row(session, uuid).id
    execute_count(
        session,
        delete(ServerGroupMember).where(ServerGroupMember.group_id == group_id,
                                        ServerGroupMember.instance_uuid.in_(list(instance_uuids))),
    )
    return _group(_row(session, uuid))


def get_server_group(session: Session, uuid: str) -> ServerGroup:
    """
    The group C{uuid} with its members.

    @raise NotFound: no such group.
    """
    return _group(_row(session, uuid))


def get_group_for_instance(session: Session, instance_uuid: str) -> ServerGroup | None:
    """
    The group the instance is a member of, or C{None}.
    """
    member_of = select(ServerGroupMember.group_id).where(
        ServerGroupMember.instance_uuid == instance_uuid
    )
    row = session.scalars(
        _SELECT.where(GroupRow.id.in_(member_of)).order_by(GroupRow.id).limit(1)
    ).one_or_none()
    return None if row is None else _group(row)


def list_server_groups(session: Session, *, project_id: str | None = None) -> list[ServerGroup]:
    """
    Groups ordered by id, optionally only those of C{project_id}.
    """
    query = _SELECT.order_by(GroupRow.id)
    if project_id is not None:
        query = query.where(GroupRow.project_id == project_id)
    return [_group(row) for row in session.scalars(query)]


def delete_server_group(session: Session, uuid: str) -> None:
    """
    Delete the group and its memberships (not the instances).

    @raise NotFound: no such group.
    """
    if not execute_count(session, delete(GroupRow).where(GroupRow.uuid == uuid)):
        raise NotFound(f"server group {uuid}")


def count_server_groups(session: Session, project_id: str) -> int:
    """
    How many groups the project has (the C{server_groups} quota counts them).
    """
    return int(session.scalar(
        select(func.count(GroupRow.id)).where(GroupRow.project_id == project_id)) or 0)


def live_members(session: Session, members: Iterable[str]) -> frozenset[str]:
    """
    Those of C{members} that are instances not deleted: a deleted instance
    stays in its group's rows but is no longer shown or counted.
    """
    wanted = list(dict.fromkeys(members))
    if not wanted:
        return frozenset()
    found = session.scalars(select(InstanceRow.uuid).where(
        InstanceRow.uuid.in_(wanted), InstanceRow.deleted == 0))
    return frozenset(found)
