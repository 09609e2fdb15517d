"""The conductor pushes hypervisor usage on ``nova.event.hypervisor``.

Boots claim resources and deletes give them back; a subscriber hears each
node's new usage without listing hypervisors, one event per burst, and
nothing when nothing changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet.defer import Deferred

from nova_ws.conductor.node_events import HYPERVISOR_EVENTS
from nova_ws.testing.cloud import create_rows, start_cloud, stop_cloud, wait_settled


class Heard:
    """Hypervisor events as they arrive; ``until(test)`` fires when one passes."""

    def __init__(self) -> None:
        self.views: list[dict[str, Any]] = []
        self._waiting: list[tuple[Any, Deferred[dict[str, Any]]]] = []

    def __call__(self, view: dict[str, Any]) -> None:
        self.views.append(view)
        for entry in list(self._waiting):
            test, d = entry
            if test(view):
                self._waiting.remove(entry)
                d.callback(view)

    def until(self, test: Any) -> Deferred[dict[str, Any]]:
        from twisted.internet import reactor

        d: Deferred[dict[str, Any]] = Deferred()
        self._waiting.append((test, d))
        return d.addTimeout(30, reactor)


@pytest_twisted.ensureDeferred
async def test_claims_and_releases_are_pushed(tmp_path: Path) -> None:
    """Three boots on one host: its guests and usage arrive pushed; a delete, likewise."""
    cloud = await start_cloud(tmp_path, 1)
    try:
        heard = Heard()
        await cloud.admin.subscribe(heard, HYPERVISOR_EVENTS)
        host = cloud.computes[0].host
        three = heard.until(lambda v: v["running_vms"] == 3)
        uuids = await create_rows(cloud, 3)  # m1.small: 1 vCPU, 2048 MB, 20 GB
        await wait_settled(cloud, uuids)
        view = await three
        assert view["host"] == host and view["hypervisor_hostname"]
        assert (view["vcpus_used"], view["memory_mb_used"], view["local_gb_used"]) == \
            (3, 3 * 2048, 3 * 20)
        assert view["free_ram_mb"] == view["memory_mb"] - 3 * 2048
        # a burst of writes is told in fewer events than writes, never more
        assert 1 <= len(heard.views) <= 3

        before = len(heard.views)
        two = heard.until(lambda v: v["running_vms"] == 2)
        await cloud.admin.call("nova.conductor.instance_action", uuids[0], "delete")
        view = await two
        assert (view["vcpus_used"], view["memory_mb_used"]) == (2, 2 * 2048)
        assert len(heard.views) == before + 1

        # the host reports the same totals again: nothing is told; new totals are
        manager = cloud.conductor.manager
        report = {key: view[key] for key in ("hypervisor_hostname", "vcpus", "memory_mb",
                                             "local_gb", "hypervisor_type",
                                             "hypervisor_version")}
        before = len(heard.views)
        await cloud.computes[0].client.call("nova.conductor.compute_node_update", host, report)
        await manager.nodes.flush()  # whatever that report would publish is published now
        bigger = heard.until(lambda v: v["memory_mb"] == view["memory_mb"] + 1024)
        await cloud.computes[0].client.call("nova.conductor.compute_node_update", host, {
            **report, "memory_mb": view["memory_mb"] + 1024})
        assert (await bigger)["memory_mb_used"] == 2 * 2048
        # one publisher's events arrive in order: the first report published nothing
        assert len(heard.views) == before + 1
    finally:
        await stop_cloud(cloud)
