"""
Quotas: the limits a project was given of its own (the rest are the
C{[quota]} defaults of nova.conf, which the API applies).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nova_ws.db.errors import flush_or_conflict
from nova_ws.db.models import Quota, utcnow
from nova_ws.db.queries._statements import execute_count


def get_project_quotas(session: Session, project_id: str) -> dict[str, int]:
    """
    The project's own limits by resource name (empty if it has none).
    """
    rows = session.scalars(select(Quota).where(Quota.project_id == project_id))
    return {row.resource: row.hard_limit for row in rows}


def set_project_quotas(
    session: Session, project_id: str, limits: Mapping[str, int], *,
    now: datetime | None = None,
) -> dict[str, int]:
    """
    Give the project these limits (others it has stay as they are) and
    return all of its own limits.

    @raise Conflict: another transaction created one of the rows meanwhile
        (run it again).
    """
    now = now or utcnow()
    rows = {row.resource: row for row in session.scalars(
        select(Quota).where(Quota.project_id == project_id))}
    for resource, hard_limit in limits.items():
        row = rows.get(resource)
        if row is None:
            rows[resource] = row = Quota(project_id=project_id, resource=resource,
                                         hard_limit=hard_limit, created_at=now)
            session.add(row)
        elif row.hard_limit != hard_limit:
            row.hard_limit, row.updated_at = hard_limit, now
    flush_or_conflict(session, f"quotas of project {project_id}")
    return {resource: row.hard_limit for resource, row in rows.items()}


def delete_project_quotas(session: Session, project_id: str) -> int:
    """
    Forget the project's own limits (it falls back to the defaults); return
    how many there were.
    """
    return execute_count(session, delete(Quota).where(Quota.project_id == project_id))
