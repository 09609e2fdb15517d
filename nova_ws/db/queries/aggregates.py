"""
Host aggregates: create, rename, set metadata, add and remove hosts, get,
list, delete, and the availability zone an aggregate gives its hosts.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from nova_ws.db.errors import Conflict, NotFound, flush_or_conflict
from nova_ws.db.models import Aggregate as AggregateRow
from nova_ws.db.models import AggregateHost, AggregateMetadata, utcnow
from nova_ws.db.models import Instance as InstanceRow
from nova_ws.db.queries._statements import execute_count

#: The metadata key that puts an aggregate's hosts in an availability zone.
AZ_KEY = "availability_zone"


@dataclass(frozen=True)
class Aggregate:
    """
    An aggregate with its hosts (in the order they were added) and metadata.
    """

    id: int
    uuid: str
    name: str
    created_at: datetime
    updated_at: datetime | None = None
    hosts: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def availability_zone(self) -> str | None:
        """
        The zone the aggregate puts its hosts in, if any.
        """
        return self.metadata.get(AZ_KEY)


_SELECT = select(AggregateRow).options(
    selectinload(AggregateRow.hosts), selectinload(AggregateRow.metadata_items)
)


def _aggregate(row: AggregateRow) -> Aggregate:
    return Aggregate(
        id=row.id, uuid=row.uuid, name=row.name, created_at=row.created_at,
        updated_at=row.updated_at, hosts=tuple(h.host for h in row.hosts),
        metadata={m.key: m.value for m in row.metadata_items},
    )


def _row(session: Session, aggregate_id: int) -> AggregateRow:
    row = session.scalars(_SELECT.where(AggregateRow.id == aggregate_id)).one_or_none()
    if row is None:
        raise NotFound(f"aggregate {aggregate_id}")
    return row


def create_aggregate(
    session: Session,
    *,
    name: str,
    metadata: Mapping[str, str] | None = None,
    uuid: str | None = None,
    now: datetime | None = None,
) -> Aggregate:
    """
    Create an aggregate with no hosts.

    @raise Conflict: the name (or uuid) is taken.
    """
    now = now or utcnow()
    row = AggregateRow(
        uuid=uuid or str(uuidlib.uuid4()), name=name, created_at=now,
        metadata_items=[AggregateMetadata(key=k, value=v, created_at=now)
                        for k, v in (metadata or {}).items()],
    )
    session.add(row)
    flush_or_conflict(session, f"aggregate {name!r}")
    return _aggregate(row)


def get_aggregate(session: Session, aggregate_id: int) -> Aggregate:
    """
    The aggregate C{aggregate_id} with its hosts and metadata.

    @raise NotFound: no such aggregate.
    """
    return _aggregate(_row(session, aggregate_id))


def list_aggregates(session: Session) -> list[Aggregate]:
    """
    Every aggregate, ordered by id.
    """
    return [_aggregate(row) for row in session.scalars(_SELECT.order_by(AggregateRow.id))]


def rename_aggregate(
    session: Session, aggregate_id: int, name: str, *, now: datetime | None = None
) -> Aggregate:
    """
    Give the aggregate another name.

    @raise NotFound: no such aggregate.
    @raise Conflict: another aggregate has that name.
    """
    row = _row(session, aggregate_id)
    if row.name != name:
        row.name = name
        row.updated_at = now or utcnow()
        flush_or_conflict(session, f"aggregate {name!r}")
    return _aggregate(row)


def update_metadata(
    session: Session,
    aggregate_id: int,
    updates: Mapping[str, str | None],
    *,
    now: datetime | None = None,
) -> Aggregate:
    """
    Add or overwrite the given keys; a C{None} value removes its key (a key
    not there is ignored). Other keys stay.

    @raise NotFound: no such aggregate.
    """
    now = now or utcnow()
    row = _row(session, aggregate_id)
    existing = {item.key: item for item in row.metadata_items}
    for key, value in updates.items():
        item = existing.get(key)
        if value is None:
            if item is not None:
                row.metadata_items.remove(item)
        elif item is None:
            row.metadata_items.append(AggregateMetadata(key=key, value=value, created_at=now))
        elif item.value != value:
            item.value = value
            item.updated_at = now
    row.updated_at = now
    flush_or_conflict(session, f"metadata of aggregate {aggregate_id}")
    return _aggregate(row)


def add_host(
    session: Session, aggregate_id: int, host: str, *, now: datetime | None = None
) -> Aggregate:
    """
    Add a host to the aggregate.

    @raise NotFound: no such aggregate.
    @raise Conflict: the host is in it already.
    """
    row = _row(session, aggregate_id)
    if host in {h.host for h in row.hosts}:
        raise Conflict(f"aggregate {aggregate_id} already has host {host}")
    row.hosts.append(AggregateHost(host=host, created_at=now or utcnow()))
    flush_or_conflict(session, f"host {host} of aggregate {aggregate_id}")
    return _aggregate(row)


def remove_host(session: Session, aggregate_id: int, host: str) -> Aggregate:
    """
    Take a host out of the aggregate.

    @raise NotFound: no such aggregate, or the host is not in it.
    """
    row = _row(session, aggregate_id)
    removed = execute_count(session, delete(AggregateHost).where(
        AggregateHost.aggregate_id == row.id, AggregateHost.host == host))
    if not removed:
        raise NotFound(f"host {host} in aggregate {aggregate_id}")
    return _aggregate(_row(session, aggregate_id))


def delete_aggregate(session: Session, aggregate_id: int) -> None:
    """
    Delete an aggregate that has no hosts, with its metadata.

    @raise NotFound: no such aggregate.
    @raise Conflict: it still has hosts.
    """
    row = _row(session, aggregate_id)
    if row.hosts:
        raise Conflict(f"aggregate {aggregate_id} is not empty")
    deleted = execute_count(session, delete(AggregateRow).where(
        AggregateRow.id == aggregate_id,
        ~select(AggregateHost.id).where(AggregateHost.aggregate_id == aggregate_id).exists()))
    if not deleted:  # a host was added meanwhile
        raise Conflict(f"aggregate {aggregate_id} is not empty")


def zoned_aggregates(session: Session, hosts: Iterable[str]) -> list[Aggregate]:
    """
    The aggregates with an availability zone that hold any of C{hosts}, by id.
    """
    wanted = list(dict.fromkeys(hosts))
    if not wanted:
        return []
    holding = select(AggregateHost.aggregate_id).where(AggregateHost.host.in_(wanted))
    zoned = select(AggregateMetadata.aggregate_id).where(AggregateMetadata.key == AZ_KEY)
    query = _SELECT.where(AggregateRow.id.in_(holding), AggregateRow.id.in_(zoned))
    return [_aggregate(row) for row in session.scalars(query.order_by(AggregateRow.id))]


def host_availability_zones(session: Session) -> dict[str, str]:
    """
    The zone of every host that an aggregate puts in one (a host in several
    zoned aggregates, which the API refuses, gets the first zone by name).
    """
    rows = session.execute(
        select(AggregateHost.host, AggregateMetadata.value)
        .join(AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id)
        .where(AggregateMetadata.key == AZ_KEY)
        .order_by(AggregateHost.host, AggregateMetadata.value)
    )
    zones: dict[str, str] = {}
    for host, zone in rows:
        zones.setdefault(host, zone)
    return zones


def count_instances_on_hosts(session: Session, hosts: Iterable[str]) -> int:
    """
    How many instances not deleted are on any of C{hosts}.
    """
    wanted = list(dict.fromkeys(hosts))
    if not wanted:
        return 0
    return int(session.scalar(select(func.count(InstanceRow.id)).where(
        InstanceRow.host.in_(wanted), InstanceRow.deleted == 0)) or 0)
