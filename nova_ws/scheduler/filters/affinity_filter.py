"""ServerGroupAffinityFilter: members of an ``affinity`` group share a host.

The group's first server may go anywhere the other filters allow; every
later one only to a host already running a member. Requests outside a
group, or in a group with another policy, pass everywhere. The ``soft-``
policies are preferences, handled by weighers
(:mod:`nova_ws.scheduler.weighers.soft_affinity`).
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.filters.interfaces import IHostFilter
from nova_ws.scheduler.request import HostState, RequestSpec

POLICY = "affinity"


@implementer(IHostFilter)
class ServerGroupAffinityFilter:
    """Passes the hosts of the group's members, once the group has any."""

    name = "ServerGroupAffinityFilter"

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        """True unless the spec is in an affinity group whose members run elsewhere."""
        group = spec.group
        if group is None or group.policy != POLICY or not group.member_hosts:
            return True
        return host.host in group.member_hosts
