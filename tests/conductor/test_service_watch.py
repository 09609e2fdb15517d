"""The conductor announces services going down (and back up) on its own.

A service that stays connected but stops reporting changes no row, so only a
periodic look can tell; the conductor publishes each change of up/down state
on ``nova.event.service``, once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_twisted
from sqlalchemy import text
from twisted.internet.defer import Deferred

from nova_ws.testing.cloud import start_cloud, stop_cloud


@pytest_twisted.ensureDeferred
async def test_silent_service_goes_down_and_comes_back(tmp_path: Path) -> None:
    """When a host stops reporting, one 'down' event is pushed; its next report, one 'up'."""
    cloud = await start_cloud(tmp_path, 1)
    try:
        manager = cloud.conductor.manager
        host = cloud.computes[0].host
        heard: list[dict[str, Any]] = []
        next_event: list[Deferred[None]] = [Deferred()]

        def on_event(view: dict[str, Any]) -> None:
            if view["host"] == host and view["binary"] == "nova-compute":
                heard.append(view)
                next_event[0].callback(None)
                next_event[0] = Deferred()

        await cloud.admin.subscribe(on_event, "nova.event.service")
        assert await manager.watch_services() == []  # the first look only records
        assert await manager.watch_services() == []  # nothing changed
        old = datetime.now(UTC) - timedelta(hours=1)
        await cloud.db().run(lambda s: s.execute(text(
            "UPDATE services SET last_seen_up = :old WHERE host = :host"),
            {"old": old.replace(tzinfo=None), "host": host}))
        waiting = next_event[0]
        changed = await manager.watch_services()
        assert [(v["host"], v["state"]) for v in changed
                if v["binary"] == "nova-compute"] == [(host, "down")]
        await waiting
        assert await manager.watch_services() == []  # told once
        waiting = next_event[0]
        await cloud.computes[0].client.call("nova.conductor.service_heartbeat", {
            "binary": "nova-compute", "host": host, "topic": "compute", "zone": "nova"})
        assert [v["state"] for v in await manager.watch_services()
                if v["binary"] == "nova-compute"] == ["up"]
        await waiting
        assert [v["state"] for v in heard] == ["down", "up"]
    finally:
        await stop_cloud(cloud)
