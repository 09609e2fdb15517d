"""
Helpers the query modules share for single-statement writes.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Update
from sqlalchemy.orm import Session


def execute_count(session: Session, statement: Update | Delete) -> int:
    """
    Run one UPDATE or DELETE as a single statement (no extra SELECT to
    synchronize the session) and return how many rows matched.

    The session flushes first (autoflush) and expires what it holds after,
    so later reads in the same transaction see the statement's effect.
    """
    result = session.execute(statement.execution_options(synchronize_session=False))
    session.expire_all()
    return cast(CursorResult[Any], result).rowcount
