"""RamFilter: only hosts with enough RAM left for the server.

RAM may be overcommitted by the host's ``ram_allocation_ratio`` (Nova's
default 1.5): a host with 8 GiB and ratio 1.5 can hold 12 GiB of servers.
As in Nova, a server may overcommit against other servers but not against
itself, so it must also fit in the host's physical RAM on its own.
"""

from __future__ import annotations

from zope.interface import implementer

from nova_ws.scheduler.filters.interfaces import IHostFilter
from nova_ws.scheduler.request import HostState, RequestSpec


@implementer(IHostFilter)
class RamFilter:
    """Passes hosts where ``memory_mb_used + spec.memory_mb`` stays within
    ``memory_mb * ram_allocation_ratio`` and the server fits in ``memory_mb``.
    """

    name = "RamFilter"

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        """True when the server's RAM fits in what the host can still claim."""
        if spec.memory_mb > host.memory_mb:
            return False
        return spec.memory_mb <= host.free_ram_mb
