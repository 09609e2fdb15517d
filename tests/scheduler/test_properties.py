"""Property tests for L{nova_ws.scheduler.select}: for any hosts and request,
what is selected passes every filter, nothing that passes is lost, capacity
is never exceeded, and weights are ordered and bounded.
"""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from nova_ws.config import DEFAULT_FILTERS, FilterSchedulerSection
from nova_ws.scheduler.request import HostState, RequestSpec
from nova_ws.scheduler.select import (
    NoValidHost,
    apply_claim,
    build_filters,
    build_weighers,
    select_hosts,
    weigh_hosts,
)
from tests.scheduler.factories import host_lists, request_specs

FILTERS = build_filters(DEFAULT_FILTERS)
RESOURCE_FILTERS = build_filters(["RamFilter", "DiskFilter", "CoreFilter"])
MULTIPLIERS = st.floats(-10.0, 10.0, allow_nan=False)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[HostState], RequestSpec]:
    """Hosts and a request that refers to them."""
    hosts = draw(host_lists())
    return hosts, draw(request_specs([h.host for h in hosts]))


@st.composite
def weigher_configs(draw: st.DrawFn) -> FilterSchedulerSection:
    """Any weigher multipliers (the soft-affinity ones are never negative)."""
    return FilterSchedulerSection(
        ram_weight_multiplier=draw(MULTIPLIERS),
        cpu_weight_multiplier=draw(MULTIPLIERS),
        disk_weight_multiplier=draw(MULTIPLIERS),
        soft_affinity_weight_multiplier=draw(st.floats(0.0, 10.0)),
        soft_anti_affinity_weight_multiplier=draw(st.floats(0.0, 10.0)),
    )


@given(scenarios(), weigher_configs(), st.integers(1, 5), st.randoms(use_true_random=False))
def test_selected_hosts_pass_every_filter(
    scenario: tuple[list[HostState], RequestSpec],
    config: FilterSchedulerSection,
    subset: int,
    rng: random.Random,
) -> None:
    """
    When hosts are selected with every filter, each selected host passes every
    filter, every host that passes is selected once, and NoValidHost comes
    exactly when none passes, naming the first filter that left none.
    """
    hosts, request = scenario
    weighers = build_weighers(config)
    passing = [h for h in hosts if all(f.host_passes(h, request) for f in FILTERS)]
    try:
        chosen = select_hosts(hosts, request, FILTERS, weighers, host_subset_size=subset, rng=rng)
    except NoValidHost as e:
        assert passing == []
        if hosts:
            remaining = hosts
            for f in FILTERS:
                remaining = [h for h in remaining if f.host_passes(h, request)]
                if not remaining:
                    assert e.filter_name == f.name
                    break
        else:
            assert e.filter_name is None
        return
    assert sorted(h.host for h in chosen) == sorted(h.host for h in passing)
    for h in chosen:
        assert all(f.host_passes(h, request) for f in FILTERS)


@given(scenarios())
def test_resource_filters_never_exceed_capacity(
    scenario: tuple[list[HostState], RequestSpec],
) -> None:
    """
    When the RAM, disk and core filters select a host, placing the request there
    stays within capacity * allocation ratio for each resource, and the request
    alone fits the host's physical resources.
    """
    hosts, request = scenario
    try:
        chosen = select_hosts(hosts, request, RESOURCE_FILTERS, [])
    except NoValidHost:
        return
    for h in chosen:
        after = apply_claim(h, request)
        assert after.memory_mb_used <= h.memory_mb * h.ram_allocation_ratio
        assert after.local_gb_used <= h.local_gb * h.disk_allocation_ratio
        assert after.vcpus_used <= h.vcpus * h.cpu_allocation_ratio
        assert request.memory_mb <= h.memory_mb
        assert request.disk_gb <= h.local_gb
        assert request.vcpus <= h.vcpus


@given(scenarios(), weigher_configs())
def test_weights_ordered_and_bounded(
    scenario: tuple[list[HostState], RequestSpec], config: FilterSchedulerSection
) -> None:
    """
    When hosts are weighed, weights come best first, and each lies between the
    sum of the negative multipliers and the sum of the positive ones.
    """
    hosts, request = scenario
    weighers = build_weighers(config)
    weighed = weigh_hosts(hosts, request, weighers)
    weights = [w.weight for w in weighed]
    assert weights == sorted(weights, reverse=True)
    assert sorted(w.host.host for w in weighed) == sorted(h.host for h in hosts)
    low = sum(min(w.multiplier, 0.0) for w in weighers)
    high = sum(max(w.multiplier, 0.0) for w in weighers)
    for weight in weights:
        assert low - 1e-9 <= weight <= high + 1e-9
