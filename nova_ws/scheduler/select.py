"""Choosing hosts: run the filters, weigh the survivors, order them best first.

This is the scheduler's whole decision, as pure functions over
:class:`~nova_ws.scheduler.request.HostState` and
:class:`~nova_ws.scheduler.request.RequestSpec`: no database, no reactor,
no WAMP. The scheduler manager reads the hosts, calls :func:`select_hosts`,
and claims resources on the first candidate, falling back to the next when
a concurrent claim won. When it places several servers in one request it
accounts for its own earlier choices with :func:`apply_claim` and
:func:`add_group_member`.

The steps are Nova's ``FilterScheduler``: each enabled filter in turn keeps
the hosts that pass it (:func:`filter_hosts`; when one leaves none,
:class:`NoValidHost` names it); every weigher scores the survivors, the
scores are min-max normalised per weigher, multiplied and summed
(:func:`weigh_hosts`); and one of the best ``host_subset_size`` hosts is
picked at random to go first, to spread concurrent requests.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zope.interface.verify import verifyObject

from nova_ws.config import FilterSchedulerSection
from nova_ws.scheduler.filters.interfaces import IHostFilter
from nova_ws.scheduler.filters.registry import FILTERS
from nova_ws.scheduler.request import HostState, RequestSpec, ServerGroup
from nova_ws.scheduler.weighers.interfaces import IHostWeigher
from nova_ws.scheduler.weighers.registry import WEIGHERS


@dataclass(frozen=True)
class FilterResult:
    """How many hosts one filter was given (``start``) and kept (``end``)."""

    name: str
    start: int
    end: int


class NoValidHost(Exception):
    """No host can take the server.

    ``filter_name`` is the filter that removed the last hosts (None when
    there were no hosts to begin with); ``results`` lists every filter that
    ran, in order, with how many hosts it was given and kept. The message
    says all of that, for the log and the instance's fault.
    """

    def __init__(
        self, instance_uuid: str, filter_name: str | None, results: Sequence[FilterResult]
    ) -> None:
        self.instance_uuid = instance_uuid
        self.filter_name = filter_name
        self.results = tuple(results)
        if filter_name is None:
            reason = "there are no compute hosts"
        else:
            steps = ", ".join(f"{r.name} (start: {r.start}, end: {r.end})" for r in self.results)
            reason = f"filter {filter_name} returned 0 hosts; filter results: {steps}"
        super().__init__(f"No valid host was found for instance {instance_uuid}: {reason}")


@dataclass(frozen=True)
class WeighedHost:
    """A candidate host and its total weight (higher is better)."""

    host: HostState
    weight: float


def build_filters(names: Iterable[str]) -> list[IHostFilter]:
    """One filter object per name, in the order given (the order they run in).

    Each object is checked against :class:`IHostFilter`.

    Raises ValueError naming the unknown filter and the known ones when a
    name is not in :data:`~nova_ws.scheduler.filters.registry.FILTERS`.
    """
    built = []
    for name in names:
        factory = FILTERS.get(name)
        if factory is None:
            known = ", ".join(sorted(FILTERS))
            raise ValueError(f"unknown scheduler filter {name!r} (known filters: {known})")
        host_filter = factory()
        verifyObject(IHostFilter, host_filter)
        built.append(host_filter)
    return built


def build_weighers(config: FilterSchedulerSection) -> list[IHostWeigher]:
    """Every weigher whose ``[filter_scheduler]`` multiplier is not 0, with
    that multiplier.

    A weigher with multiplier 0 would add nothing, so it is left out. Each
    object is checked against :class:`IHostWeigher`.
    """
    built = []
    for factory, option_name in WEIGHERS.values():
        multiplier = float(getattr(config, option_name))
        if multiplier == 0.0:
            continue
        weigher = factory(multiplier)
        verifyObject(IHostWeigher, weigher)
        built.append(weigher)
    return built


def filter_hosts(
    hosts: Sequence[HostState], spec: RequestSpec, filters: Sequence[IHostFilter]
) -> list[HostState]:
    """The hosts that pass every filter, in their original order.

    Raises :class:`NoValidHost` when there are no hosts or a filter leaves
    none; it names that filter.
    """
    remaining = list(hosts)
    if not remaining:
        raise NoValidHost(spec.instance_uuid, None, ())
    results = []
    for host_filter in filters:
        start = len(remaining)
        remaining = [host for host in remaining if host_filter.host_passes(host, spec)]
        results.append(FilterResult(host_filter.name, start, len(remaining)))
        if not remaining:
            raise NoValidHost(spec.instance_uuid, host_filter.name, results)
    return remaining


def _normalise(values: Sequence[float]) -> list[float]:
    """Min-max to 0..1; all 0.0 when every value is the same (Nova's normalize)."""
    low, high = min(values), max(values)
    if low == high:
        return [0.0] * len(values)
    span = high - low
    return [(value - low) / span for value in values]


def weigh_hosts(
    hosts: Sequence[HostState], spec: RequestSpec, weighers: Sequence[IHostWeigher]
) -> list[WeighedHost]:
    """The hosts with their total weights, best first.

    Per weigher, the raw scores of all *hosts* are normalised to 0..1 and
    multiplied by the weigher's multiplier; a host's weight is the sum.
    Hosts of equal weight keep their order in *hosts*.
    """
    totals = [0.0] * len(hosts)
    if len(hosts) > 1:
        for weigher in weighers:
            raw = [float(weigher.weigh(host, spec)) for host in hosts]
            multiplier = float(weigher.multiplier)
            for i, value in enumerate(_normalise(raw)):
                totals[i] += multiplier * value
    weighed = [WeighedHost(host, weight) for host, weight in zip(hosts, totals, strict=True)]
    weighed.sort(key=lambda w: w.weight, reverse=True)
    return weighed


def select_hosts(
    hosts: Sequence[HostState],
    spec: RequestSpec,
    filters: Sequence[IHostFilter],
    weighers: Sequence[IHostWeigher],
    host_subset_size: int = 1,
    rng: random.Random | None = None,
) -> list[HostState]:
    """Every host that passes the filters, best first: the caller claims the
    first and falls back to the next.

    With ``host_subset_size`` N > 1, the first host is drawn at random (from
    *rng*) among the N best, and the others follow in weight order, as in
    Nova; with 1 the order is the weight order alone and *rng* is unused.

    Raises :class:`NoValidHost` (naming the filter) when no host passes,
    and ValueError when ``host_subset_size`` is below 1.
    """
    if host_subset_size < 1:
        raise ValueError(f"host_subset_size must be at least 1, not {host_subset_size}")
    candidates = filter_hosts(hosts, spec, filters)
    ordered = [w.host for w in weigh_hosts(candidates, spec, weighers)]
    subset = min(host_subset_size, len(ordered))
    if subset > 1:
        chosen = (rng or random.Random()).randrange(subset)
        ordered.insert(0, ordered.pop(chosen))
    return ordered


def apply_claim(host: HostState, spec: RequestSpec) -> HostState:
    """A copy of *host* as it will be once the server is placed on it.

    Its used vCPUs, RAM and disk grow by the server's, it runs one more
    server, and the server's uuid joins its instances. Nothing is checked:
    filter first.
    """
    return dataclasses.replace(
        host,
        vcpus_used=host.vcpus_used + spec.vcpus,
        memory_mb_used=host.memory_mb_used + spec.memory_mb,
        local_gb_used=host.local_gb_used + spec.disk_gb,
        running_vms=host.running_vms + 1,
        instance_uuids=host.instance_uuids | {spec.instance_uuid},
    )


def add_group_member(group: ServerGroup, host: str) -> ServerGroup:
    """A copy of *group* with one more member, on *host*: what the next
    server of the same request must see for the group policies to hold.
    """
    return dataclasses.replace(group, member_hosts=(*group.member_hosts, host))
