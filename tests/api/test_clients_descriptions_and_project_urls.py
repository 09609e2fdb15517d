"""Server descriptions and project-scoped URLs with the real `openstack` and `nova` clients.

The all-in-one runs in the test's reactor on free ports; the clients run as
subprocesses with the environment ``openrc`` gives the demo user. The
clients negotiate their microversions and send bodies that pass the API's
schemas unchanged; ``--os-endpoint-override .../v2.1/<project_id>`` is how
clients whose catalog names the project in the compute URL talk to it.
"""

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


async def _run(env: dict[str, str], command: str, *args: str, ok: bool = True) -> str:
    from twisted.internet import reactor

    out, err, code = await getProcessOutputAndValue(str(BIN / command), list(args), env=env,
                                                    reactor=reactor)
    assert (code == 0) is ok, (args, err.decode())
    return out.decode() if ok else err.decode()


async def _openstack(env: dict[str, str], *args: str) -> Any:
    return json.loads(await _run(env, "openstack", *args, "-f", "json"))


@pytest_twisted.ensureDeferred
async def test_description_and_project_urls_with_real_clients(tmp_path: Path) -> None:
    """When a user creates a server with a description, changes it, and lists servers
    through a compute URL that names the project, the real clients work as with Nova.
    """
    aio = start_allinone(tmp_path)
    service = aio.service
    env = client_env(aio, tmp_path)
    try:
        for name in ("nova-api", "nova-conductor"):
            await service.getServiceNamed(name).client.when_joined()
        created = await _openstack(env, "server", "create", "--flavor", "m1.tiny", "--image",
                                   "cirros", "--nic", "none", "--description", "web tier",
                                   "--wait", "vm1")
        assert created["description"] == "web tier" and created["status"] == "ACTIVE"
        await _run(env, "openstack", "server", "set", "--description", "db tier", "vm1")
        shown = await _openstack(env, "server", "show", "vm1", "-c", "description")
        assert shown == {"description": "db tier"}
        project = (await _openstack(env, "token", "issue"))["project_id"]
        scoped = f"{aio.api}/compute/v2.1/{project}"
        listed = await _run(env, "nova", "--os-compute-api-version", "2.1",
                            "--os-endpoint-override", scoped, "list")
        assert created["id"] in listed and "vm1" in listed
        over = await _openstack(env, "--os-compute-api-version", "2.19",
                                "--os-endpoint-override", scoped, "server", "show", "vm1",
                                "-c", "description")
        assert over == {"description": "db tier"}
        elsewhere = f"{aio.api}/compute/v2.1/{'0' * 32}"
        refused = await _run(env, "nova", "--os-compute-api-version", "2.1",
                             "--os-endpoint-override", elsewhere, "list", ok=False)
        assert "Malformed request URL" in refused and "(HTTP 400)" in refused
        await _run(env, "openstack", "server", "delete", "--wait", "vm1")
    finally:
        await service.stopService()
