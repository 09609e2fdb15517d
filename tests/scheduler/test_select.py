"""Tests for L{nova_ws.scheduler.select}: building filters and weighers from
the configuration, filtering, normalised weighing, ordering, the random
subset, L{NoValidHost}, and accounting for earlier choices.
"""

from __future__ import annotations

import random

import pytest

from nova_ws.config import DEFAULT_FILTERS, FilterSchedulerSection
from nova_ws.scheduler.filters.compute_filter import ComputeFilter
from nova_ws.scheduler.filters.ram_filter import RamFilter
from nova_ws.scheduler.filters.registry import FILTERS
from nova_ws.scheduler.request import HostState
from nova_ws.scheduler.select import (
    FilterResult,
    NoValidHost,
    add_group_member,
    apply_claim,
    build_filters,
    build_weighers,
    filter_hosts,
    select_hosts,
    weigh_hosts,
)
from nova_ws.scheduler.weighers.cpu import CPUWeigher
from nova_ws.scheduler.weighers.ram import RAMWeigher
from tests.scheduler.factories import group, host, spec


def _free_ram(*free: int) -> list[HostState]:
    """Hosts h0, h1, ... with the given free RAM (MiB), ratio 1.0."""
    return [
        host(f"h{i}", memory_mb=16384, memory_mb_used=16384 - mb, ram_allocation_ratio=1.0)
        for i, mb in enumerate(free)
    ]


def _names(hosts: list[HostState]) -> list[str]:
    return [h.host for h in hosts]


class _NoRandom(random.Random):
    """A Random that fails the test if asked for a number."""

    def randrange(self, *args: object, **kwargs: object) -> int:
        raise AssertionError("randomness was used")


class TestBuild:
    """build_filters and build_weighers."""

    def test_default_filters_exist(self) -> None:
        """
        When the default enabled_filters are built, each is the registered filter, in order.
        """
        built = build_filters(DEFAULT_FILTERS)
        assert [f.name for f in built] == list(DEFAULT_FILTERS)
        assert set(DEFAULT_FILTERS) <= set(FILTERS)

    def test_unknown_filter(self) -> None:
        """
        When a filter name is unknown, the error names it and lists the known ones.
        """
        with pytest.raises(ValueError) as info:
            build_filters(["ComputeFilter", "RetryFliter"])
        message = str(info.value)
        assert "unknown scheduler filter 'RetryFliter'" in message
        assert "IgnoreHostsFilter" in message and "RamFilter" in message

    def test_weighers_from_config(self) -> None:
        """
        When weighers are built, each gets its [filter_scheduler] multiplier.
        """
        config = FilterSchedulerSection(ram_weight_multiplier=-1.0, cpu_weight_multiplier=2.0,
                                        soft_affinity_weight_multiplier=3.0)
        built = {w.name: w.multiplier for w in build_weighers(config)}
        assert built == {
            "RAMWeigher": -1.0,
            "CPUWeigher": 2.0,
            "DiskWeigher": 1.0,
            "ServerGroupSoftAffinityWeigher": 3.0,
            "ServerGroupSoftAntiAffinityWeigher": 1.0,
        }

    def test_zero_multiplier_left_out(self) -> None:
        """
        When a multiplier is 0, its weigher is not built.
        """
        config = FilterSchedulerSection(disk_weight_multiplier=0.0, cpu_weight_multiplier=0.0)
        assert "DiskWeigher" not in {w.name for w in build_weighers(config)}
        assert "CPUWeigher" not in {w.name for w in build_weighers(config)}


class TestFilterHosts:
    """filter_hosts and NoValidHost."""

    def test_keeps_order(self) -> None:
        """
        When some hosts fail a filter, the others are kept in their order.
        """
        hosts = [host("a"), host("b", up=False), host("c")]
        assert _names(filter_hosts(hosts, spec(), [ComputeFilter()])) == ["a", "c"]

    def test_names_the_filter(self) -> None:
        """
        When a filter removes the last hosts, NoValidHost names it and every filter's counts.
        """
        hosts = [host("a"), host("b", up=False), host("c", memory_mb=256)]
        with pytest.raises(NoValidHost) as info:
            filter_hosts(hosts, spec(instance_uuid="u-1", memory_mb=20000),
                         [ComputeFilter(), RamFilter(), ComputeFilter()])
        error = info.value
        assert error.filter_name == "RamFilter"
        assert error.instance_uuid == "u-1"
        assert error.results == (FilterResult("ComputeFilter", 3, 2),
                                 FilterResult("RamFilter", 2, 0))
        assert str(error) == (
            "No valid host was found for instance u-1: filter RamFilter returned 0 hosts; "
            "filter results: ComputeFilter (start: 3, end: 2), RamFilter (start: 2, end: 0)"
        )

    def test_no_hosts(self) -> None:
        """
        When there are no hosts at all, NoValidHost says so and names no filter.
        """
        with pytest.raises(NoValidHost, match="there are no compute hosts") as info:
            select_hosts([], spec(), [ComputeFilter()], [])
        assert info.value.filter_name is None

    def test_no_filters(self) -> None:
        """
        When no filters are enabled, every host is a candidate.
        """
        hosts = [host("a", up=False), host("b")]
        assert filter_hosts(hosts, spec(), []) == hosts


