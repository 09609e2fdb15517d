"""Actions on an instance that was never placed on a host.

A boot that found no valid host leaves the instance in ERROR with no host.
Stop, reboot and rebuild are refused with the state error and leave no task
state behind (the instance could otherwise never be acted on again); delete
still works.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError

from nova_ws.conductor.manager import INVALID_STATE
from nova_ws.db.queries import instances
from nova_ws.testing.cloud import create_rows, start_cloud, stop_cloud


@pytest_twisted.ensureDeferred
async def test_unplaced_instance_refuses_actions_and_can_be_deleted(tmp_path: Path) -> None:
    """When an ERROR instance has no host, actions are refused cleanly; delete works."""
    cloud = await start_cloud(tmp_path, 1)
    try:
        (uuid,) = await create_rows(cloud, 1)
        await cloud.db().run(lambda s: instances.update_instance(
            s, uuid, vm_state="error", task_state=None))
        manager = cloud.conductor.manager
        for action, kwargs in (("stop", {}), ("reboot", {"hard": True}),
                               ("rebuild", {"rebuild": {"image_ref": "img"}})):
            with pytest.raises(ApplicationError) as refused:
                await manager.instance_action(uuid, action, **kwargs)
            assert refused.value.error == INVALID_STATE, action
            row = await cloud.db().run(instances.get_instance, uuid)
            assert (row.vm_state, row.task_state) == ("error", None), action
        view = await manager.instance_action(uuid, "delete")
        assert view["vm_state"] == "deleted"
    finally:
        await stop_cloud(cloud)
