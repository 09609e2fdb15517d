"""Hosts and requests for the scheduler tests: plain builders and hypothesis strategies."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from nova_ws.scheduler.request import HostState, RequestSpec, ServerGroup

POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")
ZONES = ("nova", "az2")
ARCHES = ("x86_64", "aarch64", "AMD64")
HV_TYPES = ("fake", "qemu", "kvm")


def host(name: str = "h1", **overrides: Any) -> HostState:
    """An up, enabled, empty host in zone nova: 8 vCPUs, 16 GiB, 100 GiB."""
    values: dict[str, Any] = dict(
        host=name,
        node_uuid=f"node-{name}",
        availability_zone="nova",
        up=True,
        disabled=False,
        vcpus=8,
        vcpus_used=0,
        memory_mb=16384,
        memory_mb_used=0,
        local_gb=100,
        local_gb_used=0,
    )
    values.update(overrides)
    return HostState(**values)


def spec(**overrides: Any) -> RequestSpec:
    """A small server: 1 vCPU, 512 MiB, 10 GiB root disk, no constraints."""
    values: dict[str, Any] = dict(instance_uuid="inst-1", vcpus=1, memory_mb=512, root_gb=10)
    values.update(overrides)
    return RequestSpec(**values)


def group(policy: str, *member_hosts: str, max_server_per_host: int = 1) -> ServerGroup:
    """A server group with members on *member_hosts* (one entry per member)."""
    return ServerGroup("group-1", policy, tuple(member_hosts), max_server_per_host)


_RATIOS = st.sampled_from((0.5, 1.0, 1.5, 2.0, 16.0)) | st.floats(0.1, 32.0)
_MOSTLY_TRUE = st.sampled_from((True, True, True, False))


def _used(draw: st.DrawFn, total: int, ratio: float) -> int:
    """None, some, all, or more than all of *total* * *ratio*."""
    limit = int(total * ratio)
    return draw(st.just(0) | st.integers(0, limit) | st.integers(0, 2 * limit + 1))


def _size(small: int, large: int) -> st.SearchStrategy[int]:
    """Mostly a size that fits a typical host, sometimes one up to *large*."""
    return st.integers(0, small) | st.integers(0, small) | st.integers(0, large)


@st.composite
def host_states(draw: st.DrawFn, name: str) -> HostState:
    """Any host named *name*: mostly up, used from nothing to past its capacity."""
    vcpus = draw(st.integers(1, 128))
    memory_mb = draw(st.integers(256, 1 << 20))
    local_gb = draw(st.integers(1, 1 << 14))
    cpu_ratio, ram_ratio, disk_ratio = draw(_RATIOS), draw(_RATIOS), draw(_RATIOS)
    return HostState(
        host=name,
        node_uuid=f"node-{name}",
        availability_zone=draw(st.sampled_from(ZONES)),
        up=draw(_MOSTLY_TRUE),
        disabled=not draw(_MOSTLY_TRUE),
        vcpus=vcpus,
        vcpus_used=_used(draw, vcpus, cpu_ratio),
        memory_mb=memory_mb,
        memory_mb_used=_used(draw, memory_mb, ram_ratio),
        local_gb=local_gb,
        local_gb_used=_used(draw, local_gb, disk_ratio),
        cpu_allocation_ratio=cpu_ratio,
        ram_allocation_ratio=ram_ratio,
        disk_allocation_ratio=disk_ratio,
        hypervisor_type=draw(st.sampled_from(HV_TYPES)),
        cpu_arch=draw(st.sampled_from(ARCHES)),
    )


@st.composite
def host_lists(draw: st.DrawFn, max_size: int = 12) -> list[HostState]:
    """Hosts with distinct names h0, h1, ... (possibly none)."""
    count = draw(st.integers(0, max_size))
    return [draw(host_states(f"h{i}")) for i in range(count)]


@st.composite
def request_specs(draw: st.DrawFn, host_names: list[str]) -> RequestSpec:
    """Any request, whose group members and ignored hosts are mostly among *host_names*."""
    names = st.sampled_from([*host_names, "elsewhere"])
    the_group = None
    if draw(st.booleans()):
        the_group = ServerGroup(
            "group-1",
            draw(st.sampled_from(POLICIES)),
            tuple(draw(st.lists(names, max_size=6))),
            draw(st.integers(1, 3)),
        )
    properties: dict[str, str] = {}
    for key, values in (("hw_architecture", ARCHES), ("img_hv_type", HV_TYPES)):
        if draw(st.booleans()):
            properties[key] = draw(st.sampled_from(values))
    return RequestSpec(
        instance_uuid="inst-x",
        vcpus=draw(_size(4, 128)),
        memory_mb=draw(_size(4096, 1 << 20)),
        root_gb=draw(_size(40, 1 << 14)),
        ephemeral_gb=draw(_size(10, 1 << 10)),
        availability_zone=draw(st.sampled_from((None, None, *ZONES))),
        image_properties=properties,
        group=the_group,
        ignore_hosts=frozenset(draw(st.lists(names, max_size=3))),
    )
