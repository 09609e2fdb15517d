"""Tests for the host filters in L{nova_ws.scheduler.filters}: each one's pass
and fail cases, and that every registered filter meets L{IHostFilter}.
"""

from __future__ import annotations

from typing import Any

import pytest
from zope.interface.verify import verifyObject

from nova_ws.scheduler.filters.affinity_filter import ServerGroupAffinityFilter
from nova_ws.scheduler.filters.anti_affinity_filter import ServerGroupAntiAffinityFilter
from nova_ws.scheduler.filters.availability_zone_filter import AvailabilityZoneFilter
from nova_ws.scheduler.filters.compute_filter import ComputeFilter
from nova_ws.scheduler.filters.core_filter import CoreFilter
from nova_ws.scheduler.filters.disk_filter import DiskFilter
from nova_ws.scheduler.filters.ignore_hosts_filter import IgnoreHostsFilter
from nova_ws.scheduler.filters.image_props_filter import ImagePropertiesFilter
from nova_ws.scheduler.filters.interfaces import IHostFilter
from nova_ws.scheduler.filters.ram_filter import RamFilter
from nova_ws.scheduler.filters.registry import FILTERS
from tests.scheduler.factories import group, host, spec


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_registry_conformance(name: str) -> None:
    """
    When any registered filter is built, it provides IHostFilter under its registry name.
    """
    host_filter = FILTERS[name]()
    assert verifyObject(IHostFilter, host_filter)
    assert host_filter.name == name


class TestComputeFilter:
    """ComputeFilter: up and enabled hosts only."""

    def test_up_and_enabled(self) -> None:
        """
        When the host's service is up and enabled, it passes.
        """
        assert ComputeFilter().host_passes(host(), spec())

    @pytest.mark.parametrize("state", [dict(up=False), dict(disabled=True),
                                       dict(up=False, disabled=True)])
    def test_down_or_disabled(self, state: dict[str, Any]) -> None:
        """
        When the host's service is down or disabled, it fails.
        """
        assert not ComputeFilter().host_passes(host(**state), spec())


class TestRamFilter:
    """RamFilter: RAM with the host's allocation ratio."""

    def test_fits_up_to_the_ratio(self) -> None:
        """
        When used + requested RAM equals memory * ratio exactly, the host passes;
        one more MiB fails.
        """
        h = host(memory_mb=1024, ram_allocation_ratio=1.5, memory_mb_used=1000)
        assert RamFilter().host_passes(h, spec(memory_mb=536))
        assert not RamFilter().host_passes(h, spec(memory_mb=537))

    def test_ratio_is_the_hosts(self) -> None:
        """
        When two hosts differ only in their ratio, only the one with room passes.
        """
        request = spec(memory_mb=1024)
        assert RamFilter().host_passes(host(memory_mb=2048, memory_mb_used=2048,
                                            ram_allocation_ratio=2.0), request)
        assert not RamFilter().host_passes(host(memory_mb=2048, memory_mb_used=2048,
                                                ram_allocation_ratio=1.0), request)

    def test_no_overcommit_against_itself(self) -> None:
        """
        When a server is larger than the host's physical RAM, the host fails whatever the ratio.
        """
        h = host(memory_mb=1024, ram_allocation_ratio=4.0)
        assert not RamFilter().host_passes(h, spec(memory_mb=1025))
        assert RamFilter().host_passes(h, spec(memory_mb=1024))

    def test_overcommitted_host(self) -> None:
        """
        When a host already uses more than its capacity, it fails.
        """
        h = host(memory_mb=1024, ram_allocation_ratio=1.0, memory_mb_used=2000)
        assert not RamFilter().host_passes(h, spec(memory_mb=1))