class TestWeighHosts:
    """weigh_hosts: Nova's min-max normalisation, multipliers and sum."""

    def test_min_max(self) -> None:
        """
        When hosts differ, the weights are scaled to 0..1 times the multiplier.
        """
        weighed = weigh_hosts(_free_ram(1000, 3000, 2000), spec(), [RAMWeigher(2.0)])
        assert [(w.host.host, w.weight) for w in weighed] == [
            ("h1", 2.0), ("h2", 1.0), ("h0", 0.0)
        ]

    def test_equal_scores(self) -> None:
        """
        When every host scores the same, every weight is 0 and the order is kept.
        """
        weighed = weigh_hosts(_free_ram(500, 500, 500), spec(), [RAMWeigher(5.0)])
        assert [(w.host.host, w.weight) for w in weighed] == [
            ("h0", 0.0), ("h1", 0.0), ("h2", 0.0)
        ]

    def test_one_host(self) -> None:
        """
        When there is one host, its weight is 0.
        """
        assert [w.weight for w in weigh_hosts(_free_ram(10), spec(), [RAMWeigher()])] == [0.0]

    def test_negative_multiplier_packs(self) -> None:
        """
        When the RAM multiplier is negative, the fullest host comes first.
        """
        weighed = weigh_hosts(_free_ram(1000, 3000, 2000), spec(), [RAMWeigher(-1.0)])
        assert _names([w.host for w in weighed]) == ["h0", "h2", "h1"]
        assert [w.weight for w in weighed] == [0.0, -0.5, -1.0]

    def test_sum_of_weighers(self) -> None:
        """
        When two weighers disagree, the normalised, multiplied scores add up.
        """
        hosts = [
            host("a", memory_mb=4096, vcpus=2, cpu_allocation_ratio=1.0),  # RAM 0, CPU 0
            host("b", memory_mb=8192, vcpus=2, cpu_allocation_ratio=1.0),  # RAM 1, CPU 0
            host("c", memory_mb=6144, vcpus=6, cpu_allocation_ratio=1.0),  # RAM .5, CPU 1
        ]
        for h in hosts:
            assert h.ram_allocation_ratio == 1.5
        weighed = weigh_hosts(hosts, spec(), [RAMWeigher(1.0), CPUWeigher(3.0)])
        assert [(w.host.host, w.weight) for w in weighed] == [("c", 3.5), ("b", 1.0), ("a", 0.0)]

    def test_magnitudes_do_not_matter(self) -> None:
        """
        When one resource has far bigger numbers, normalising keeps it from dominating.
        """
        hosts = [
            host("a", memory_mb=1_000_000, vcpus=1, cpu_allocation_ratio=1.0),
            host("b", memory_mb=1_000_001, vcpus=4, cpu_allocation_ratio=1.0),
            host("c", memory_mb=2_000_000, vcpus=2, cpu_allocation_ratio=1.0),
        ]
        weighed = weigh_hosts(hosts, spec(), [RAMWeigher(1.0), CPUWeigher(1.5)])
        assert weighed[0].host.host == "b"


