"""
Tests for L{nova_ws.db.queries.compute_nodes}: totals, and claims that never
overcommit, on every backend.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nova_ws.db.errors import Ambiguous, NotFound
from nova_ws.db.queries import compute_nodes as nodes
from tests.db.conftest import NOW

NODE_UUID = "00000000-0000-0000-0000-0000000000a1"


def _node(session: Session, **kwargs: object) -> nodes.ComputeNode:
    values: dict[str, object] = {
        "host": "h1", "hypervisor_hostname": "h1.example", "vcpus": 4, "memory_mb": 8192,
        "local_gb": 100, "uuid": NODE_UUID, "now": NOW,
    }
    values.update(kwargs)
    return nodes.upsert_compute_node(session, **values)  # type: ignore[arg-type]


def test_upsert_creates_with_nova_ratios(session: Session) -> None:
    """
    When a node first reports, it is created with no usage and Nova's default ratios.
    """
    node = _node(session, cpu_info={"arch": "x86_64"}, hypervisor_type="QEMU",
                 hypervisor_version=8002000)
    assert node.uuid == NODE_UUID
    assert (node.vcpus, node.memory_mb, node.local_gb) == (4, 8192, 100)
    assert (node.vcpus_used, node.memory_mb_used, node.local_gb_used, node.running_vms) == (
        0, 0, 0, 0)
    assert (node.cpu_allocation_ratio, node.ram_allocation_ratio,
            node.disk_allocation_ratio) == (16.0, 1.5, 1.0)
    assert node.cpu_info == {"arch": "x86_64"}
    assert (node.hypervisor_type, node.hypervisor_version) == ("QEMU", 8002000)
    assert nodes.get_compute_node(session, NODE_UUID) == node


def test_upsert_updates_totals_not_usage(session: Session) -> None:
    """
    When a node reports again, totals and given ratios change; usage and uuid stay.
    """
    _node(session)
    assert nodes.claim(session, NODE_UUID, vcpus=2, memory_mb=1024, disk_gb=10)
    node = _node(session, vcpus=8, memory_mb=16384, local_gb=200, uuid="ignored",
                 ram_allocation_ratio=1.0)
    assert node.uuid == NODE_UUID
    assert (node.vcpus, node.memory_mb, node.local_gb) == (8, 16384, 200)
    assert (node.vcpus_used, node.memory_mb_used, node.local_gb_used) == (2, 1024, 10)
    assert (node.cpu_allocation_ratio, node.ram_allocation_ratio) == (16.0, 1.0)
    assert len(nodes.list_compute_nodes(session)) == 1


def test_get_by_host_and_list(session: Session) -> None:
    """
    When a host has one node it can be named by host; with two, that is ambiguous.
    """
    _node(session)
    other = _node(session, host="h2", hypervisor_hostname="h2.example", uuid=None)
    assert nodes.get_compute_node(session, "h1").uuid == NODE_UUID
    assert [n.host for n in nodes.list_compute_nodes(session)] == ["h1", "h2"]
    assert nodes.list_compute_nodes(session, host="h2") == [other]
    _node(session, host="h2", hypervisor_hostname="h2-b.example", uuid=None)
    with pytest.raises(Ambiguous):
        nodes.get_compute_node(session, "h2")
    with pytest.raises(Ambiguous):
        nodes.claim(session, "h2", vcpus=1, memory_mb=1, disk_gb=1)
    with pytest.raises(NotFound):
        nodes.get_compute_node(session, "h3")
    with pytest.raises(NotFound):
        nodes.claim(session, "h3", vcpus=1, memory_mb=1, disk_gb=1)


def test_claim_and_release(session: Session) -> None:
    """
    When a claim fits it is added to usage; release takes it off again.
    """
    _node(session)
    assert nodes.claim(session, "h1", vcpus=2, memory_mb=2048, disk_gb=30)
    node = nodes.get_compute_node(session, NODE_UUID)
    assert (node.vcpus_used, node.memory_mb_used, node.local_gb_used, node.running_vms) == (
        2, 2048, 30, 1)
    assert nodes.release(session, NODE_UUID, vcpus=2, memory_mb=2048, disk_gb=30)
    node = nodes.get_compute_node(session, NODE_UUID)
    assert (node.vcpus_used, node.memory_mb_used, node.local_gb_used, node.running_vms) == (
        0, 0, 0, 0)


@pytest.mark.parametrize(
    "vcpus, memory_mb, disk_gb, fits",
    [
        (64, 0, 0, True),  # 4 x 16.0
        (65, 0, 0, False),
        (0, 12288, 0, True),  # 8192 x 1.5
        (0, 12289, 0, False),
        (0, 0, 100, True),  # 100 x 1.0
        (0, 0, 101, False),
    ],
)
def test_claim_limits(
    session: Session, vcpus: int, memory_mb: int, disk_gb: int, fits: bool
) -> None:
    """
    When a claim would pass total x ratio on any resource, it fails and changes nothing.
    """
    _node(session)
    assert nodes.claim(session, NODE_UUID, vcpus=vcpus, memory_mb=memory_mb,
                       disk_gb=disk_gb) is fits
    node = nodes.get_compute_node(session, NODE_UUID)
    assert node.memory_mb_used == (memory_mb if fits else 0)
    assert node.running_vms == (1 if fits else 0)
    assert node.fits(0, 0, 0)


def test_release_never_below_zero(session: Session) -> None:
    """
    When more is released than was claimed, usage stops at 0.
    """
    _node(session)
    assert nodes.claim(session, NODE_UUID, vcpus=1, memory_mb=512, disk_gb=1)
    assert nodes.release(session, NODE_UUID, vcpus=5, memory_mb=4096, disk_gb=50)
    assert nodes.release(session, NODE_UUID, vcpus=1, memory_mb=1, disk_gb=1)
    node = nodes.get_compute_node(session, NODE_UUID)
    assert (node.vcpus_used, node.memory_mb_used, node.local_gb_used, node.running_vms) == (
        0, 0, 0, 0)


def test_negative_amounts_refused(session: Session) -> None:
    """
    When a claim or release asks for a negative amount, it is a ValueError.
    """
    _node(session)
    with pytest.raises(ValueError):
        nodes.claim(session, NODE_UUID, vcpus=-1, memory_mb=0, disk_gb=0)
    with pytest.raises(ValueError):
        nodes.release(session, NODE_UUID, vcpus=0, memory_mb=-5, disk_gb=0)


def test_fits_matches_claim(session: Session) -> None:
    """
    When a snapshot says a request fits, the claim agrees, and the reverse.
    """
    node = _node(session, memory_mb=1000)
    assert node.fits(1, 1500, 1) and not node.fits(1, 1501, 1)
    assert nodes.claim(session, NODE_UUID, vcpus=1, memory_mb=1500, disk_gb=1)
    assert not nodes.get_compute_node(session, NODE_UUID).fits(0, 1, 0)
    assert not nodes.claim(session, NODE_UUID, vcpus=0, memory_mb=1, disk_gb=0)


def test_set_usage_and_delete(session: Session) -> None:
    """
    When an audit sets usage it is overwritten; a deleted node is gone.
    """
    _node(session)
    node = nodes.set_usage(session, NODE_UUID, vcpus_used=3, memory_mb_used=300,
                           local_gb_used=30, running_vms=2, now=NOW)
    assert (node.vcpus_used, node.memory_mb_used, node.local_gb_used, node.running_vms) == (
        3, 300, 30, 2)
    nodes.delete_compute_node(session, NODE_UUID, now=NOW)
    assert nodes.list_compute_nodes(session) == []
    with pytest.raises(NotFound):
        nodes.claim(session, NODE_UUID, vcpus=1, memory_mb=1, disk_gb=1)
    again = _node(session, uuid="00000000-0000-0000-0000-0000000000a2")
    assert again.memory_mb_used == 0


THREADS = 20
CLAIMS_PER_THREAD = 10
CLAIM_MB = 10
FITTING = 150  # 1000 MB x 1.5 / 10 MB, of 200 claims


def test_concurrent_claims_never_overcommit(engine: Engine) -> None:
    """
    When 20 threads make 10 claims each, in their own transactions, against a
    node with room for 150, exactly 150 succeed and usage ends at capacity.
    """
    with Session(engine) as session, session.begin():
        _node(session, vcpus=1000, memory_mb=1000, local_gb=1000)
    start = threading.Barrier(THREADS)

    def claims() -> int:
        start.wait()
        won = 0
        for _ in range(CLAIMS_PER_THREAD):
            with Session(engine) as session, session.begin():
                won += nodes.claim(session, NODE_UUID, vcpus=1, memory_mb=CLAIM_MB, disk_gb=1)
        return won

    with ThreadPoolExecutor(THREADS) as pool:
        results = [pool.submit(claims) for _ in range(THREADS)]
        won = sum(f.result() for f in results)
    with Session(engine) as session:
        node = nodes.get_compute_node(session, NODE_UUID)
    assert won == FITTING
    assert node.memory_mb_used == FITTING * CLAIM_MB <= node.memory_mb * node.ram_allocation_ratio
    assert node.vcpus_used == node.local_gb_used == node.running_vms == FITTING
