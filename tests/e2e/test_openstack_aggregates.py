"""Host aggregates and the zones they make, through the real `openstack` and `nova`
clients against a running all-in-one (its one compute host is ``aio``)."""

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
HOST = "aio"


async def _call(env: dict[str, str], tool: str, *args: str) -> tuple[int, str, str]:
    from twisted.internet import reactor

    out, err, code = await getProcessOutputAndValue(str(BIN / tool), list(args), env=env,
                                                    reactor=reactor)
    return code, out.decode(), err.decode()


async def _run(env: dict[str, str], tool: str, *args: str) -> str:
    code, out, err = await _call(env, tool, *args)
    assert code == 0, f"{tool} {' '.join(args)}: {err}"
    return out


async def _json(env: dict[str, str], *args: str) -> Any:
    return json.loads(await _run(env, "openstack", *args, "-f", "json"))


@pytest_twisted.ensureDeferred
async def test_aggregates_with_the_real_clients(tmp_path: Path) -> None:
    """When an admin puts the host in an aggregate with a zone, the clients show the
    aggregate, its host and properties, the hypervisor's aggregates and the zone; a server
    asked for in that zone boots there; the host taken out, the aggregate is deleted."""
    aio = start_allinone(tmp_path)
    env, admin = client_env(aio, tmp_path), client_env(aio, tmp_path, admin=True)
    try:
        for name in ("nova-api", "nova-conductor", "nova-compute"):
            await aio.service.getServiceNamed(name).client.when_joined()
        made = await _json(admin, "aggregate", "create", "--zone", "az1", "agg1")
        assert (made["name"], made["availability_zone"]) == ("agg1", "az1")
        assert isinstance(made["id"], int) and len(made["uuid"]) == 36
        added = await _json(admin, "aggregate", "add", "host", "agg1", HOST)
        assert added["hosts"] == [HOST]
        await _run(admin, "openstack", "aggregate", "set", "--property", "ssd=true", "agg1")
        shown = await _json(admin, "aggregate", "show", "agg1")
        assert (shown["hosts"], shown["availability_zone"], shown["properties"]) == (
            [HOST], "az1", {"ssd": "true"})
        assert [(a["Name"], a["Availability Zone"]) for a in
                await _json(admin, "aggregate", "list")] == [("agg1", "az1")]
        assert "agg1" in await _run(admin, "nova", "aggregate-list")

        hypervisor = await _json(admin, "hypervisor", "show", HOST)
        assert hypervisor["aggregates"] == ["agg1"]
        zones = await _json(admin, "availability", "zone", "list", "--compute")
        assert {z["Zone Name"] for z in zones} == {"az1"}
        services = await _json(admin, "compute", "service", "list", "--service",
                               "nova-compute")
        assert [s["Zone"] for s in services] == ["az1"]

        server = await _json(env, "server", "create", "--flavor", "m1.tiny", "--image",
                             "cirros", "--nic", "none", "--availability-zone", "az1",
                             "--wait", "zoned1")
        assert (server["status"], server["OS-EXT-AZ:availability_zone"]) == ("ACTIVE", "az1")
        code, _, err = await _call(admin, "openstack", "aggregate", "set", "--zone", "az2",
                                   "agg1")
        assert code != 0 and "contain instances in this zone" in err
        await _run(env, "openstack", "server", "delete", "--wait", "zoned1")

        await _run(admin, "openstack", "aggregate", "unset", "--property", "ssd", "agg1")
        assert (await _json(admin, "aggregate", "show", "agg1"))["properties"] == {}
        code, _, err = await _call(admin, "openstack", "aggregate", "delete", "agg1")
        assert code != 0 and "not empty" in err
        removed = await _json(admin, "aggregate", "remove", "host", "agg1", HOST)
        assert removed["hosts"] == []
        assert (await _json(admin, "hypervisor", "show", HOST))["aggregates"] == []
        await _run(admin, "openstack", "aggregate", "delete", "agg1")
        assert await _json(admin, "aggregate", "list") == []
        zones = await _json(admin, "availability", "zone", "list", "--compute")
        assert {z["Zone Name"] for z in zones} == {"nova"}
    finally:
        await aio.service.stopService()
