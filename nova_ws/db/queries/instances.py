"""
Instances: create, get, list (filters, changes-since, pagination), update
with an expected-state check, metadata, soft delete, per-project usage.

State checks are the Nova way: the UPDATE itself carries
C{WHERE task_state IN (...)}, so of two racing requests exactly one wins.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from nova_ws.db.errors import NotFound, flush_or_conflict
from nova_ws.db.models import Instance as InstanceRow
from nova_ws.db.models import InstanceMetadata, utcnow
from nova_ws.db.queries._statements import execute_count
from nova_ws.db.queries.flavors import Flavor

#: Columns that L{update_instance} refuses to change.
FROZEN_COLUMNS = frozenset({"id", "uuid", "created_at", "deleted", "deleted_at"})


class _Any:
    """The "no check" value of L{update_instance}'s expected states."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _Any()


@dataclass(frozen=True)
class Instance:
    """
    An instance with its metadata. C{flavor} is the snapshot taken at boot
    (L{Flavor.snapshot}); C{deleted} is C{True} once soft-deleted.
    """

    id: int
    uuid: str
    display_name: str | None
    hostname: str | None
    project_id: str
    user_id: str
    instance_type_id: int | None
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int
    flavor: dict[str, Any]
    image_ref: str | None
    host: str | None
    node: str | None
    availability_zone: str | None
    vm_state: str
    task_state: str | None
    power_state: int
    launched_at: datetime | None
    terminated_at: datetime | None
    key_name: str | None
    reservation_id: str | None
    launch_index: int
    locked: bool
    locked_by: str | None
    created_at: datetime
    updated_at: datetime | None
    deleted: bool
    deleted_at: datetime | None
    metadata: dict[str, str] = field(default_factory=dict)
    description: str | None = None


_COLUMNS = tuple(name for name in Instance.__dataclass_fields__
                 if name not in ("deleted", "metadata"))
_SELECT = select(InstanceRow).options(selectinload(InstanceRow.metadata_items))
#: Listings read plain rows (no ORM objects: several times faster per row)
#: and the metadata of the page in one more query (L{load_instances}).
SELECT_ROWS = select(*(getattr(InstanceRow, name) for name in _COLUMNS), InstanceRow.deleted)
_METADATA_CHUNK = 500  # uuids per IN (...): under every backend's parameter limit


def _instance(row: InstanceRow) -> Instance:
    return Instance(
        deleted=row.deleted != 0,
        metadata={item.key: item.value for item in row.metadata_items},
        **{name: getattr(row, name) for name in _COLUMNS},
    )


def load_instances(session: Session, query: Select[Any]) -> list[Instance]:
    """The instances a L{SELECT_ROWS} query finds, in its order, with their metadata."""
    rows = session.execute(query).all()
    metadata: dict[str, dict[str, str]] = {}
    uuids = [row.uuid for row in rows]
    m = InstanceMetadata
    for start in range(0, len(uuids), _METADATA_CHUNK):
        chunk = uuids[start:start + _METADATA_CHUNK]
        for uuid, key, value in session.execute(
                select(m.instance_uuid, m.key, m.value).where(m.instance_uuid.in_(chunk))):
            metadata.setdefault(uuid, {})[key] = value
    width = len(_COLUMNS)
    return [Instance(deleted=row[width] != 0, metadata=metadata.get(row.uuid, {}),
                     **dict(zip(_COLUMNS, row[:width], strict=True)))
            for row in rows]


