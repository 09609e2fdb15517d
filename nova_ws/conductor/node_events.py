"""Pushing hypervisor usage: ``nova.event.hypervisor`` after every change.

A compute node's usage changes when the scheduler claims resources for a
boot, when a claim goes back (a delete, a failed build, a delete that won a
race with the build) and when its host reports new totals. The conductor
sees each of these, so it tells ``NodeEvents.changed(node)``; after a short
pause (a burst of boots is one event per node, not one per write) it reads
each changed node once and publishes its view, unless the view is the one
published last. Admin views (the dashboard's hypervisors page) follow the
topic instead of listing hypervisors again; only admins may subscribe to
``nova.event.*``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from nova_ws.db.engine import Database
from nova_ws.db.queries import compute_nodes

HYPERVISOR_EVENTS = "nova.event.hypervisor"

log = Logger()


def node_view(node: compute_nodes.ComputeNode) -> dict[str, Any]:
    """What an event says of a node: the fields of an os-hypervisors detail row."""
    return {
        "id": node.uuid, "hypervisor_hostname": node.hypervisor_hostname, "host": node.host,
        "hypervisor_type": node.hypervisor_type, "hypervisor_version": node.hypervisor_version,
        "vcpus": node.vcpus, "memory_mb": node.memory_mb, "local_gb": node.local_gb,
        "vcpus_used": node.vcpus_used, "memory_mb_used": node.memory_mb_used,
        "local_gb_used": node.local_gb_used, "running_vms": node.running_vms,
        "free_ram_mb": node.memory_mb - node.memory_mb_used,
        "free_disk_gb": node.local_gb - node.local_gb_used,
    }


class NodeEvents:
    """Publishes the views of changed nodes, at most one per node per ``delay`` seconds."""

    def __init__(self, db: Database, publish: Callable[..., None], clock: IReactorTime,
                 delay: float = 0.1) -> None:
        self.db = db
        self.publish = publish
        self.clock = clock
        self.delay = delay
        self._pending: set[str] = set()
        self._call: IDelayedCall | None = None
        self._last: dict[str, dict[str, Any]] = {}

    def changed(self, node: str | None) -> None:
        """Note that *node* (a node's uuid or name; None is ignored) may have changed."""
        if not node:
            return
        self._pending.add(node)
        if self._call is None:
            self._call = self.clock.callLater(self.delay, self._flush_later)

    def stop(self) -> None:
        """Drop what is pending (the service is stopping)."""
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        self._pending.clear()

    def _flush_later(self) -> None:
        self._call = None
        Deferred.fromCoroutine(self.flush()).addErrback(
            lambda failure: log.failure("hypervisor event not published", failure))

    async def flush(self) -> list[dict[str, Any]]:
        """Read every pending node and publish what changed; returns the views published."""
        pending, self._pending = self._pending, set()
        published = []
        for node in sorted(pending):
            try:
                row = await self.db.run(compute_nodes.get_compute_node, node)
            except LookupError:
                continue  # removed meanwhile
            view = node_view(row)
            if self._last.get(row.uuid) == view:
                continue
            self._last[row.uuid] = view
            self.publish(HYPERVISOR_EVENTS, view)
            published.append(view)
        return published