class TestDiskFilter:
    """DiskFilter: root plus ephemeral disk with the host's allocation ratio."""

    def test_root_and_ephemeral_count(self) -> None:
        """
        When root + ephemeral fits the free disk the host passes; one GiB more fails.
        """
        h = host(local_gb=100, local_gb_used=70)
        assert DiskFilter().host_passes(h, spec(root_gb=20, ephemeral_gb=10))
        assert not DiskFilter().host_passes(h, spec(root_gb=20, ephemeral_gb=11))

    def test_ratio(self) -> None:
        """
        When the disk ratio is 2.0, used disk may reach twice the local disk.
        """
        h = host(local_gb=100, local_gb_used=150, disk_allocation_ratio=2.0)
        assert DiskFilter().host_passes(h, spec(root_gb=50))
        assert not DiskFilter().host_passes(h, spec(root_gb=51))

    def test_no_overcommit_against_itself(self) -> None:
        """
        When a server's disk is larger than the host's physical disk, the host fails.
        """
        h = host(local_gb=100, disk_allocation_ratio=10.0)
        assert not DiskFilter().host_passes(h, spec(root_gb=90, ephemeral_gb=11))


class TestCoreFilter:
    """CoreFilter: vCPUs with the host's allocation ratio."""

    def test_ratio(self) -> None:
        """
        When used + requested vCPUs reach vcpus * ratio the host passes; one more fails.
        """
        h = host(vcpus=4, cpu_allocation_ratio=16.0, vcpus_used=60)
        assert CoreFilter().host_passes(h, spec(vcpus=4))
        assert not CoreFilter().host_passes(h, spec(vcpus=5))

    def test_no_overcommit_against_itself(self) -> None:
        """
        When a server has more vCPUs than the host has CPUs, the host fails whatever the ratio.
        """
        h = host(vcpus=4, cpu_allocation_ratio=16.0)
        assert not CoreFilter().host_passes(h, spec(vcpus=5))
        assert CoreFilter().host_passes(h, spec(vcpus=4))


class TestAvailabilityZoneFilter:
    """AvailabilityZoneFilter: the requested zone, or any."""

    def test_no_zone_requested(self) -> None:
        """
        When the request names no zone, hosts in every zone pass.
        """
        for zone in ("nova", "az2"):
            assert AvailabilityZoneFilter().host_passes(host(availability_zone=zone), spec())

    def test_zone_requested(self) -> None:
        """
        When the request names a zone, only hosts in it pass.
        """
        request = spec(availability_zone="az2")
        assert AvailabilityZoneFilter().host_passes(host(availability_zone="az2"), request)
        assert not AvailabilityZoneFilter().host_passes(host(availability_zone="nova"), request)


def _image(**properties: Any) -> bool:
    """Whether an x86_64 qemu host passes ImagePropertiesFilter for an image with *properties*."""
    h = host(cpu_arch="x86_64", hypervisor_type="qemu")
    return ImagePropertiesFilter().host_passes(h, spec(image_properties=properties))


class TestImagePropertiesFilter:
    """ImagePropertiesFilter: architecture and hypervisor type."""

    def test_no_properties(self) -> None:
        """
        When the image sets no property the filter reads, every host passes.
        """
        assert _image()
        assert _image(os_distro="ubuntu", hw_disk_bus="virtio")

    @pytest.mark.parametrize("key", ["hw_architecture", "architecture"])
    def test_architecture(self, key: str) -> None:
        """
        When the image names an architecture (either spelling), only hosts with that CPU pass.
        """
        assert _image(**{key: "x86_64"})
        assert not _image(**{key: "aarch64"})

    @pytest.mark.parametrize("key", ["img_hv_type", "hypervisor_type"])
    def test_hypervisor_type(self, key: str) -> None:
        """
        When the image names a hypervisor type (either spelling), only such hosts pass.
        """
        assert _image(**{key: "qemu"})
        assert not _image(**{key: "xen"})

    def test_both_must_match(self) -> None:
        """
        When the image names both, a host matching only one fails.
        """
        assert _image(hw_architecture="x86_64", img_hv_type="qemu")
        assert not _image(hw_architecture="x86_64", img_hv_type="kvm")
        assert not _image(hw_architecture="ppc64le", img_hv_type="qemu")

    def test_current_name_wins(self) -> None:
        """
        When the current and legacy names disagree, the current name decides (as in Nova).
        """
        assert _image(hw_architecture="x86_64", architecture="aarch64")
        assert not _image(hw_architecture="aarch64", architecture="x86_64")
        assert _image(img_hv_type="qemu", hypervisor_type="xen")

    def test_canonical_names(self) -> None:
        """
        When names differ in case or are Nova's aliases, they still match.
        """
        assert _image(hw_architecture="AMD64", img_hv_type="QEMU")
        assert ImagePropertiesFilter().host_passes(
            host(cpu_arch="i686", hypervisor_type="xen"),
            spec(image_properties={"architecture": "i386", "hypervisor_type": "xapi"}),
        )

    def test_empty_value(self) -> None:
        """
        When a property is present but empty or None, it puts no constraint.
        """
        assert _image(hw_architecture="", img_hv_type=None)
        assert _image(hw_architecture=" ", architecture="x86_64")


