"""
Tests for L{nova_ws.db.queries.services} on every backend.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nova_ws.db.errors import Conflict, NotFound, flush_or_conflict
from nova_ws.db.models import Service as ServiceRow
from nova_ws.db.queries import services
from tests.db.conftest import NOW


def test_register_creates(session: Session) -> None:
    """
    When a service registers for the first time, it is created up and enabled.
    """
    service = services.register_service(session, "h1", "nova-compute", topic="compute",
                                         availability_zone="az1", version=3, now=NOW)
    assert (service.host, service.binary, service.topic) == ("h1", "nova-compute", "compute")
    assert service.availability_zone == "az1"
    assert service.version == 3
    assert service.disabled is False and service.forced_down is False
    assert service.report_count == 0
    assert service.last_seen_up == NOW
    assert service.created_at == NOW
    assert services.get_service(session, "h1", "nova-compute") == service


def test_register_again_updates(session: Session) -> None:
    """
    When a registered service registers again, the same row is updated.
    """
    first = services.register_service(session, "h1", "nova-compute", version=1, now=NOW)
    later = NOW + timedelta(minutes=5)
    again = services.register_service(session, "h1", "nova-compute", version=2, now=later)
    assert again.id == first.id
    assert again.version == 2
    assert again.last_seen_up == later
    assert again.updated_at == later
    assert len(services.list_services(session)) == 1


def test_heartbeat(session: Session) -> None:
    """
    When a service reports, its count goes up and its last-seen time moves.
    """
    services.register_service(session, "h1", "nova-compute", now=NOW)
    for n in range(1, 4):
        assert services.heartbeat(session, "h1", "nova-compute", now=NOW + timedelta(seconds=n))
    service = services.get_service(session, "h1", "nova-compute")
    assert service.report_count == 3
    assert service.last_seen_up == service.updated_at == NOW + timedelta(seconds=3)


def test_heartbeat_unknown(session: Session) -> None:
    """
    When an unknown service reports, nothing is created and the answer is False.
    """
    assert services.heartbeat(session, "nope", "nova-compute", now=NOW) is False
    assert services.list_services(session) == []


def test_list_filters(session: Session) -> None:
    """
    When services are listed with filters, only the matching ones come back, by id.
    """
    services.register_service(session, "h1", "nova-compute", now=NOW)
    services.register_service(session, "h2", "nova-compute", now=NOW)
    services.register_service(session, "h1", "nova-scheduler", now=NOW)
    services.disable_service(session, "h2", "nova-compute", "maintenance", now=NOW)
    assert [(s.host, s.binary) for s in services.list_services(session)] == [
        ("h1", "nova-compute"), ("h2", "nova-compute"), ("h1", "nova-scheduler")]
    assert [s.binary for s in services.list_services(session, host="h1")] == [
        "nova-compute", "nova-scheduler"]
    assert [s.host for s in services.list_services(session, binary="nova-compute")] == [
        "h1", "h2"]
    assert [s.host for s in services.list_services(session, disabled=True)] == ["h2"]
    assert len(services.list_services(session, disabled=False)) == 2


def test_disable_enable(session: Session) -> None:
    """
    When a service is disabled with a reason and enabled again, the reason is cleared.
    """
    services.register_service(session, "h1", "nova-compute", now=NOW)
    disabled = services.disable_service(session, "h1", "nova-compute", "bad disk", now=NOW)
    assert (disabled.disabled, disabled.disabled_reason) == (True, "bad disk")
    enabled = services.enable_service(session, "h1", "nova-compute", now=NOW)
    assert (enabled.disabled, enabled.disabled_reason) == (False, None)


def test_unknown_service_errors(session: Session) -> None:
    """
    When an unknown service is read, disabled, enabled or forced down, NotFound.
    """
    with pytest.raises(NotFound):
        services.get_service(session, "h1", "nova-compute")
    with pytest.raises(NotFound):
        services.disable_service(session, "h1", "nova-compute")
    with pytest.raises(NotFound):
        services.enable_service(session, "h1", "nova-compute")
    with pytest.raises(NotFound):
        services.set_forced_down(session, "h1", "nova-compute", True)


def test_is_up(session: Session) -> None:
    """
    When a service reported recently it is up, unless forced down or silent too long.
    """
    service = services.register_service(session, "h1", "nova-compute", now=NOW)
    assert services.is_up(service, NOW + timedelta(seconds=60), 60)
    assert not services.is_up(service, NOW + timedelta(seconds=61), 60)
    forced = services.set_forced_down(session, "h1", "nova-compute", True, now=NOW)
    assert forced.forced_down
    assert not services.is_up(forced, NOW, 60)


def test_delete_then_register_again(session: Session) -> None:
    """
    When a service is deleted, it is gone, and the same host and binary may register anew.
    """
    first = services.register_service(session, "h1", "nova-compute", now=NOW)
    assert services.delete_service(session, "h1", "nova-compute", now=NOW)
    assert services.delete_service(session, "h1", "nova-compute", now=NOW) is False
    assert services.list_services(session) == []
    second = services.register_service(session, "h1", "nova-compute", now=NOW)
    assert second.id != first.id
    assert services.delete_service(session, "h1", "nova-compute", now=NOW)
    assert services.list_services(session) == []


def test_duplicate_live_service_refused(engine: Engine) -> None:
    """
    When two transactions register the same service at once, the database keeps one.
    """
    with Session(engine) as one, Session(engine) as two:
        services.register_service(one, "h1", "nova-compute", now=NOW)
        one.commit()
        # as if the second had looked before the first committed, then inserted
        two.add(ServiceRow(host="h1", binary="nova-compute", created_at=NOW))
        with pytest.raises(Conflict):
            flush_or_conflict(two, "service")
