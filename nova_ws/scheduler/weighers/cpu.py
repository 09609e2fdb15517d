"""CPUWeigher: prefer hosts with more claimable vCPUs.

With the default ``cpu_weight_multiplier = 1.0`` servers spread over the
hosts with the most free vCPUs; a negative multiplier stacks them. Free
vCPUs include the host's ``cpu_allocation_ratio``, as in Nova's
CPUWeigher and :attr:`~nova_ws.scheduler.request.HostState.free_vcpus`.
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.request import HostState, RequestSpec
from nova_ws.scheduler.weighers.interfaces import IHostWeigher


@implementer(IHostWeigher)
class CPUWeigher:
    """Scores a host by its free vCPUs."""

    name = "CPUWeigher"

    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = multiplier

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        """The host's claimable vCPUs, whatever the request."""
        return host.free_vcpus
