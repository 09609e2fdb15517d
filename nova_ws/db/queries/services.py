"""
Services: registration, heartbeats, listing, disable/enable, forced down.

A service is up (L{is_up}) when it reported within C{service_down_time}
seconds and is not forced down, as Nova's database servicegroup driver says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nova_ws.db.errors import NotFound, flush_or_conflict
from nova_ws.db.models import Service as ServiceRow
from nova_ws.db.models import utcnow
from nova_ws.db.queries._statements import execute_count


@dataclass(frozen=True)
class Service:
    """
    A live (not deleted) service row.
    """

    id: int
    host: str
    binary: str
    topic: str | None
    availability_zone: str | None
    disabled: bool
    disabled_reason: str | None
    report_count: int
    last_seen_up: datetime | None
    forced_down: bool
    version: int
    created_at: datetime
    updated_at: datetime | None


def _service(row: ServiceRow) -> Service:
    return Service(
        id=row.id,
        host=row.host,
        binary=row.binary,
        topic=row.topic,
        availability_zone=row.availability_zone,
        disabled=row.disabled,
        disabled_reason=row.disabled_reason,
        report_count=row.report_count,
        last_seen_up=row.last_seen_up,
        forced_down=row.forced_down,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _row(session: Session, host: str, binary: str) -> ServiceRow | None:
    return session.scalars(
        select(ServiceRow).where(
            ServiceRow.host == host, ServiceRow.binary == binary, ServiceRow.deleted == 0
        )
    ).one_or_none()


def register_service(
    session: Session,
    host: str,
    binary: str,
    *,
    topic: str | None = None,
    availability_zone: str | None = None,
    version: int = 0,
    now: datetime | None = None,
) -> Service:
    """
    Create the service (host, binary), or update its topic, zone and version
    if it exists; either way it counts as a heartbeat.

    @raise Conflict: another transaction created the same service meanwhile.
    """
    now = now or utcnow()
    row = _row(session, host, binary)
    if row is None:
        row = ServiceRow(host=host, binary=binary, created_at=now, report_count=0)
        session.add(row)
    else:
        row.updated_at = now
    row.topic = topic
    row.availability_zone = availability_zone
    row.version = version
    row.last_seen_up = now
    flush_or_conflict(session, f"service {binary} on {host}")
    return _service(row)


def heartbeat(session: Session, host: str, binary: str, *, now: datetime | None = None) -> bool:
    """
    Record that the service reported: C{report_count + 1}, C{last_seen_up}
    and C{updated_at} set to C{now}, in one UPDATE.

    @return: C{False} if no such service exists.
    """
    now = now or utcnow()
    statement = (
        update(ServiceRow)
        .where(ServiceRow.host == host, ServiceRow.binary == binary, ServiceRow.deleted == 0)
        .values(report_count=ServiceRow.report_count + 1, last_seen_up=now, updated_at=now)
    )
    return execute_count(session, statement) == 1


def get_service(session: Session, host: str, binary: str) -> Service:
    """
    The service (host, binary).

    @raise NotFound: it does not exist.
    """
    row = _row(session, host, binary)
    if row is None:
        raise NotFound(f"service {binary} on {host}")
    return _service(row)


def list_services(
    session: Session,
    *,
    host: str | None = None,
    binary: str | None = None,
    disabled: bool | None = None,
) -> list[Service]:
    """
    Live services, ordered by id, filtered by whichever of C{host},
    C{binary} and C{disabled} are given.
    """
    query = select(ServiceRow).where(ServiceRow.deleted == 0).order_by(ServiceRow.id)
    if host is not None:
        query = query.where(ServiceRow.host == host)
    if binary is not None:
        query = query.where(ServiceRow.binary == binary)
    if disabled is not None:
        query = query.where(ServiceRow.disabled == disabled)
    return [_service(row) for row in session.scalars(query)]


def _set(
    session: Session, host: str, binary: str, now: datetime | None, **values: object
) -> Service:
    row = _row(session, host, binary)
    if row is None:
        raise NotFound(f"service {binary} on {host}")
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = now or utcnow()
    session.flush()
    return _service(row)


def disable_service(
    session: Session, host: str, binary: str, reason: str | None = None, *,
    now: datetime | None = None,
) -> Service:
    """
    Disable the service (the scheduler stops picking its host), with a reason.

    @raise NotFound: it does not exist.
    """
    return _set(session, host, binary, now, disabled=True, disabled_reason=reason)


def enable_service(
    session: Session, host: str, binary: str, *, now: datetime | None = None
) -> Service:
    """
    Enable the service and clear its disabled reason.

    @raise NotFound: it does not exist.
    """
    return _set(session, host, binary, now, disabled=False, disabled_reason=None)


def set_forced_down(
    session: Session, host: str, binary: str, forced_down: bool, *, now: datetime | None = None
) -> Service:
    """
    Mark the service down whatever its heartbeats say (or clear that mark).

    @raise NotFound: it does not exist.
    """
    return _set(session, host, binary, now, forced_down=forced_down)


def delete_service(
    session: Session, host: str, binary: str, *, now: datetime | None = None
) -> bool:
    """
    Soft-delete the service; the same (host, binary) may register again.

    @return: C{False} if no such service exists.
    """
    now = now or utcnow()
    statement = (
        update(ServiceRow)
        .where(ServiceRow.host == host, ServiceRow.binary == binary, ServiceRow.deleted == 0)
        .values(deleted=ServiceRow.id, deleted_at=now, updated_at=now)
    )
    return execute_count(session, statement) == 1


def is_up(service: Service, now: datetime, service_down_time: float = 60.0) -> bool:
    """
    Whether C{service} counts as up at C{now}: not forced down, and seen
    within the last C{service_down_time} seconds.
    """
    seen = service.last_seen_up
    if service.forced_down or seen is None:
        return False
    return now - seen <= timedelta(seconds=service_down_time)