def create_instance(
    session: Session,
    *,
    project_id: str,
    user_id: str,
    flavor: Flavor,
    image_ref: str | None = None,
    display_name: str | None = None,
    hostname: str | None = None,
    description: str | None = None,
    uuid: str | None = None,
    availability_zone: str | None = None,
    key_name: str | None = None,
    metadata: Mapping[str, str] | None = None,
    reservation_id: str | None = None,
    launch_index: int = 0,
    vm_state: str = "building",
    task_state: str | None = "scheduling",
    now: datetime | None = None,
) -> Instance:
    """
    Create an instance (default: building, scheduling), copying the flavor's
    sizes and a snapshot of it. C{updated_at} starts equal to C{created_at},
    so C{changes_since} sees new instances.

    @raise Conflict: the uuid is taken.
    """
    now = now or utcnow()
    row = InstanceRow(
        uuid=uuid or str(uuidlib.uuid4()), display_name=display_name, hostname=hostname,
        description=description,
        project_id=project_id, user_id=user_id, instance_type_id=flavor.id,
        vcpus=flavor.vcpus, memory_mb=flavor.memory_mb, root_gb=flavor.root_gb,
        ephemeral_gb=flavor.ephemeral_gb, flavor=flavor.snapshot(), image_ref=image_ref,
        availability_zone=availability_zone, vm_state=vm_state, task_state=task_state,
        power_state=0, key_name=key_name, reservation_id=reservation_id,
        launch_index=launch_index, locked=False, created_at=now, updated_at=now,
        metadata_items=[InstanceMetadata(key=k, value=v, created_at=now)
                        for k, v in (metadata or {}).items()],
    )
    session.add(row)
    flush_or_conflict(session, f"instance {row.uuid}")
    return _instance(row)


def get_instance(session: Session, uuid: str, *, include_deleted: bool = False) -> Instance:
    """
    The instance C{uuid}.

    @raise NotFound: no such instance (or it is deleted and
        C{include_deleted} is false).
    """
    query = _SELECT.where(InstanceRow.uuid == uuid)
    if not include_deleted:
        query = query.where(InstanceRow.deleted == 0)
    row = session.scalars(query).one_or_none()
    if row is None:
        raise NotFound(f"instance {uuid}")
    return _instance(row)


def _one_of(column: InstrumentedAttribute[Any], values: Collection[Any]) -> ColumnElement[bool]:
    """C{column IN values}, where a C{None} among the values matches NULL."""
    present = [v for v in values if v is not None]
    clauses = [column.in_(present)] if present else []
    if len(present) != len(values):
        clauses.append(column.is_(None))
    return or_(*clauses) if clauses else column.in_([])


def _states(value: str | None | Collection[str | None]) -> Collection[str | None]:
    return [value] if value is None or isinstance(value, str) else list(value)


def list_instances(
    session: Session,
    *,
    project_id: str | None = None,
    user_id: str | None = None,
    host: str | None = None,
    vm_state: str | Collection[str] | None = None,
    changes_since: datetime | None = None,
    include_deleted: bool | None = None,
    limit: int | None = None,
    marker: str | None = None,
) -> list[Instance]:
    """
    Instances, newest first (C{created_at} then C{id}, both descending),
    filtered by whichever arguments are given.

    @param changes_since: only those updated (or created, or deleted) at or
        after this time; deleted ones are then included, as in Nova.
    @param include_deleted: default: only with C{changes_since}.
    @param marker: the uuid of the last instance of the previous page; the
        page starts after it.
    @raise NotFound: the marker is not an instance.
    """
    i = InstanceRow
    query = SELECT_ROWS.order_by(i.created_at.desc(), i.id.desc())
    if include_deleted is None:
        include_deleted = changes_since is not None
    if not include_deleted:
        query = query.where(i.deleted == 0)
    if project_id is not None:
        query = query.where(i.project_id == project_id)
    if user_id is not None:
        query = query.where(i.user_id == user_id)
    if host is not None:
        query = query.where(i.host == host)
    if vm_state is not None:
        query = query.where(_one_of(i.vm_state, _states(vm_state)))
    if changes_since is not None:
        query = query.where(i.updated_at >= changes_since)
    if marker is not None:
        seen = select(i.created_at, i.id).where(i.uuid == marker)
        if project_id is not None:  # another project's instance is no marker here
            seen = seen.where(i.project_id == project_id)
        found = session.execute(seen).one_or_none()
        if found is None:
            raise NotFound(f"marker instance {marker}")
        created_at, marker_id = found
        query = query.where(or_(i.created_at < created_at,
                                and_(i.created_at == created_at, i.id < marker_id)))
    if limit is not None:
        query = query.limit(limit)
    return load_instances(session, query)


