"""
Console auth tokens: issue (only the SHA-256 of the token is stored),
validate-and-consume in one conditional UPDATE, delete an instance's
tokens, purge expired ones.

A single-use token is consumed by the first successful validation; of two
racing validations exactly one succeeds. A multi-use token validates until
it expires (C{used_at} then records the latest use).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, true, update
from sqlalchemy.orm import Session

from nova_ws.db.errors import flush_or_conflict
from nova_ws.db.models import ConsoleAuthToken as TokenRow
from nova_ws.db.models import utcnow
from nova_ws.db.queries._statements import execute_count


def hash_token(token: str) -> str:
    """
    The SHA-256 hex digest under which C{token} is stored.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ConsoleToken:
    """
    What a token grants (the token itself is never stored, so never here).
    """

    id: int
    token_hash: str
    console_type: str
    host: str
    port: int
    internal_access_path: str | None
    instance_uuid: str
    access_url_base: str | None
    expires: datetime
    user_id: str | None
    project_id: str | None
    view_only: bool
    multi_use: bool
    used_at: datetime | None
    created_at: datetime


_FIELDS = tuple(ConsoleToken.__dataclass_fields__)


def _token(row: TokenRow) -> ConsoleToken:
    return ConsoleToken(**{name: getattr(row, name) for name in _FIELDS})


def create_console_token(
    session: Session,
    *,
    token: str,
    instance_uuid: str,
    console_type: str,
    host: str,
    port: int,
    expires: datetime,
    internal_access_path: str | None = None,
    access_url_base: str | None = None,
    user_id: str | None = None,
    project_id: str | None = None,
    view_only: bool = False,
    multi_use: bool = False,
    now: datetime | None = None,
) -> ConsoleToken:
    """
    Store the hash of C{token} with what it grants, valid until C{expires}.

    @raise Conflict: the token is already stored, or the instance does not exist.
    """
    row = TokenRow(
        token_hash=hash_token(token), instance_uuid=instance_uuid, console_type=console_type,
        host=host, port=port, expires=expires, internal_access_path=internal_access_path,
        access_url_base=access_url_base, user_id=user_id, project_id=project_id,
        view_only=view_only, multi_use=multi_use, created_at=now or utcnow(),
    )
    session.add(row)
    flush_or_conflict(session, f"console token for instance {instance_uuid}")
    return _token(row)


def consume_console_token(
    session: Session, token: str, *, now: datetime | None = None
) -> ConsoleToken | None:
    """
    Validate C{token} and, if it is single-use, consume it, atomically: one
    UPDATE sets C{used_at} where the hash matches, C{expires} is after
    C{now}, and the token is unused or multi-use.

    @return: what the token grants, or C{None} if it is unknown, expired or
        already used.
    """
    now = now or utcnow()
    token_hash = hash_token(token)
    statement = (
        update(TokenRow)
        .where(
            TokenRow.token_hash == token_hash,
            TokenRow.expires > now,
            or_(TokenRow.used_at.is_(None), TokenRow.multi_use == true()),
        )
        .values(used_at=now, updated_at=now)
    )
    if execute_count(session, statement) != 1:
        return None
    row = session.scalars(select(TokenRow).where(TokenRow.token_hash == token_hash)).one()
    return _token(row)


def list_console_tokens(session: Session, instance_uuid: str) -> list[ConsoleToken]:
    """
    The instance's stored tokens, oldest first (expired ones included).
    """
    query = select(TokenRow).where(TokenRow.instance_uuid == instance_uuid).order_by(TokenRow.id)
    return [_token(row) for row in session.scalars(query)]


def delete_console_tokens_for_instance(session: Session, instance_uuid: str) -> int:
    """
    Revoke every token of the instance; return how many there were.
    """
    return execute_count(session, delete(TokenRow).where(TokenRow.instance_uuid == instance_uuid))


def purge_expired_console_tokens(session: Session, *, now: datetime | None = None) -> int:
    """
    Delete tokens that expired at or before C{now}; return how many.
    """
    now = now or utcnow()
    return execute_count(session, delete(TokenRow).where(TokenRow.expires <= now))
