"""
Keypairs: a user's named public keys (C{ssh} or C{x509}).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from nova_ws.db.errors import NotFound, flush_or_conflict
from nova_ws.db.models import Keypair as KeypairRow
from nova_ws.db.models import utcnow
from nova_ws.db.queries._statements import execute_count

TYPES = frozenset({"ssh", "x509"})


@dataclass(frozen=True)
class Keypair:
    """
    A user's public key and its fingerprint.
    """

    id: int
    name: str
    user_id: str
    fingerprint: str
    public_key: str
    type: str
    created_at: datetime


_FIELDS = tuple(Keypair.__dataclass_fields__)


def _keypair(row: KeypairRow) -> Keypair:
    return Keypair(**{name: getattr(row, name) for name in _FIELDS})


def create_keypair(
    session: Session,
    *,
    user_id: str,
    name: str,
    public_key: str,
    fingerprint: str,
    type: str = "ssh",
    now: datetime | None = None,
) -> Keypair:
    """
    Store a public key under the user's C{name}.

    @raise Conflict: the user already has a keypair of that name.
    @raise ValueError: unknown type.
    """
    if type not in TYPES:
        raise ValueError(f"keypair type {type!r} is not one of {sorted(TYPES)}")
    row = KeypairRow(user_id=user_id, name=name, public_key=public_key,
                     fingerprint=fingerprint, type=type, created_at=now or utcnow())
    session.add(row)
    flush_or_conflict(session, f"keypair {name!r} of user {user_id}")
    return _keypair(row)


def get_keypair(session: Session, user_id: str, name: str) -> Keypair:
    """
    The user's keypair C{name}.

    @raise NotFound: the user has no such keypair.
    """
    row = session.scalars(
        select(KeypairRow).where(KeypairRow.user_id == user_id, KeypairRow.name == name)
    ).one_or_none()
    if row is None:
        raise NotFound(f"keypair {name!r} of user {user_id}")
    return _keypair(row)


def list_keypairs(
    session: Session, user_id: str, *, limit: int | None = None, marker: str | None = None
) -> list[Keypair]:
    """
    The user's keypairs ordered by name; C{marker} is the last name of the
    previous page.
    """
    query = select(KeypairRow).where(KeypairRow.user_id == user_id).order_by(KeypairRow.name)
    if marker is not None:
        query = query.where(KeypairRow.name > marker)
    if limit is not None:
        query = query.limit(limit)
    return [_keypair(row) for row in session.scalars(query)]


def delete_keypair(session: Session, user_id: str, name: str) -> None:
    """
    Delete the user's keypair C{name}.

    @raise NotFound: the user has no such keypair.
    """
    statement = delete(KeypairRow).where(KeypairRow.user_id == user_id, KeypairRow.name == name)
    if not execute_count(session, statement):
        raise NotFound(f"keypair {name!r} of user {user_id}")


def count_keypairs(session: Session, user_id: str) -> int:
    """
    How many keypairs the user has (the C{key_pairs} quota counts them).
    """
    return int(session.scalar(
        select(func.count(KeypairRow.id)).where(KeypairRow.user_id == user_id)) or 0)
