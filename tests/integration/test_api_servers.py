"""The Compute API over HTTP against a real router, conductor, scheduler and fake hosts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import treq
from twisted.internet.defer import Deferred
from twisted.web.server import Site

from nova_ws.allinone.identities import with_identities
from nova_ws.api.compute.app import ComputeApi
from nova_ws.api.identity import IdentityApi
from nova_ws.api.root import ApiRoot
from nova_ws.db.queries import identity, images
from nova_ws.router.auth.wampcra import WampCraAuthenticator
from nova_ws.testing.cloud import Cloud, start_cloud, stop_cloud
from nova_ws.wamp.client import ServiceClient

pytestmark = pytest.mark.integration
IMAGE = "11111111-2222-3333-4444-555555555555"


@dataclass
class Api:
    """A listening API server on the cloud's database, joined as role api."""

    cloud: Cloud
    url: str
    token: str
    project_id: str


async def _api_client(cloud: Cloud) -> ServiceClient:
    """Teach the running router an api identity and join with it."""
    from twisted.internet import reactor

    router_config, configs = with_identities(cloud.config, ["nova-api"])
    principals = {**cloud.router.config.router_wampcra, **router_config.router_wampcra}
    cloud.router.router.authenticators["wampcra"] = WampCraAuthenticator(principals)
    url = f"ws://127.0.0.1:{cloud.router.port('websocket')}/ws"
    config = configs["nova-api"]
    client = ServiceClient(replace(config.wamp, url=url), reactor)
    client.startService()
    await client.when_joined()
    return client


@pytest_twisted.async_yield_fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """The cloud with two hosts and nova-api's Compute and Identity APIs on a real port."""
    from twisted.internet import reactor

    cloud = await start_cloud(tmp_path, 2)
    client = await _api_client(cloud)
    boot = await cloud.db().run(identity.bootstrap, admin_password="a", demo_password="d")
    await cloud.db().run(lambda s: images.create_image(s, name="cirros", uuid=IMAGE))
    public = "http://127.0.0.1"
    root = ApiRoot(ComputeApi(public, db=cloud.db(), client=client),
                   identity=IdentityApi(cloud.db(), reactor, public_url=public))
    site: Any = Site(root.resource())
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    url = f"http://127.0.0.1:{port.getHost().port}"  # type: ignore[attr-defined]
    try:
        auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "demo", "domain": {"name": "Default"}, "password": "d"}}},
            "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}}
        response = await treq.post(url + "/identity/v3/auth/tokens", json=auth)
        assert response.code == 201
        token = response.headers.getRawHeaders("X-Subject-Token")[0]
        await response.content()
        yield Api(cloud, url, token, boot.demo_project.id)
    finally:
        stopping: Any = port.stopListening()
        await stopping
        await client.stopService()
        await stop_cloud(cloud)


async def _call(api: Api, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers: Any = {"X-Auth-Token": [api.token], "Content-Type": ["application/json"],
                    "OpenStack-API-Version": ["compute 2.37"]}  # "networks": "none"
    response = await treq.request(method, f"{api.url}/compute/v2.1{path}", data=data,
                                  headers=headers)
    content = await response.content()
    return response.code, json.loads(content) if content else None


class Events:
    """Counts the project's pushed instance events; lets a loop await the next one."""

    def __init__(self) -> None:
        self.count = 0
        self._waiting: list[Deferred[None]] = []

    def __call__(self, view: dict[str, Any]) -> None:
        self.count += 1
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(None)

    def next(self) -> Deferred[None]:
        """Fires at the next event."""
        d: Deferred[None] = Deferred()
        self._waiting.append(d)
        return d


async def _wait_status(api: Api, events: Events, uuids: list[str], wanted: str) -> None:
    """Poll GET /servers/{id} after each pushed event until every server has *wanted*."""
    from twisted.internet import reactor

    while True:
        seen = events.count
        statuses = {u: (await _call(api, "GET", f"/servers/{u}"))[1]["server"]["status"]
                    for u in uuids}
        assert "ERROR" not in statuses.values(), statuses
        if set(statuses.values()) == {wanted}:
            return
        if events.count == seen:
            await events.next().addTimeout(120, reactor)


@pytest_twisted.ensureDeferred
async def test_servers_over_http(api: Api) -> None:
    """
    When three servers are created over HTTP they become ACTIVE; one stops
    (SHUTOFF) and shows its console log; deleting all leaves the list empty.
    """
    events = Events()
    await api.cloud.admin.subscribe(events, f"nova.project.{api.project_id}.instance")
    uuids = []
    for i in range(3):
        code, body = await _call(api, "POST", "/servers", {"server": {
            "name": f"vm{i}", "flavorRef": "1", "imageRef": IMAGE, "networks": "none"}})
        assert code == 202, body
        uuids.append(body["server"]["id"])
    await _wait_status(api, events, uuids, "ACTIVE")
    code, body = await _call(api, "GET", "/servers/detail")
    assert {s["id"] for s in body["servers"]} == set(uuids)
    assert all(s["hostId"] for s in body["servers"])
    code, _ = await _call(api, "POST", f"/servers/{uuids[0]}/action", {"os-stop": None})
    assert code == 202
    await _wait_status(api, events, uuids[:1], "SHUTOFF")
    code, body = await _call(api, "POST", f"/servers/{uuids[0]}/action",
                             {"os-getConsoleOutput": {"length": 50}})
    assert code == 200 and isinstance(body["output"], str)
    code, body = await _call(api, "POST", f"/servers/{uuids[0]}/action", {"os-stop": None})
    assert code == 409, body
    for uuid in uuids:
        assert (await _call(api, "DELETE", f"/servers/{uuid}"))[0] == 204
    code, body = await _call(api, "GET", "/servers")
    assert (code, body) == (200, {"servers": []})
