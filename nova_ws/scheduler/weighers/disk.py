"""DiskWeigher: prefer hosts with more claimable local disk.

With the default ``disk_weight_multiplier = 1.0`` servers spread over the
hosts with the most free disk; a negative multiplier stacks them. Free disk
includes the host's ``disk_allocation_ratio``, as in
:attr:`~nova_ws.scheduler.request.HostState.free_disk_gb`.
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.request import HostState, RequestSpec
from nova_ws.scheduler.weighers.interfaces import IHostWeigher


@implementer(IHostWeigher)
class DiskWeigher:
    """Scores a host by its free local disk in GiB."""

    name = "DiskWeigher"

    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = multiplier

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        """The host's claimable disk (GiB), whatever the request."""
        return host.free_disk_gb
