"""ServerGroupSoftAffinityWeigher: members of a ``soft-affinity`` group
prefer the hosts already running members.

Unlike the affinity filter, this never removes a host: when the members'
hosts are full or down, the server goes elsewhere. The score is the number
of the group's members on the host (Nova's), scaled by
``soft_affinity_weight_multiplier``, which must not be negative.
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.request import HostState, RequestSpec
from nova_ws.scheduler.weighers.interfaces import IHostWeigher

POLICY = "soft-affinity"


@implementer(IHostWeigher)
class ServerGroupSoftAffinityWeigher:
    """Scores a host by how many members of the request's soft-affinity group it runs."""

    name = "ServerGroupSoftAffinityWeigher"

    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = multiplier

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        """Members on the host; 0.0 outside a soft-affinity group."""
        group = spec.group
        if group is None or group.policy != POLICY:
            return 0.0
        return float(group.member_hosts.count(host.host))
