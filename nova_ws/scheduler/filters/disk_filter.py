"""DiskFilter: only hosts with enough local disk left for the server.

The server needs its root disk plus its ephemeral disk
(:attr:`~nova_ws.scheduler.request.RequestSpec.disk_gb`). Disk may be
overcommitted by the host's ``disk_allocation_ratio`` (Nova's default 1.0,
that is, not at all); as in Nova, the server must also fit in the host's
physical disk on its own.
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.filters.interfaces import IHostFilter
from nova_ws.scheduler.request import HostState, RequestSpec


@implementer(IHostFilter)
class DiskFilter:
    """Passes hosts where ``local_gb_used + spec.disk_gb`` stays within
    ``local_gb * disk_allocation_ratio`` and the server fits in ``local_gb``.
    """

    name = "DiskFilter"

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        """True when the server's disk fits in what the host can still claim."""
        requested = spec.disk_gb
        if requested > host.local_gb:
            return False
        return requested <= host.free_disk_gb
