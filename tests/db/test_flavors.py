"""
Tests for L{nova_ws.db.queries.flavors} on every backend.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nova_ws.db.errors import Conflict, NotFound
from nova_ws.db.queries import flavors
from tests.db.conftest import NOW


def test_create_and_get(session: Session) -> None:
    """
    When a flavor is created, it reads back by flavorid and by name, with its extra specs.
    """
    created = flavors.create_flavor(
        session, name="gpu.large", flavorid="g1", vcpus=8, memory_mb=32768, root_gb=100,
        ephemeral_gb=10, swap=512, rxtx_factor=2.0, is_public=False, description="GPU",
        extra_specs={"pci_passthrough:alias": "gpu:1"}, now=NOW,
    )
    assert created.flavorid == "g1"
    assert (created.vcpus, created.memory_mb, created.root_gb) == (8, 32768, 100)
    assert (created.ephemeral_gb, created.swap, created.rxtx_factor) == (10, 512, 2.0)
    assert (created.is_public, created.disabled, created.description) == (False, False, "GPU")
    assert created.extra_specs == {"pci_passthrough:alias": "gpu:1"}
    assert created.created_at == NOW
    assert flavors.get_flavor(session, "g1") == created
    assert flavors.get_flavor_by_name(session, "gpu.large") == created


def test_random_flavorid(session: Session) -> None:
    """
    When no flavorid is given, a uuid is made up.
    """
    flavor = flavors.create_flavor(session, name="x", vcpus=1, memory_mb=64)
    assert len(flavor.flavorid) == 36


@pytest.mark.parametrize("clash", ["name", "flavorid"])
def test_duplicates(engine: Engine, clash: str) -> None:
    """
    When a flavor reuses a name or a flavorid, Conflict.
    """
    with Session(engine) as session:
        flavors.create_flavor(session, name="a", flavorid="1", vcpus=1, memory_mb=64)
        name, flavorid = ("a", "2") if clash == "name" else ("b", "1")
        with pytest.raises(Conflict):
            flavors.create_flavor(session, name=name, flavorid=flavorid, vcpus=1, memory_mb=64)


def test_seed_defaults_once(session: Session) -> None:
    """
    When the defaults are seeded twice, Nova's five flavors exist once each.
    """
    created = flavors.seed_default_flavors(session, now=NOW)
    assert [(f.name, f.flavorid, f.vcpus, f.memory_mb, f.root_gb) for f in created] == [
        ("m1.tiny", "1", 1, 512, 1),
        ("m1.small", "2", 1, 2048, 20),
        ("m1.medium", "3", 2, 4096, 40),
        ("m1.large", "4", 4, 8192, 80),
        ("m1.xlarge", "5", 8, 16384, 160),
    ]
    assert flavors.seed_default_flavors(session) == []
    assert [f.name for f in flavors.list_flavors(session)] == [f.name for f in created]


def test_list_filters(session: Session) -> None:
    """
    When flavors are listed with filters, public/private, disabled, minRam and minDisk apply.
    """
    flavors.seed_default_flavors(session, now=NOW)
    flavors.create_flavor(session, name="private", vcpus=1, memory_mb=100, is_public=False)
    flavors.update_flavor(session, "5", disabled=True)
    names = [f.name for f in flavors.list_flavors(session)]
    assert names == ["private", "m1.tiny", "m1.small", "m1.medium", "m1.large"]
    assert [f.name for f in flavors.list_flavors(session, is_public=False)] == ["private"]
    assert "m1.xlarge" in [f.name for f in flavors.list_flavors(session, include_disabled=True)]
    assert [f.name for f in flavors.list_flavors(session, min_memory_mb=4096)] == [
        "m1.medium", "m1.large"]
    assert [f.name for f in flavors.list_flavors(session, min_root_gb=40,
                                                 include_disabled=True)] == [
        "m1.medium", "m1.large", "m1.xlarge"]


def test_update_and_delete(session: Session) -> None:
    """
    When a flavor's description changes and it is then deleted, it is gone with its specs.
    """
    flavors.create_flavor(session, name="a", flavorid="1", vcpus=1, memory_mb=64,
                          extra_specs={"k": "v"})
    updated = flavors.update_flavor(session, "1", description="small", now=NOW)
    assert (updated.description, updated.updated_at, updated.vcpus) == ("small", NOW, 1)
    assert flavors.update_flavor(session, "1", description=None).description is None
    flavors.delete_flavor(session, "1")
    with pytest.raises(NotFound):
        flavors.get_flavor(session, "1")
    with pytest.raises(NotFound):
        flavors.delete_flavor(session, "1")
    with pytest.raises(NotFound):
        flavors.update_flavor(session, "1", disabled=True)
    with pytest.raises(NotFound):
        flavors.get_flavor_by_name(session, "a")


def test_extra_specs(session: Session) -> None:
    """
    When extra specs are set, overwritten and deleted, the flavor keeps what was asked.
    """
    flavors.create_flavor(session, name="a", flavorid="1", vcpus=1, memory_mb=64,
                          extra_specs={"a": "1"})
    assert flavors.set_extra_specs(session, "1", {"a": "2", "b": "3"}, now=NOW) == {
        "a": "2", "b": "3"}
    flavors.delete_extra_spec(session, "1", "a")
    assert flavors.get_flavor(session, "1").extra_specs == {"b": "3"}
    with pytest.raises(NotFound):
        flavors.delete_extra_spec(session, "1", "a")
    with pytest.raises(NotFound):
        flavors.set_extra_specs(session, "2", {"a": "1"})


def test_snapshot(session: Session) -> None:
    """
    When a flavor is snapshotted for an instance, it is plain JSON-ready data.
    """
    flavor = flavors.create_flavor(session, name="a", flavorid="1", vcpus=1, memory_mb=64,
                                   extra_specs={"k": "v"})
    snapshot = flavor.snapshot()
    assert snapshot["flavorid"] == "1" and snapshot["extra_specs"] == {"k": "v"}
    assert set(snapshot) >= {"vcpus", "memory_mb", "root_gb", "ephemeral_gb", "swap", "name"}
