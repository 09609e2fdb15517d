"""The contract between the scheduler and its host filters.

A filter is pure: it reads a :class:`~nova_ws.scheduler.request.HostState`
and a :class:`~nova_ws.scheduler.request.RequestSpec` and nothing else (no
database, no clock, no I/O), so the scheduler can run every filter against
every host in one pass and tests need no fakes.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface

from nova_ws.scheduler.request import HostState, RequestSpec


class IHostFilter(Interface):
    """Decides whether one host may take one server."""

    name = Attribute(
        "The filter's name in [filter_scheduler] enabled_filters and in "
        "NoValidHost messages (str, e.g. 'RamFilter')."
    )

    def host_passes(host: HostState, spec: RequestSpec) -> bool:
        """Whether *host* may take the server *spec* describes.

        True keeps the host among the candidates, False removes it. The
        answer depends only on the two arguments; neither is changed. Must
        not raise: a request the filter has nothing to say about (no group,
        no image property it checks) passes.
        """
