"""
Tests for L{nova_ws.db.queries.quotas} on every backend.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nova_ws.db.errors import Conflict, flush_or_conflict
from nova_ws.db.models import Quota
from nova_ws.db.queries import quotas
from tests.db.conftest import NOW


def test_set_get_delete(session: Session) -> None:
    """
    When limits are set twice, the second wins per resource and the rest stay;
    once deleted, the project has none; other projects are untouched.
    """
    assert quotas.get_project_quotas(session, "p1") == {}
    assert quotas.set_project_quotas(session, "p1", {"cores": 4, "ram": -1}, now=NOW) == {
        "cores": 4, "ram": -1}
    assert quotas.set_project_quotas(session, "p1", {"cores": 8, "instances": 2}) == {
        "cores": 8, "ram": -1, "instances": 2}
    quotas.set_project_quotas(session, "p2", {"cores": 1})
    assert quotas.get_project_quotas(session, "p1") == {"cores": 8, "ram": -1, "instances": 2}
    assert quotas.delete_project_quotas(session, "p1") == 3
    assert quotas.get_project_quotas(session, "p1") == {}
    assert quotas.get_project_quotas(session, "p2") == {"cores": 1}
    assert quotas.delete_project_quotas(session, "p1") == 0


def test_one_limit_per_project_and_resource(engine: Engine) -> None:
    """
    When a second row for the same project and resource is written (as a
    concurrent first update would), Conflict; the update then applies to the
    existing row.
    """
    with Session(engine) as session:
        quotas.set_project_quotas(session, "p", {"cores": 1})
        session.commit()
        session.add(Quota(project_id="p", resource="cores", hard_limit=2, created_at=NOW))
        with pytest.raises(Conflict):
            flush_or_conflict(session, "quota")
        session.rollback()
        assert quotas.set_project_quotas(session, "p", {"cores": 2}) == {"cores": 2}
        session.commit()
        assert quotas.get_project_quotas(session, "p") == {"cores": 2}
