"""The table from filter name to filter class.

The names are those written in ``[filter_scheduler] enabled_filters``;
:func:`nova_ws.scheduler.select.build_filters` turns a list of them into
filter objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

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

FILTERS: Mapping[str, Callable[[], IHostFilter]] = MappingProxyType(
    {
        cls.name: cls
        for cls in (
            IgnoreHostsFilter,
            ComputeFilter,
            AvailabilityZoneFilter,
            RamFilter,
            DiskFilter,
            CoreFilter,
            ImagePropertiesFilter,
            ServerGroupAntiAffinityFilter,
            ServerGroupAffinityFilter,
        )
    }
)
