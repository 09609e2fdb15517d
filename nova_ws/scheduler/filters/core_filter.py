"""CoreFilter: only hosts with enough vCPUs left for the server.

vCPUs may be overcommitted by the host's ``cpu_allocation_ratio`` (Nova's
default 16.0). As in Nova, a server may not have more vCPUs than the host
has physical CPUs, whatever the ratio.
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.filters.interfaces import IHostFilter
from nova_ws.scheduler.request import HostState, RequestSpec


@implementer(IHostFilter)
class CoreFilter:
    """Passes hosts where ``vcpus_used + spec.vcpus`` stays within
    ``vcpus * cpu_allocation_ratio`` and the server fits in ``vcpus``.
    """

    name = "CoreFilter"

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        """True when the server's vCPUs fit in what the host can still claim."""
        if spec.vcpus > host.vcpus:
            return False
        return spec.vcpus <= host.free_vcpus
