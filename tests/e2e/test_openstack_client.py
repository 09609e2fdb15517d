"""The real `openstack` command-line client against a running all-in-one.

The all-in-one runs in the test's reactor on free ports; the client runs as
a subprocess (never blocking the reactor) with the environment ``openrc``
sets, as a user would after ``source openrc``.
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
OPENSTACK = str(Path(sys.executable).with_name("openstack"))


async def _openstack(env: dict[str, str], *args: str) -> Any:
    from twisted.internet import reactor

    out, err, code = await getProcessOutputAndValue(
        OPENSTACK, [*args, "-f", "json"], env=env, reactor=reactor)
    assert code == 0, err.decode()
    return json.loads(out)


@pytest_twisted.ensureDeferred
async def test_token_issue_with_the_real_client(tmp_path: Path) -> None:
    """When a user sources openrc, `openstack token issue` and `catalog list` work as with Nova."""
    aio = start_allinone(tmp_path)
    service = aio.service
    env = client_env(aio, tmp_path)
    try:
        token = await _openstack(env, "token", "issue")
        assert token["id"] and token["project_id"] and token["expires"]
        catalog = await _openstack(env, "catalog", "list")
        assert {c["Type"] for c in catalog} >= {"identity", "compute", "image"}
        flavors = await _openstack(env, "flavor", "list")
        assert "m1.tiny" in {f["Name"] for f in flavors}
        admin = client_env(aio, tmp_path, admin=True)
        for name in ("nova-api", "nova-conductor"):
            await service.getServiceNamed(name).client.when_joined()
        services = await _openstack(admin, "compute", "service", "list")
        assert "nova-conductor" in {s["Binary"] for s in services}
        assert {s["State"] for s in services} == {"up"}
        env["OS_PASSWORD"] = "wrong"
        from twisted.internet import reactor

        _, err, code = await getProcessOutputAndValue(OPENSTACK, ["token", "issue"], env=env,
                                                      reactor=reactor)
        assert code != 0 and b"401" in err
    finally:
        await service.stopService()
