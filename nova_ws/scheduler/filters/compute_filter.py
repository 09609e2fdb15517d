"""ComputeFilter: only hosts whose compute service is up and enabled.

A host is up when its ``nova-compute`` service reported recently (the
scheduler manager decides that from the service's heartbeat before it builds
the :class:`~nova_ws.scheduler.request.HostState`), and disabled when an
operator turned the service off (``openstack compute service set
--disable``). Neither kind may take new servers.
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.filters.interfaces import IHostFilter
from nova_ws.scheduler.request import HostState, RequestSpec


@implementer(IHostFilter)
class ComputeFilter:
    """Passes hosts that are up and not disabled, whatever the request."""

    name = "ComputeFilter"

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        """True when the host's service is up and not disabled."""
        return host.up and not host.disabled
