"""
The instance lookups of the EC2 API: by the uuid prefixes its ids carry,
by reservation, and with the recently terminated ones, as EC2 shows them;
and the C{ClientToken}s that make C{RunInstances} idempotent.

An EC2 instance id carries the first 17 hex digits of the instance's uuid
(L{nova_ws.api.ec2.ids}), so an id is found with C{uuid LIKE 'prefix%'} on
the unique uuid column, with no mapping table to keep.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from nova_ws.db.errors import flush_or_conflict
from nova_ws.db.models import Ec2ClientToken, utcnow
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
    query = instances.SELECT_ROWS.where(alive).order_by(i.created_at, i.id)
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
    return instances.load_instances(session, query)


@dataclass(frozen=True)
class ClientToken:
    """A claimed C{ClientToken}: its request's digest, its reservation (None: booting)."""

    request_digest: str
    reservation_id: str | None
    created_at: datetime


def claim_client_token(session: Session, project_id: str, token: str, digest: str) -> None:
    """
    Claim C{token} for C{project_id}'s request with C{digest}.

    @raise Conflict: the project has claimed this token already (see
        L{get_client_token}); the session must then be rolled back.
    """
    session.add(Ec2ClientToken(project_id=project_id, client_token=token,
                               request_digest=digest, created_at=utcnow()))
    flush_or_conflict(session, f"client token {token!r}")


def get_client_token(session: Session, project_id: str, token: str) -> ClientToken | None:
    """The project's claim of C{token}, or None."""
    row = session.scalars(select(Ec2ClientToken).where(
        Ec2ClientToken.project_id == project_id,
        Ec2ClientToken.client_token == token)).one_or_none()
    if row is None:
        return None
    return ClientToken(row.request_digest, row.reservation_id, row.created_at)


def settle_client_token(session: Session, project_id: str, token: str,
                        reservation_id: str | None) -> None:
    """Record the reservation C{token}'s request made; None (it failed) releases the token."""
    t = Ec2ClientToken
    where = (t.project_id == project_id, t.client_token == token)
    if reservation_id is None:
        session.execute(delete(t).where(*where))
    else:
        session.execute(update(t).where(*where).values(reservation_id=reservation_id,
                                                       updated_at=utcnow()))
