"""
Tests for L{nova_ws.db.queries.certificates} on every backend.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nova_ws.db.errors import Conflict, NotFound
from nova_ws.db.queries import certificates as certs
from tests.db.conftest import NOW

NOT_AFTER = NOW + timedelta(days=365)


def _record(session: Session, serial: str, **kwargs: str) -> certs.Certificate:
    return certs.record_certificate(session, serial=serial, subject=f"CN={serial}",
                                    not_after=NOT_AFTER, now=NOW, **kwargs)


def test_record_and_get(session: Session) -> None:
    """
    When an issued certificate is recorded, its metadata reads back by serial.
    """
    recorded = _record(session, "0a1b", user_id="u1", project_id="p1", file_name="u1.pem")
    assert (recorded.serial, recorded.subject, recorded.not_after) == (
        "0a1b", "CN=0a1b", NOT_AFTER)
    assert (recorded.user_id, recorded.project_id, recorded.file_name) == (
        "u1", "p1", "u1.pem")
    assert recorded.revoked_at is None
    assert certs.get_certificate(session, "0a1b") == recorded
    with pytest.raises(NotFound):
        certs.get_certificate(session, "ffff")


def test_duplicate_serial(engine: Engine) -> None:
    """
    When a serial is recorded twice, Conflict.
    """
    with Session(engine) as session:
        _record(session, "01")
        with pytest.raises(Conflict):
            _record(session, "01")


def test_revoke_and_list(session: Session) -> None:
    """
    When certificates are revoked, listings by holder and by revocation follow.
    """
    _record(session, "01", user_id="u1", project_id="p1")
    _record(session, "02", user_id="u2", project_id="p1")
    _record(session, "03", user_id="u1", project_id="p2")
    assert certs.revoke_certificate(session, "02", now=NOW + timedelta(days=1))
    assert certs.revoke_certificate(session, "02", now=NOW + timedelta(days=2)) is False
    assert certs.get_certificate(session, "02").revoked_at == NOW + timedelta(days=1)
    with pytest.raises(NotFound):
        certs.revoke_certificate(session, "ff")
    assert [c.serial for c in certs.list_certificates(session)] == ["01", "02", "03"]
    assert [c.serial for c in certs.list_certificates(session, user_id="u1")] == ["01", "03"]
    assert [c.serial for c in certs.list_certificates(session, project_id="p1")] == ["01", "02"]
    assert [c.serial for c in certs.list_certificates(session, revoked=True)] == ["02"]
    assert [c.serial for c in certs.list_certificates(session, revoked=False)] == ["01", "03"]
