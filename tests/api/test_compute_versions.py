"""Compute API version discovery and microversion negotiation, in memory."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from treq.testing import StubTreq

from nova_ws.api import microversions
from nova_ws.api.compute.app import ComputeApi
from nova_ws.api.root import ApiRoot

BASE = "http://api.example:8774"
LATEST = microversions.Version(*microversions.MAX_VERSION)


def _client() -> StubTreq:
    return StubTreq(ApiRoot(ComputeApi(BASE)).resource())


async def _get(client: StubTreq, path: str, **headers: str) -> tuple[int, Any, Any]:
    response = await client.get(BASE + path, headers={k.replace("_", "-"): [v]
                                                      for k, v in headers.items()})
    body = await response.json()
    return response.code, body, response.headers


@pytest_twisted.ensureDeferred
async def test_version_list_and_document() -> None:
    """When a client probes /compute/ and /compute/v2.1, it gets Nova's version documents."""
    client = _client()
    code, body, _ = await _get(client, "/compute/")
    assert code == 200
    assert [v["id"] for v in body["versions"]] == ["v2.0", "v2.1"]
    code, body, headers = await _get(client, "/compute/v2.1")
    v = body["version"]
    assert (v["id"], v["status"], v["min_version"]) == ("v2.1", "CURRENT", "2.1")
    assert microversions.Version.parse(v["version"]) >= microversions.Version(2, 37)
    assert v["links"][0]["href"] == f"{BASE}/compute/v2.1/"
    assert headers.getRawHeaders("OpenStack-API-Version") == ["compute 2.1"]


@pytest_twisted.ensureDeferred
async def test_bare_v21_path_is_the_same_api() -> None:
    """When a client uses Nova's bare /v2.1 path, it reaches the compute API."""
    code, body, _ = await _get(_client(), "/v2.1/")
    assert code == 200 and body["version"]["id"] == "v2.1"


@pytest.mark.parametrize("headers,expected", [
    ({"OpenStack-API-Version": "compute 2.37"}, "compute 2.37"),
    ({"X-OpenStack-Nova-API-Version": "2.6"}, "compute 2.6"),
    ({"OpenStack-API-Version": "compute latest"}, f"compute {LATEST}"),
])
@pytest_twisted.ensureDeferred
async def test_microversion_negotiated(headers: dict[str, str], expected: str) -> None:
    """When a client asks for a supported microversion, the answer carries it."""
    _, _, got = await _get(_client(), "/compute/v2.1/", **headers)
    assert got.getRawHeaders("OpenStack-API-Version") == [expected]


@pytest.mark.parametrize("value", ["compute 3.0", "compute 2.999", "compute 1.0"])
@pytest_twisted.ensureDeferred
async def test_unsupported_microversion_is_406(value: str) -> None:
    """When a client asks for a version outside the range, it gets 406 in Nova's format."""
    code, body, _ = await _get(_client(), "/compute/v2.1/", OpenStack_API_Version=value)
    assert code == 406 and body["notAcceptable"]["code"] == 406


@pytest.mark.parametrize("value", ["compute abc", "compute 2", "compute 2.1.1", "compute 2.x"])
@pytest_twisted.ensureDeferred
async def test_malformed_microversion_is_400(value: str) -> None:
    """When the version is not Major.Minor at all, it is a bad request (400), as in Nova."""
    code, body, _ = await _get(_client(), "/compute/v2.1/", OpenStack_API_Version=value)
    assert code == 400 and "is of invalid format" in body["badRequest"]["message"]


@pytest_twisted.ensureDeferred
async def test_unknown_resource_is_404_fault() -> None:
    """When a resource does not exist, the answer is itemNotFound, never a 500."""
    code, body, _ = await _get(_client(), "/compute/v2.1/nothing/here")
    assert code == 404 and "nothing/here" in body["itemNotFound"]["message"]
    code, body, _ = await _get(_client(), "/identity/v3")
    assert code == 404 and "itemNotFound" in body
