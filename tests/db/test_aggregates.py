"""
Tests for L{nova_ws.db.queries.aggregates} on every backend.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from nova_ws.db.errors import Conflict, NotFound, flush_or_conflict
from nova_ws.db.models import AggregateHost, AggregateMetadata
from nova_ws.db.queries import aggregates, instances
from tests.db import factories
from tests.db.conftest import NOW

LATER = NOW + timedelta(minutes=1)


def test_create_get_list(session: Session) -> None:
    """
    When aggregates are created (one in a zone), they read back the same, listed by id.
    """
    made = aggregates.create_aggregate(session, name="a1", metadata={"availability_zone": "z1"},
                                       uuid="66666666-6666-6666-6666-666666666666", now=NOW)
    assert (made.name, made.hosts, made.metadata, made.availability_zone) == (
        "a1", (), {"availability_zone": "z1"}, "z1")
    assert (made.created_at, made.updated_at) == (NOW, None)
    assert aggregates.get_aggregate(session, made.id) == made
    other = aggregates.create_aggregate(session, name="a2")
    assert other.availability_zone is None and other.id > made.id
    assert [a.name for a in aggregates.list_aggregates(session)] == ["a1", "a2"]
    with pytest.raises(NotFound):
        aggregates.get_aggregate(session, other.id + 1)


def test_names_are_unique(engine: Engine) -> None:
    """
    When a second aggregate takes a name in use, by create or rename, Conflict;
    once the first is deleted, the name is free again.
    """
    with Session(engine) as session:
        first = aggregates.create_aggregate(session, name="a")
        second = aggregates.create_aggregate(session, name="b")
        session.commit()
        with pytest.raises(Conflict):
            aggregates.create_aggregate(session, name="a")
        session.rollback()
        with pytest.raises(Conflict):
            aggregates.rename_aggregate(session, second.id, "a")
        session.rollback()
        assert aggregates.rename_aggregate(session, second.id, "c", now=LATER).updated_at == LATER
        assert aggregates.rename_aggregate(session, first.id, "a").name == "a"  # its own name
        aggregates.delete_aggregate(session, first.id)
        assert aggregates.create_aggregate(session, name="a").name == "a"
        session.commit()


def test_metadata(session: Session) -> None:
    """
    When metadata is updated, given keys are set or overwritten, None removes a
    key (a missing one is ignored), and the other keys stay.
    """
    agg = aggregates.create_aggregate(session, name="a", metadata={"k1": "v1", "k2": "v2"})
    updated = aggregates.update_metadata(session, agg.id, {"k1": "x", "k2": None, "k3": "y",
                                                           "gone": None}, now=LATER)
    assert updated.metadata == {"k1": "x", "k3": "y"}
    assert updated.updated_at == LATER
    assert aggregates.get_aggregate(session, agg.id).metadata == {"k1": "x", "k3": "y"}
    assert aggregates.update_metadata(session, agg.id, {}).metadata == {"k1": "x", "k3": "y"}
    with pytest.raises(NotFound):
        aggregates.update_metadata(session, agg.id + 1, {"k": "v"})


def test_hosts(session: Session) -> None:
    """
    When hosts are added and removed, the aggregate lists them in order; a host
    added twice is Conflict, one not in it NotFound; a host may be in several.
    """
    agg = aggregates.create_aggregate(session, name="a")
    other = aggregates.create_aggregate(session, name="b")
    aggregates.add_host(session, agg.id, "h1")
    assert aggregates.add_host(session, agg.id, "h2").hosts == ("h1", "h2")
    assert aggregates.add_host(session, other.id, "h1").hosts == ("h1",)
    with pytest.raises(Conflict):
        aggregates.add_host(session, agg.id, "h1")
    assert aggregates.remove_host(session, agg.id, "h1").hosts == ("h2",)
    with pytest.raises(NotFound):
        aggregates.remove_host(session, agg.id, "h1")
    with pytest.raises(NotFound):
        aggregates.add_host(session, other.id + 1, "h1")
    with pytest.raises(NotFound):
        aggregates.remove_host(session, other.id + 1, "h1")
    assert aggregates.get_aggregate(session, other.id).hosts == ("h1",)


def test_one_row_per_host_and_key(engine: Engine) -> None:
    """
    When a second row for the same aggregate and host (or key) is written, as
    a concurrent add would, the database refuses it.
    """
    with Session(engine) as session:
        agg = aggregates.create_aggregate(session, name="a", metadata={"k": "v"})
        aggregates.add_host(session, agg.id, "h")
        session.commit()
        for row in (AggregateHost(aggregate_id=agg.id, host="h", created_at=NOW),
                    AggregateMetadata(aggregate_id=agg.id, key="k", value="w", created_at=NOW)):
            session.add(row)
            with pytest.raises(Conflict):
                flush_or_conflict(session, "row")
            session.rollback()


def test_delete(session: Session) -> None:
    """
    When an aggregate still has hosts it is not deleted (Conflict); emptied, it
    is deleted with its metadata.
    """
    agg = aggregates.create_aggregate(session, name="a", metadata={"k": "v"})
    aggregates.add_host(session, agg.id, "h")
    with pytest.raises(Conflict):
        aggregates.delete_aggregate(session, agg.id)
    aggregates.remove_host(session, agg.id, "h")
    aggregates.delete_aggregate(session, agg.id)
    with pytest.raises(NotFound):
        aggregates.get_aggregate(session, agg.id)
    with pytest.raises(NotFound):
        aggregates.delete_aggregate(session, agg.id)
    assert session.scalar(select(func.count(AggregateMetadata.id))) == 0


def test_zones_of_hosts(session: Session) -> None:
    """
    When hosts are in aggregates with and without a zone, each host in a zoned
    one has that zone, and the zoned aggregates holding given hosts are found.
    """
    zoned = aggregates.create_aggregate(session, name="z", metadata={"availability_zone": "az1"})
    plain = aggregates.create_aggregate(session, name="p", metadata={"ssd": "true"})
    for host in ("h1", "h2"):
        aggregates.add_host(session, zoned.id, host)
    aggregates.add_host(session, plain.id, "h3")
    aggregates.add_host(session, plain.id, "h1")
    assert aggregates.host_availability_zones(session) == {"h1": "az1", "h2": "az1"}
    assert [a.id for a in aggregates.zoned_aggregates(session, ["h1", "h3"])] == [zoned.id]
    assert aggregates.zoned_aggregates(session, ["h3"]) == []
    assert aggregates.zoned_aggregates(session, []) == []
    aggregates.update_metadata(session, zoned.id, {"availability_zone": None})
    assert aggregates.host_availability_zones(session) == {}


def test_count_instances_on_hosts(session: Session) -> None:
    """
    When instances are on hosts, those not deleted are counted for the hosts asked.
    """
    on_h1, also_h1, on_h2 = (factories.instance(session).uuid for _ in range(3))
    for uuid, host in ((on_h1, "h1"), (also_h1, "h1"), (on_h2, "h2")):
        instances.update_instance(session, uuid, host=host)
    factories.instance(session)  # on no host
    instances.soft_delete_instance(session, also_h1)
    assert aggregates.count_instances_on_hosts(session, ["h1"]) == 1
    assert aggregates.count_instances_on_hosts(session, ["h1", "h2", "h1"]) == 2
    assert aggregates.count_instances_on_hosts(session, ["h3"]) == 0
    assert aggregates.count_instances_on_hosts(session, []) == 0
