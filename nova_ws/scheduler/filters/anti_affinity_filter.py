"""ServerGroupAntiAffinityFilter: members of an ``anti-affinity`` group
keep apart.

A host may take a member while it runs fewer than the group's
``max_server_per_host`` members (Nova's rule of that name; 1 unless set,
that is, never two members on one host). Requests outside a group, or in a
group with another policy, pass everywhere. ``soft-anti-affinity`` is a
preference, handled by a weigher
(:mod:`nova_ws.scheduler.weighers.soft_anti_affinity`).
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.filters.interfaces import IHostFilter
from nova_ws.scheduler.request import HostState, RequestSpec

POLICY = "anti-affinity"


@implementer(IHostFilter)
class ServerGroupAntiAffinityFilter:
    """Passes hosts running fewer than ``max_server_per_host`` of the group's members."""

    name = "ServerGroupAntiAffinityFilter"

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        """True unless the spec is in an anti-affinity group already full on this host."""
        group = spec.group
        if group is None or group.policy != POLICY:
            return True
        return group.member_hosts.count(host.host) < group.max_server_per_host
