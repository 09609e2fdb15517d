"""The table from weigher name to weigher class and multiplier option.

Every weigher here is used (as Nova's default ``weight_classes`` uses all
of them); each one's multiplier is read from the ``[filter_scheduler]``
option named next to it by
:func:`nova_ws.scheduler.select.build_weighers`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from nova_ws.scheduler.weighers.cpu import CPUWeigher
from nova_ws.scheduler.weighers.disk import DiskWeigher
from nova_ws.scheduler.weighers.interfaces import IHostWeigher
from nova_ws.scheduler.weighers.ram import RAMWeigher
from nova_ws.scheduler.weighers.soft_affinity import ServerGroupSoftAffinityWeigher
from nova_ws.scheduler.weighers.soft_anti_affinity import ServerGroupSoftAntiAffinityWeigher

WeigherClass = Callable[[float], IHostWeigher]

WEIGHERS: Mapping[str, tuple[WeigherClass, str]] = MappingProxyType(
    {
        RAMWeigher.name: (RAMWeigher, "ram_weight_multiplier"),
        CPUWeigher.name: (CPUWeigher, "cpu_weight_multiplier"),
        DiskWeigher.name: (DiskWeigher, "disk_weight_multiplier"),
        ServerGroupSoftAffinityWeigher.name: (
            ServerGroupSoftAffinityWeigher,
            "soft_affinity_weight_multiplier",
        ),
        ServerGroupSoftAntiAffinityWeigher.name: (
            ServerGroupSoftAntiAffinityWeigher,
            "soft_anti_affinity_weight_multiplier",
        ),
    }
)
