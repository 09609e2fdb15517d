"""AvailabilityZoneFilter: only hosts in the availability zone asked for.

A request names a zone when the user booted with ``--availability-zone``;
one that names none may go to any zone (Nova's
``default_schedule_zone = None``).
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.filters.interfaces import IHostFilter
from nova_ws.scheduler.request import HostState, RequestSpec


@implementer(IHostFilter)
class AvailabilityZoneFilter:
    """Passes hosts in ``spec.availability_zone``, or every host when it is None."""

    name = "AvailabilityZoneFilter"

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        """True when no zone is asked for or the host is in that zone."""
        if spec.availability_zone is None:
            return True
        return host.availability_zone == spec.availability_zone
