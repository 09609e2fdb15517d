"""Tests for the host weighers in L{nova_ws.scheduler.weighers}: each one's raw
score, and that every registered weigher meets L{IHostWeigher}.
"""

from __future__ import annotations

import pytest
from zope.interface.verify import verifyObject

from nova_ws.config import FilterSchedulerSection
from nova_ws.scheduler.weighers.cpu import CPUWeigher
from nova_ws.scheduler.weighers.disk import DiskWeigher
from nova_ws.scheduler.weighers.interfaces import IHostWeigher
from nova_ws.scheduler.weighers.ram import RAMWeigher
from nova_ws.scheduler.weighers.registry import WEIGHERS
from nova_ws.scheduler.weighers.soft_affinity import ServerGroupSoftAffinityWeigher
from nova_ws.scheduler.weighers.soft_anti_affinity import ServerGroupSoftAntiAffinityWeigher
from tests.scheduler.factories import group, host, spec


@pytest.mark.parametrize("name", sorted(WEIGHERS))
def test_registry_conformance(name: str) -> None:
    """
    When any registered weigher is built, it provides IHostWeigher under its
    registry name, keeps its multiplier, and names a real [filter_scheduler] option.
    """
    factory, option_name = WEIGHERS[name]
    weigher = factory(2.5)
    assert verifyObject(IHostWeigher, weigher)
    assert weigher.name == name
    assert weigher.multiplier == 2.5
    assert isinstance(getattr(FilterSchedulerSection(), option_name), float)


def test_ram() -> None:
    """
    When weighed by RAM, a host scores its claimable RAM, ratio included.
    """
    h = host(memory_mb=1000, memory_mb_used=300, ram_allocation_ratio=1.5)
    assert RAMWeigher().weigh(h, spec()) == 1200.0
    assert RAMWeigher().multiplier == 1.0


def test_cpu() -> None:
    """
    When weighed by CPU, a host scores its claimable vCPUs, ratio included.
    """
    h = host(vcpus=4, vcpus_used=10, cpu_allocation_ratio=4.0)
    assert CPUWeigher().weigh(h, spec()) == 6.0


def test_disk() -> None:
    """
    When weighed by disk, a host scores its claimable disk, ratio included.
    """
    h = host(local_gb=100, local_gb_used=40, disk_allocation_ratio=1.0)
    assert DiskWeigher().weigh(h, spec()) == 60.0


def test_soft_affinity() -> None:
    """
    When the request is in a soft-affinity group, a host scores how many members it runs.
    """
    request = spec(group=group("soft-affinity", "a", "b", "a"))
    weigher = ServerGroupSoftAffinityWeigher()
    assert [weigher.weigh(host(n), request) for n in "abc"] == [2.0, 1.0, 0.0]


def test_soft_anti_affinity() -> None:
    """
    When the request is in a soft-anti-affinity group, a host scores minus its members.
    """
    request = spec(group=group("soft-anti-affinity", "a", "b", "a"))
    weigher = ServerGroupSoftAntiAffinityWeigher()
    assert [weigher.weigh(host(n), request) for n in "abc"] == [-2.0, -1.0, 0.0]


@pytest.mark.parametrize(
    "weigher, policies",
    [
        (ServerGroupSoftAffinityWeigher(), ("affinity", "anti-affinity", "soft-anti-affinity")),
        (ServerGroupSoftAntiAffinityWeigher(), ("affinity", "anti-affinity", "soft-affinity")),
    ],
)
def test_soft_weighers_other_requests(weigher: IHostWeigher, policies: tuple[str, ...]) -> None:
    """
    When the request has no group or another policy, the soft weighers score 0 everywhere.
    """
    assert weigher.weigh(host("a"), spec()) == 0.0
    for policy in policies:
        assert weigher.weigh(host("a"), spec(group=group(policy, "a", "a"))) == 0.0
