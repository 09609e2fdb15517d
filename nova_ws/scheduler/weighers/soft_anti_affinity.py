"""ServerGroupSoftAntiAffinityWeigher: members of a ``soft-anti-affinity``
group prefer hosts running few or no members.

Unlike the anti-affinity filter, this never removes a host: when every
host runs a member, the server still finds one. The score is minus the
number of the group's members on the host (Nova's), scaled by
``soft_anti_affinity_weight_multiplier``, which must not be negative.
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.request import HostState, RequestSpec
from nova_ws.scheduler.weighers.interfaces import IHostWeigher

POLICY = "soft-anti-affinity"


@implementer(IHostWeigher)
class ServerGroupSoftAntiAffinityWeigher:
    """Scores a host by minus how many members of the request's
    soft-anti-affinity group it runs.
    """

    name = "ServerGroupSoftAntiAffinityWeigher"

    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = multiplier

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        """Minus the members on the host; 0.0 outside a soft-anti-affinity group."""
        group = spec.group
        if group is None or group.policy != POLICY:
            return 0.0
        return -float(group.member_hosts.count(host.host))
