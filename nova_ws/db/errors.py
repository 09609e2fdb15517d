"""
Errors that query functions raise, whatever the database behind them.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


class DBError(Exception):
    """
    Base class of the errors in this module.
    """


class NotFound(DBError, LookupError):
    """
    The row asked for does not exist (or is soft-deleted).
    """


class Conflict(DBError):
    """
    The write collides with an existing row: a unique key (a duplicate name,
    uuid or token) or a reference to a row that does not exist.

    The session's transaction is spoilt: let the error leave the function
    that L{nova_ws.db.engine.Database.run} called, which rolls it back.
    """


class Ambiguous(DBError, LookupError):
    """
    A lookup by name matched more than one row.
    """


def flush_or_conflict(session: Session, what: str) -> None:
    """
    Flush C{session}; turn a constraint violation into L{Conflict}.

    @param what: names the row in the error message, e.g. C{"flavor 'm1.tiny'"}.
    """
    try:
        session.flush()
    except IntegrityError as e:
        raise Conflict(f"{what}: a duplicate key or a missing reference") from e