class TestSelectHosts:
    """select_hosts: filter, weigh, order, subset."""

    def test_best_first(self) -> None:
        """
        When hosts pass, they come back best first and failed ones are left out.
        """
        hosts = _free_ram(1000, 3000, 2000) + [host("down", up=False)]
        chosen = select_hosts(hosts, spec(), [ComputeFilter()], [RAMWeigher()], rng=_NoRandom())
        assert _names(chosen) == ["h1", "h2", "h0"]

    def test_subset_seeded(self) -> None:
        """
        When host_subset_size is 3, a seeded Random picks the first among the 3 best
        reproducibly, and the rest follow in weight order.
        """
        hosts = _free_ram(100, 500, 400, 300, 200)
        by_weight = ["h1", "h2", "h3", "h4", "h0"]
        firsts = set()
        for seed in range(40):
            chosen = _names(select_hosts(hosts, spec(), [], [RAMWeigher()], host_subset_size=3,
                                         rng=random.Random(seed)))
            again = _names(select_hosts(hosts, spec(), [], [RAMWeigher()], host_subset_size=3,
                                        rng=random.Random(seed)))
            assert chosen == again
            assert chosen[0] in by_weight[:3]
            assert chosen[1:] == [name for name in by_weight if name != chosen[0]]
            firsts.add(chosen[0])
        assert firsts == {"h1", "h2", "h3"}

    def test_subset_larger_than_candidates(self) -> None:
        """
        When host_subset_size exceeds the candidates, any candidate may go first.
        """
        hosts = _free_ram(100, 500)
        firsts = {
            select_hosts(hosts, spec(), [], [RAMWeigher()], host_subset_size=10,
                         rng=random.Random(seed))[0].host
            for seed in range(30)
        }
        assert firsts == {"h0", "h1"}

    def test_subset_below_one(self) -> None:
        """
        When host_subset_size is below 1, select_hosts refuses it.
        """
        with pytest.raises(ValueError, match="host_subset_size"):
            select_hosts(_free_ram(1), spec(), [], [], host_subset_size=0)

    def test_default_rng(self) -> None:
        """
        When no Random is given, a subset still yields a permutation of the candidates.
        """
        hosts = _free_ram(100, 500, 400)
        chosen = select_hosts(hosts, spec(), [], [RAMWeigher()], host_subset_size=2)
        assert sorted(_names(chosen)) == ["h0", "h1", "h2"]
        assert chosen[0].host in {"h1", "h2"}

    def test_thousand_hosts(self) -> None:
        """
        When there are 1,000 hosts and every default filter and weigher, selection works and
        the candidates come back best first.
        """
        rng = random.Random(7)
        hosts = [
            host(f"h{i:04d}", memory_mb_used=rng.randrange(0, 24000), vcpus_used=rng.randrange(128),
                 local_gb_used=rng.randrange(100), up=rng.random() > 0.05,
                 availability_zone=rng.choice(["nova", "az2"]))
            for i in range(1000)
        ]
        request = spec(availability_zone="nova", memory_mb=2048,
                       group=group("anti-affinity", "h0001", "h0002"))
        filters = build_filters(DEFAULT_FILTERS)
        weighers = build_weighers(FilterSchedulerSection(cpu_weight_multiplier=0.0,
                                                         disk_weight_multiplier=0.0))
        chosen = select_hosts(hosts, request, filters, weighers)
        assert 300 < len(chosen) < 500
        assert all(all(f.host_passes(h, request) for f in filters) for h in chosen)
        free = [h.free_ram_mb for h in chosen]
        assert free == sorted(free, reverse=True)


class TestAccounting:
    """apply_claim and add_group_member: several servers in one request."""

    def test_apply_claim(self) -> None:
        """
        When a claim is applied, a copy uses more of everything; the original is unchanged.
        """
        h = host(vcpus_used=1, memory_mb_used=100, local_gb_used=5, running_vms=1,
                 instance_uuids=frozenset({"old"}))
        claimed = apply_claim(h, spec(instance_uuid="new", vcpus=2, memory_mb=512, root_gb=10,
                                      ephemeral_gb=3))
        assert (claimed.vcpus_used, claimed.memory_mb_used, claimed.local_gb_used) == (3, 612, 18)
        assert claimed.running_vms == 2
        assert claimed.instance_uuids == {"old", "new"}
        assert (h.vcpus_used, h.memory_mb_used, h.local_gb_used, h.running_vms) == (1, 100, 5, 1)
        assert claimed.free_ram_mb == h.free_ram_mb - 512

    def test_add_group_member(self) -> None:
        """
        When a member is added, a copy of the group lists its host once more.
        """
        g = group("anti-affinity", "a")
        assert add_group_member(g, "a").member_hosts == ("a", "a")
        assert g.member_hosts == ("a",)

    def test_several_servers(self) -> None:
        """
        When a caller places servers one by one with apply_claim and add_group_member,
        anti-affinity spreads them and capacity runs out with a NoValidHost naming the filter.
        """
        hosts = [host(n, memory_mb=4096, ram_allocation_ratio=1.0) for n in "abc"]
        the_group = group("anti-affinity")
        filters = build_filters(DEFAULT_FILTERS)
        placed = []
        for i in range(3):
            request = spec(instance_uuid=f"i{i}", memory_mb=1024, group=the_group)
            best = select_hosts(hosts, request, filters, [RAMWeigher()])[0]
            placed.append(best.host)
            hosts = [apply_claim(h, request) if h is best else h for h in hosts]
            the_group = add_group_member(the_group, best.host)
        assert sorted(placed) == ["a", "b", "c"]
        with pytest.raises(NoValidHost, match="ServerGroupAntiAffinityFilter returned 0"):
            select_hosts(hosts, spec(instance_uuid="i3", group=the_group), filters, [])

    def test_stacking_with_claims(self) -> None:
        """
        When RAM is packed (negative multiplier), claims fill one host before the next.
        """
        hosts = [host(n, memory_mb=2048, ram_allocation_ratio=1.0) for n in "ab"]
        placed = []
        for i in range(4):
            request = spec(instance_uuid=f"i{i}", memory_mb=1024)
            best = select_hosts(hosts, request, [RamFilter()], [RAMWeigher(-1.0)])[0]
            placed.append(best.host)
            hosts = [apply_claim(h, request) if h is best else h for h in hosts]
        assert placed == ["a", "a", "b", "b"]
