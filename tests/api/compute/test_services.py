"""os-services and os-hypervisors: admin views of hosts, enable and disable."""

from __future__ import annotations

from typing import Any

import pytest_twisted

from nova_ws.db.queries import compute_nodes
from tests.api.compute.conftest import Api, call

SERVICES = [
    {"id": 1, "host": "h1", "binary": "nova-compute", "zone": "nova", "disabled": False,
     "disabled_reason": None, "forced_down": False, "state": "up",
     "updated_at": "2026-01-01T00:00:00+00:00"},
    {"id": 2, "host": "ctl", "binary": "nova-conductor", "zone": "nova", "disabled": False,
     "disabled_reason": None, "forced_down": False, "state": "down",
     "updated_at": "2026-01-01T00:00:00+00:00"},
]


def _answers(api: Api) -> list[tuple[Any, ...]]:
    updates: list[tuple[Any, ...]] = []

    def update(host: str, binary: str, **kw: Any) -> dict[str, Any]:
        updates.append((host, binary, kw))
        row = next(s for s in SERVICES if s["host"] == host and s["binary"] == binary)
        return {**row, **{k: v for k, v in kw.items() if k in ("disabled", "forced_down",
                                                                "disabled_reason")}}

    api.caller.answers["nova.conductor.service_list"] = lambda: SERVICES
    api.caller.answers["nova.conductor.service_update"] = update
    return updates


@pytest_twisted.ensureDeferred
async def test_service_list_and_disable(api: Api) -> None:
    """When an admin lists services and disables one by id, Nova's documents come back."""
    updates = _answers(api)
    listed = await call(api, "GET", "/os-services?binary=nova-compute", who="admin",
                        version="2.69")
    assert listed.code == 200
    [svc] = listed.body["services"]
    assert (svc["host"], svc["status"], svc["state"]) == ("h1", "enabled", "up")
    assert len(svc["id"]) == 36  # a UUID from 2.53
    done = await call(api, "PUT", f"/os-services/{svc['id']}",
                      {"status": "disabled", "disabled_reason": "maint"}, who="admin",
                      version="2.69")
    assert done.code == 200 and done.body["service"]["status"] == "disabled"
    assert updates == [("h1", "nova-compute", {"disabled": True, "disabled_reason": "maint"})]
    legacy = await call(api, "PUT", "/os-services/enable",
                        {"host": "h1", "binary": "nova-compute"}, who="admin")
    assert legacy.code == 200 and legacy.body["service"]["status"] == "enabled"
    old = await call(api, "GET", "/os-services", who="admin")
    assert [s["id"] for s in old.body["services"]] == [1, 2]
    missing = await call(api, "PUT", "/os-services/nope", {"status": "disabled"}, who="admin",
                         version="2.69")
    assert missing.code == 404


@pytest_twisted.ensureDeferred
async def test_members_may_not_see_services_or_hypervisors(api: Api) -> None:
    """When a member asks for services or hypervisors, it is refused with 403."""
    _answers(api)
    for path in ("/os-services", "/os-hypervisors", "/os-hypervisors/detail"):
        answer = await call(api, "GET", path, who="member")
        assert answer.code == 403 and "forbidden" in answer.body


@pytest_twisted.ensureDeferred
async def test_hypervisors_and_statistics(api: Api) -> None:
    """When compute nodes exist, hypervisors list them with their service state and totals."""
    _answers(api)
    await api.db.run(lambda s: compute_nodes.upsert_compute_node(
        s, host="h1", hypervisor_hostname="h1", vcpus=8, memory_mb=8192, local_gb=100))
    listed = await call(api, "GET", "/os-hypervisors", who="admin", version="2.53")
    [hv] = listed.body["hypervisors"]
    assert (hv["hypervisor_hostname"], hv["state"], hv["status"]) == ("h1", "up", "enabled")
    detail = await call(api, "GET", f"/os-hypervisors/{hv['id']}", who="admin",
                        version="2.53")
    assert detail.body["hypervisor"]["vcpus"] == 8
    assert isinstance(detail.body["hypervisor"]["cpu_info"], dict)  # a dict from 2.28
    stats = await call(api, "GET", "/os-hypervisors/statistics", who="admin")
    assert stats.body["hypervisor_statistics"]["memory_mb"] == 8192
    gone = await call(api, "GET", "/os-hypervisors/statistics", who="admin", version="2.88")
    assert gone.code == 404


@pytest_twisted.ensureDeferred
async def test_availability_zones(api: Api) -> None:
    """When members list zones they see names and state; the detail with hosts is admin's."""
    _answers(api)
    zones = await call(api, "GET", "/os-availability-zone", who="member")
    assert zones.body == {"availabilityZoneInfo": [
        {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]}
    detail = await call(api, "GET", "/os-availability-zone/detail", who="admin")
    hosts = detail.body["availabilityZoneInfo"][0]["hosts"]
    assert hosts["h1"]["nova-compute"]["available"] is True
    refused = await call(api, "GET", "/os-availability-zone/detail", who="member")
    assert refused.code == 403
