"""RAMWeigher: prefer hosts with more claimable RAM.

With the default ``ram_weight_multiplier = 1.0`` servers spread over the
hosts with the most free RAM; a negative multiplier stacks them on the
fullest hosts first (Nova's advice for packing). Free RAM includes the
host's ``ram_allocation_ratio``, as in
:attr:`~nova_ws.scheduler.request.HostState.free_ram_mb`.
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.request import HostState, RequestSpec
from nova_ws.scheduler.weighers.interfaces import IHostWeigher


@implementer(IHostWeigher)
class RAMWeigher:
    """Scores a host by its free RAM in MiB."""

    name = "RAMWeigher"

    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = multiplier

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        """The host's claimable RAM (MiB), whatever the request."""
        return host.free_ram_mb
