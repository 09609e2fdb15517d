"""Flavors: Nova's views, filters, lookups by name, and admin management."""

from __future__ import annotations

import pytest_twisted

from tests.api.compute.conftest import BASE, Api, call


@pytest_twisted.ensureDeferred
async def test_list_detail_and_show(api: Api) -> None:
    """When a member lists flavors it gets Nova's defaults with Nova's fields."""
    index = await call(api, "GET", "/flavors")
    assert [f["name"] for f in index.body["flavors"]][:2] == ["m1.tiny", "m1.small"]
    assert set(index.body["flavors"][0]) == {"id", "name", "links"}
    detail = await call(api, "GET", "/flavors/detail")
    tiny = detail.body["flavors"][0]
    assert (tiny["id"], tiny["ram"], tiny["vcpus"], tiny["disk"]) == ("1", 512, 1, 1)
    assert tiny["swap"] == "" and tiny["OS-FLV-EXT-DATA:ephemeral"] == 0
    assert tiny["os-flavor-access:is_public"] is True
    assert tiny["OS-FLV-DISABLED:disabled"] is False and tiny["rxtx_factor"] == 1.0
    assert tiny["links"][0]["href"] == f"{BASE}/v2.1/flavors/1"
    shown = await call(api, "GET", "/flavors/1", version="2.75")
    assert shown.body["flavor"]["swap"] == 0
    assert shown.body["flavor"]["description"] is None
    assert shown.body["flavor"]["extra_specs"] == {}


@pytest_twisted.ensureDeferred
async def test_lookup_by_name_is_404_then_filters(api: Api) -> None:
    """When a client probes a flavor by name it gets 404; minRam and minDisk filter."""
    probe = await call(api, "GET", "/flavors/m1.tiny")
    assert probe.code == 404 and "m1.tiny" in probe.body["itemNotFound"]["message"]
    big = await call(api, "GET", "/flavors?minRam=4096&minDisk=80")
    assert [f["name"] for f in big.body["flavors"]] == ["m1.large", "m1.xlarge"]
    assert (await call(api, "GET", "/flavors?minRam=lots")).code == 400
    assert (await call(api, "GET", "/flavors?is_public=None")).code == 200


@pytest_twisted.ensureDeferred
async def test_admin_manages_flavors_and_extra_specs(api: Api) -> None:
    """When the admin creates a private flavor, only admins see it; specs round-trip."""
    body = {"flavor": {"name": "tiny.private", "ram": 256, "vcpus": 1, "disk": 1,
                       "id": "p1", "os-flavor-access:is_public": False}}
    assert (await call(api, "POST", "/flavors", body)).code == 403
    made = await call(api, "POST", "/flavors", body, who="admin")
    assert made.code == 200 and made.body["flavor"]["id"] == "p1"
    assert (await call(api, "POST", "/flavors", body, who="admin")).code == 409
    assert (await call(api, "GET", "/flavors/p1")).code == 404
    every = await call(api, "GET", "/flavors?is_public=None", who="admin")
    assert "p1" in [f["id"] for f in every.body["flavors"]]
    public = await call(api, "GET", "/flavors", who="admin")
    assert "p1" not in [f["id"] for f in public.body["flavors"]]
    specs = {"extra_specs": {"hw:cpu_policy": "dedicated"}}
    assert (await call(api, "POST", "/flavors/p1/os-extra_specs", specs)).code == 403
    assert (await call(api, "POST", "/flavors/p1/os-extra_specs", specs,
                       who="admin")).body == specs
    got = await call(api, "GET", "/flavors/p1/os-extra_specs", who="admin")
    assert got.body == specs
    shown = await call(api, "GET", "/flavors/p1", who="admin", version="2.61")
    assert shown.body["flavor"]["extra_specs"] == specs["extra_specs"]
    assert (await call(api, "POST", "/flavors", {"flavor": {"name": "x"}},
                       who="admin")).code == 400
    assert (await call(api, "DELETE", "/flavors/p1")).code == 403
    assert (await call(api, "DELETE", "/flavors/p1", who="admin")).code == 202
    assert (await call(api, "GET", "/flavors/p1", who="admin")).code == 404
