"""The server lifecycle and admin listings through the real `openstack` and `nova` clients."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.utils import getProcessOutputAndValue

from nova_ws.db.queries import images
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


@pytest_twisted.ensureDeferred
async def test_rebuild_with_the_real_client(tmp_path: Path) -> None:
    """When a user rebuilds a server with `openstack server rebuild --image ... --wait`, it
    waits until the server is ACTIVE again on the new image, with the new name and properties;
    a stopped server is rebuilt and waited for SHUTOFF; the event list shows the rebuilds
    and the console log the new image's boot."""
    aio = start_allinone(tmp_path)
    env = client_env(aio, tmp_path)
    try:
        for name in ("nova-api", "nova-conductor", "nova-compute"):
            await aio.service.getServiceNamed(name).client.when_joined()
        other = await aio.service.getServiceNamed("nova-conductor").db.run(
            lambda s: images.create_image(s, name="fedora"))
        server = await _json(env, "server", "create", "--flavor", "m1.tiny", "--image",
                             "cirros", "--nic", "none", "--wait", "rb1")
        out = await _run(env, "openstack", "server", "rebuild", "--image", "fedora", "--name",
                         "rb2", "--property", "role=web", "--wait", "rb1", "-f", "json")
        done, _, document = out.partition("\n")  # --wait says so before the server
        assert done == "Complete"
        rebuilt = json.loads(document)
        assert (rebuilt["id"], rebuilt["name"], rebuilt["status"]) == (server["id"], "rb2",
                                                                       "ACTIVE")
        assert rebuilt["adminPass"]
        shown = await _json(env, "server", "show", "rb2")
        assert shown["status"] == "ACTIVE" and other.uuid in str(shown["image"])
        assert "fedora" in str(shown["image"]) and shown["properties"] == {"role": "web"}
        assert f"Image {other.uuid}" in await _run(env, "openstack", "console", "log",
                                                  "show", "rb2")
        await _run(env, "openstack", "server", "stop", "rb2")
        await _status(env, "rb2", "SHUTOFF")
        await _run(env, "openstack", "server", "rebuild", "--image", "cirros", "--wait", "rb2")
        shown = await _json(env, "server", "show", "rb2")
        assert shown["status"] == "SHUTOFF" and "cirros" in str(shown["image"])
        events = await _json(env, "server", "event", "list", "rb2")
        assert [e["Action"] for e in events].count("rebuild") == 2
        await _run(env, "openstack", "server", "delete", "--wait", "rb2")
    finally:
        await aio.service.stopService()