def update_instance(
    session: Session,
    uuid: str,
    /,
    *,
    expected_task_state: str | None | Collection[str | None] = ANY,
    expected_vm_state: str | Collection[str] = ANY,
    now: datetime | None = None,
    **values: Any,
) -> bool:
    """
    Set C{values} (column names) on the live instance C{uuid} in one UPDATE,
    and C{updated_at} to C{now}.

    @param expected_task_state: a state or states (C{None} meaning "no task")
        the instance must be in for the update to happen; default: any.
    @param expected_vm_state: likewise for C{vm_state}.
    @return: C{True} if updated; C{False} if the instance was not in an
        expected state (nothing changed).
    @raise NotFound: no such live instance.
    @raise ValueError: a name in C{values} is not a column that may change.
    """
    unknown = set(values) - (set(InstanceRow.__table__.columns.keys()) - FROZEN_COLUMNS)
    if unknown:
        raise ValueError(f"cannot update instance fields {sorted(unknown)}")
    i = InstanceRow
    statement = update(i).where(i.uuid == uuid, i.deleted == 0)
    if expected_task_state is not ANY:
        statement = statement.where(_one_of(i.task_state, _states(expected_task_state)))
    if expected_vm_state is not ANY:
        statement = statement.where(_one_of(i.vm_state, _states(expected_vm_state)))
    statement = statement.values({"updated_at": now or utcnow(), **values})
    if execute_count(session, statement) == 1:
        return True
    _check_live(session, uuid)
    return False


def _check_live(session: Session, uuid: str) -> None:
    live = session.scalar(
        select(func.count()).where(InstanceRow.uuid == uuid, InstanceRow.deleted == 0)
    )
    if not live:
        raise NotFound(f"instance {uuid}")


def set_instance_metadata(
    session: Session,
    uuid: str,
    metadata: Mapping[str, str],
    *,
    replace: bool = False,
    now: datetime | None = None,
) -> dict[str, str]:
    """
    Add or overwrite metadata keys (with C{replace}, also remove every key
    not in C{metadata}); return the instance's metadata afterwards.

    @raise NotFound: no such live instance.
    """
    now = now or utcnow()
    row = session.scalars(
        _SELECT.where(InstanceRow.uuid == uuid, InstanceRow.deleted == 0)
    ).one_or_none()
    if row is None:
        raise NotFound(f"instance {uuid}")
    items = {item.key: item for item in row.metadata_items}
    for key, item in items.items():
        if replace and key not in metadata:
            row.metadata_items.remove(item)
    for key, value in metadata.items():
        if key in items:
            items[key].value, items[key].updated_at = value, now
        else:
            row.metadata_items.append(InstanceMetadata(key=key, value=value, created_at=now))
    row.updated_at = now
    flush_or_conflict(session, f"metadata of instance {uuid}")
    return {item.key: item.value for item in row.metadata_items}


def delete_instance_metadata(session: Session, uuid: str, key: str) -> None:
    """
    Remove one metadata key.

    @raise NotFound: the instance has no such key.
    """
    statement = delete(InstanceMetadata).where(
        InstanceMetadata.instance_uuid == uuid, InstanceMetadata.key == key
    )
    if not execute_count(session, statement):
        raise NotFound(f"metadata key {key!r} of instance {uuid}")


def soft_delete_instance(session: Session, uuid: str, *, now: datetime | None = None) -> bool:
    """
    Mark the instance deleted (C{deleted_at} and C{updated_at} = C{now});
    its rows stay, so C{changes_since} listings report the deletion.

    @return: C{False} if there is no such live instance.
    """
    now = now or utcnow()
    statement = (
        update(InstanceRow)
        .where(InstanceRow.uuid == uuid, InstanceRow.deleted == 0)
        .values(deleted=InstanceRow.id, deleted_at=now, updated_at=now)
    )
    return execute_count(session, statement) == 1


@dataclass(frozen=True)
class ProjectUsage:
    """
    What a project's live instances hold, for quota checks.
    """

    instances: int
    vcpus: int
    memory_mb: int


def project_usage(session: Session, project_id: str) -> ProjectUsage:
    """
    Count the live instances of C{project_id} and sum their vCPUs and RAM.
    """
    i = InstanceRow
    count, vcpus, memory_mb = session.execute(
        select(func.count(i.id), func.coalesce(func.sum(i.vcpus), 0),
               func.coalesce(func.sum(i.memory_mb), 0))
        .where(i.project_id == project_id, i.deleted == 0)
    ).one()
    return ProjectUsage(int(count), int(vcpus), int(memory_mb))
