"""
The instance lookups of the EC2 API: by the uuid prefixes its ids carry,
by reservation, and with the recently terminated ones, as EC2 shows them.

An EC2 instance id carries the first 17 hex digits of the instance's uuid
(L{nova_ws.api.ec2.ids}), so an id is found with C{uuid LIKE 'prefix%'} on
the unique uuid column, with no mapping table to keep.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import Session

from nova_ws.db.models import Instance as InstanceRow
from nova_ws.db.queries import instances
from nova_ws.db.queries.instances import Instance

#: What a uuid prefix may hold (so it needs no LIKE escaping).
_PREFIX = re.compile(r"^[0-9a-f-]{1,36}$")


def find_instances(
    session: Session,
    *,
    project_id: str | None = None,
    uuid_prefixes: Collection[str] | None = None,
    reservation_id: str | None = None,
    terminated_since: datetime | None = None,
) -> list[Instance]:
    """
    Live instances, and those deleted at or after C{terminated_since},
    oldest first (C{created_at}, then C{id}), filtered by whichever
    arguments are given.

    @param project_id: only this project's (C{None}: every project's).
    @param uuid_prefixes: only those whose uuid starts with one of these
        (lower-case hex and dashes); an empty collection finds nothing.
    @raise ValueError: a prefix holds something else.
    """
    i = InstanceRow
    alive: ColumnElement[bool] = i.deleted == 0
    if terminated_since is not None:
        alive = or_(alive, and_(i.deleted != 0, i.deleted_at >= terminated_since))
    query = instances._SELECT.where(alive).order_by(i.created_at, i.id)
    if project_id is not None:
        query = query.where(i.project_id == project_id)
    if reservation_id is not None:
        query = query.where(i.reservation_id == reservation_id)
    if uuid_prefixes is not None:
        if not uuid_prefixes:
            return []
        for prefix in uuid_prefixes:
            if not _PREFIX.match(prefix):
                raise ValueError(f"not a uuid prefix: {prefix!r}")
        query = query.where(or_(*(i.uuid.like(prefix + "%") for prefix in uuid_prefixes)))
    return [instances._instance(row) for row in session.scalars(query)]
