"""The server lifecycle and admin listings through the real `openstack` and `nova` clients."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.utils import getProcessOutputAndValue

from nova_ws.testing.allinone import client_env, start_allinone

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BIN = Path(sys.executable).parent


async def _run(env: dict[str, str], tool: str, *args: str) -> str:
    from twisted.internet import reactor

    out, err, code = await getProcessOutputAndValue(str(BIN / tool), list(args), env=env,
                                                    reactor=reactor)
    assert code == 0, f"{tool} {' '.join(args)}: {err.decode()}"
    return out.decode()


async def _json(env: dict[str, str], *args: str) -> Any:
    return json.loads(await _run(env, "openstack", *args, "-f", "json"))


async def _status(env: dict[str, str], name: str, wanted: str) -> None:
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    for _ in range(100):
        if (await _json(env, "server", "show", name))["status"] == wanted:
            return
        await deferLater(reactor, 0.1, lambda: None)
    raise AssertionError(f"{name} never became {wanted}")


@pytest_twisted.ensureDeferred
async def test_server_lifecycle_with_the_real_clients(tmp_path: Path) -> None:
    """When a user drives a server through its life with the real clients, each command works."""
    aio = start_allinone(tmp_path)
    env, admin = client_env(aio, tmp_path), client_env(aio, tmp_path, admin=True)
    try:
        for name in ("nova-api", "nova-conductor", "nova-compute"):
            await aio.service.getServiceNamed(name).client.when_joined()
        images = await _json(env, "image", "list")
        assert [i["Name"] for i in images] == ["cirros"]
        flavor = await _json(admin, "flavor", "create", "--vcpus", "1", "--ram", "256",
                             "--disk", "1", "e2e.small")
        assert flavor["name"] == "e2e.small"
        server = await _json(env, "server", "create", "--flavor", "e2e.small", "--image",
                             "cirros", "--nic", "none", "--wait", "life1")
        assert server["status"] == "ACTIVE"
        assert [s["Name"] for s in await _json(env, "server", "list")] == ["life1"]
        await _run(env, "openstack", "server", "stop", "life1")
        await _status(env, "life1", "SHUTOFF")
        await _run(env, "openstack", "server", "start", "life1")
        await _status(env, "life1", "ACTIVE")
        await _run(env, "openstack", "server", "reboot", "--wait", "life1")
        await _status(env, "life1", "ACTIVE")
        assert "life1" in await _run(env, "nova", "list")
        assert "nova-compute" in await _run(admin, "nova", "service-list")
        hypervisors = await _json(admin, "hypervisor", "list")
        assert len(hypervisors) == 1 and hypervisors[0]["State"] == "up"
        await _run(env, "openstack", "server", "delete", "--wait", "life1")
        assert await _json(env, "server", "list") == []
    finally:
        await aio.service.stopService()
