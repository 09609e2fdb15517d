"""The Image API v2 subset: discovery, list and show from the catalog, with tokens."""

from __future__ import annotations

from typing import Any

import pytest_twisted
from treq.testing import StubTreq

from nova_ws.api.image import ImageApi
from nova_ws.db.queries import identity, images
from tests.api.identity.conftest import database  # noqa: F401 - a fixture used here

BASE = "http://api.example:8774"


async def _setup(db: Any) -> tuple[StubTreq, str, str]:
    def prepare(session: Any) -> tuple[str, str]:
        boot = identity.bootstrap(session, admin_password="a", demo_password="d")
        token, _ = identity.issue_token(session, boot.demo_user.id, boot.demo_project.id,
                                        methods=["password"])
        images.create_image(session, name="cirros", properties={"architecture": "x86_64"})
        private = images.create_image(session, name="secret", visibility="private",
                                      owner="someone-else")
        return token, private.uuid
    token, private = await db.run(prepare)
    return StubTreq(ImageApi(db, BASE).resource()), token, private


@pytest_twisted.ensureDeferred
async def test_list_show_and_visibility(database: Any) -> None:  # noqa: F811
    """When a member lists images, it sees public ones by name, not others' private ones."""
    client, token, private = await _setup(database)
    headers = {"X-Auth-Token": [token]}
    response = await client.get(f"{BASE}/v2/images?name=cirros", headers=headers)
    body = await response.json()
    assert response.code == 200 and [i["name"] for i in body["images"]] == ["cirros"]
    image = body["images"][0]
    assert image["architecture"] == "x86_64" and image["status"] == "active"
    response = await client.get(f"{BASE}/v2/images/{image['id']}", headers=headers)
    assert response.code == 200 and (await response.json())["id"] == image["id"]
    for ref in ("cirros", private):  # names are not ids; private images of others hide
        response = await client.get(f"{BASE}/v2/images/{ref}", headers=headers)
        assert response.code == 404
    response = await client.get(f"{BASE}/v2/images")
    assert response.code == 401
    response = await client.get(f"{BASE}/v2/images?limit=x", headers=headers)
    assert response.code == 400


@pytest_twisted.ensureDeferred
async def test_version_discovery_needs_no_token(database: Any) -> None:  # noqa: F811
    """When a client probes /image/, it gets the version list without a token."""
    client, _, _ = await _setup(database)
    response = await client.get(f"{BASE}/")
    body = await response.json()
    assert response.code == 300 and body["versions"][0]["status"] == "CURRENT"