class TestServerGroupAffinityFilter:
    """ServerGroupAffinityFilter: hard affinity."""

    def test_not_in_a_group(self) -> None:
        """
        When the request has no group or another policy, every host passes.
        """
        assert ServerGroupAffinityFilter().host_passes(host("a"), spec())
        for policy in ("anti-affinity", "soft-affinity", "soft-anti-affinity"):
            request = spec(group=group(policy, "b"))
            assert ServerGroupAffinityFilter().host_passes(host("a"), request)

    def test_first_member(self) -> None:
        """
        When the affinity group has no members yet, every host passes.
        """
        assert ServerGroupAffinityFilter().host_passes(host("a"), spec(group=group("affinity")))

    def test_later_members(self) -> None:
        """
        When the group has members, only the hosts running them pass.
        """
        request = spec(group=group("affinity", "b", "c", "b"))
        assert ServerGroupAffinityFilter().host_passes(host("b"), request)
        assert ServerGroupAffinityFilter().host_passes(host("c"), request)
        assert not ServerGroupAffinityFilter().host_passes(host("a"), request)


class TestServerGroupAntiAffinityFilter:
    """ServerGroupAntiAffinityFilter: hard anti-affinity."""

    def test_not_in_a_group(self) -> None:
        """
        When the request has no group or another policy, every host passes.
        """
        assert ServerGroupAntiAffinityFilter().host_passes(host("a"), spec())
        for policy in ("affinity", "soft-affinity", "soft-anti-affinity"):
            request = spec(group=group(policy, "a"))
            assert ServerGroupAntiAffinityFilter().host_passes(host("a"), request)

    def test_host_with_a_member(self) -> None:
        """
        When a host runs a member of the group, it fails; hosts without one pass.
        """
        request = spec(group=group("anti-affinity", "a", "c"))
        assert not ServerGroupAntiAffinityFilter().host_passes(host("a"), request)
        assert ServerGroupAntiAffinityFilter().host_passes(host("b"), request)

    def test_max_server_per_host(self) -> None:
        """
        When max_server_per_host is 2, a host with one member passes and one with two fails.
        """
        request = spec(group=group("anti-affinity", "a", "b", "b", max_server_per_host=2))
        assert ServerGroupAntiAffinityFilter().host_passes(host("a"), request)
        assert not ServerGroupAntiAffinityFilter().host_passes(host("b"), request)


class TestIgnoreHostsFilter:
    """IgnoreHostsFilter: hosts the request avoids."""

    def test_ignored(self) -> None:
        """
        When a host is in ignore_hosts it fails; the others pass.
        """
        request = spec(ignore_hosts=frozenset({"a", "c"}))
        assert not IgnoreHostsFilter().host_passes(host("a"), request)
        assert IgnoreHostsFilter().host_passes(host("b"), request)

    def test_nothing_ignored(self) -> None:
        """
        When ignore_hosts is empty, every host passes.
        """
        assert IgnoreHostsFilter().host_passes(host("a"), spec())
