"""IgnoreHostsFilter: never a host the request says to avoid.

When a build fails on a host, the conductor asks the scheduler again with
that host added to ``spec.ignore_hosts``, so the retry goes elsewhere (the
job of Nova's RetryFilter). The same list serves any other reason to keep a
request away from named hosts.
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.filters.interfaces import IHostFilter
from nova_ws.scheduler.request import HostState, RequestSpec


@implementer(IHostFilter)
class IgnoreHostsFilter:
    """Passes every host whose name is not in ``spec.ignore_hosts``."""

    name = "IgnoreHostsFilter"

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        """True unless the host is to be ignored."""
        return host.host not in spec.ignore_hosts
