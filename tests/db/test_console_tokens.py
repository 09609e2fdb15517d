"""
Tests for L{nova_ws.db.queries.console_tokens} on every backend.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from nova_ws.db.errors import Conflict
from nova_ws.db.models import ConsoleAuthToken
from nova_ws.db.queries import console_tokens as tokens
from tests.db import factories
from tests.db.conftest import NOW

UUID = "66666666-6666-6666-6666-666666666666"
TOKEN = "s3cret-token"


def _issue(session: Session, token: str = TOKEN, **kwargs: Any) -> tokens.ConsoleToken:
    values: dict[str, Any] = {
        "instance_uuid": UUID, "console_type": "novnc", "host": "127.0.0.1", "port": 5900,
        "expires": NOW + timedelta(minutes=10), "now": NOW,
    }
    values.update(kwargs)
    return tokens.create_console_token(session, token=token, **values)


def test_only_the_hash_is_stored(session: Session) -> None:
    """
    When a token is issued, the database holds its SHA-256 and never the token.
    """
    factories.instance(session, uuid=UUID)
    issued = _issue(session, internal_access_path="/path", access_url_base="http://p/vnc.html",
                    user_id="u1", project_id="p1", view_only=True)
    assert issued.token_hash == hashlib.sha256(TOKEN.encode()).hexdigest()
    assert (issued.host, issued.port, issued.console_type) == ("127.0.0.1", 5900, "novnc")
    assert (issued.view_only, issued.multi_use, issued.used_at) == (True, False, None)
    stored = session.scalars(select(ConsoleAuthToken)).one()
    assert TOKEN not in {str(getattr(stored, c.key)) for c in ConsoleAuthToken.__table__.c}


def test_single_use(session: Session) -> None:
    """
    When a single-use token is validated twice, the first gets the grant and the second None.
    """
    factories.instance(session, uuid=UUID)
    _issue(session)
    granted = tokens.consume_console_token(session, TOKEN, now=NOW + timedelta(seconds=1))
    assert granted is not None
    assert (granted.instance_uuid, granted.port) == (UUID, 5900)
    assert granted.used_at == NOW + timedelta(seconds=1)
    assert tokens.consume_console_token(session, TOKEN, now=NOW + timedelta(seconds=2)) is None


def test_multi_use(session: Session) -> None:
    """
    When a multi-use token is validated again and again, it grants until it expires.
    """
    factories.instance(session, uuid=UUID)
    _issue(session, multi_use=True)
    for n in range(3):
        assert tokens.consume_console_token(session, TOKEN, now=NOW + timedelta(minutes=n))
    assert tokens.consume_console_token(session, TOKEN, now=NOW + timedelta(minutes=10)) is None


def test_unknown_or_expired(session: Session) -> None:
    """
    When a token is unknown or expired, validation gives None.
    """
    factories.instance(session, uuid=UUID)
    _issue(session)
    assert tokens.consume_console_token(session, "wrong", now=NOW) is None
    assert tokens.consume_console_token(session, TOKEN, now=NOW + timedelta(minutes=10)) is None
    assert tokens.consume_console_token(session, TOKEN, now=NOW + timedelta(minutes=9)) is not None


def test_delete_for_instance_and_purge(session: Session) -> None:
    """
    When an instance's tokens are deleted and expired ones purged, the right ones go.
    """
    other = factories.instance(session)
    factories.instance(session, uuid=UUID)
    _issue(session, "a")
    _issue(session, "b", expires=NOW + timedelta(seconds=1))
    _issue(session, "c", instance_uuid=other.uuid)
    _issue(session, "d", instance_uuid=other.uuid, expires=NOW)
    assert tokens.purge_expired_console_tokens(session, now=NOW) == 1
    assert [t.token_hash for t in tokens.list_console_tokens(session, other.uuid)] == [
        tokens.hash_token("c")]
    assert tokens.delete_console_tokens_for_instance(session, UUID) == 2
    assert tokens.list_console_tokens(session, UUID) == []
    assert tokens.consume_console_token(session, "a", now=NOW) is None


def test_duplicate_or_orphan(engine: Engine) -> None:
    """
    When a token is issued twice, or for an instance that does not exist, Conflict.
    """
    with Session(engine) as session:
        with pytest.raises(Conflict):
            _issue(session)
    with Session(engine) as session:
        factories.instance(session, uuid=UUID)
        _issue(session)
        with pytest.raises(Conflict):
            _issue(session)


def test_racing_validations_one_wins(engine: Engine) -> None:
    """
    When 10 threads validate one single-use token at once, exactly one is granted.
    """
    with Session(engine) as session, session.begin():
        factories.instance(session, uuid=UUID)
        _issue(session)
    start = threading.Barrier(10)

    def validate() -> bool:
        start.wait()
        with Session(engine) as session, session.begin():
            return tokens.consume_console_token(session, TOKEN, now=NOW) is not None

    with ThreadPoolExecutor(10) as pool:
        granted = [f.result() for f in [pool.submit(validate) for _ in range(10)]]
    assert granted.count(True) == 1
