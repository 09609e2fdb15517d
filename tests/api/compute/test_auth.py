"""Tokens and policy on the Compute API."""

from __future__ import annotations

import pytest_twisted

from tests.api.compute.conftest import Api, boot, call, server_body


@pytest_twisted.ensureDeferred
async def test_missing_or_invalid_token_is_401(api: Api) -> None:
    """When a request has no token, a wrong one or an unscoped one, the answer is 401."""
    for who in (None, "not-a-token", "unscoped"):
        for method, path in (("GET", "/servers"), ("GET", "/flavors"),
                             ("POST", "/servers"), ("GET", "/nothing")):
            answer = await call(api, method, path, who=who)
            assert answer.code == 401, (who, path)
            assert answer.body["unauthorized"]["code"] == 401


@pytest_twisted.ensureDeferred
async def test_version_discovery_needs_no_token(api: Api) -> None:
    """When a client probes the version document without a token, it gets it."""
    answer = await call(api, "GET", "/", who=None)
    assert answer.code == 200 and answer.body["version"]["id"] == "v2.1"


@pytest_twisted.ensureDeferred
async def test_other_projects_server_is_not_found(api: Api) -> None:
    """When another project reads, renames, acts on or deletes a server, it is a 404."""
    uuid = await boot(api)
    for method, path, body in (("GET", f"/servers/{uuid}", None),
                               ("PUT", f"/servers/{uuid}", {"server": {"name": "x"}}),
                               ("POST", f"/servers/{uuid}/action", {"os-stop": None}),
                               ("DELETE", f"/servers/{uuid}", None)):
        answer = await call(api, method, path, body, who="other")
        assert answer.code == 404, path
        assert uuid in answer.body["itemNotFound"]["message"]
    listed = await call(api, "GET", "/servers", who="other")
    assert listed.body["servers"] == []


@pytest_twisted.ensureDeferred
async def test_reader_reads_but_cannot_write(api: Api) -> None:
    """When a reader lists and shows it succeeds; creating, acting or deleting is 403."""
    uuid = await boot(api)
    assert (await call(api, "GET", f"/servers/{uuid}", who="reader")).code == 200
    assert len((await call(api, "GET", "/servers", who="reader")).body["servers"]) == 1
    for method, path, body in (("POST", "/servers", server_body()),
                               ("PUT", f"/servers/{uuid}", {"server": {"name": "x"}}),
                               ("POST", f"/servers/{uuid}/action", {"os-stop": None}),
                               ("DELETE", f"/servers/{uuid}", None)):
        answer = await call(api, method, path, body, who="reader")
        assert answer.code == 403, path
        assert answer.body["forbidden"]["code"] == 403


@pytest_twisted.ensureDeferred
async def test_admin_sees_all_tenants_member_may_not_ask(api: Api) -> None:
    """When the admin lists with all_tenants it sees every project; a member asking is 403."""
    mine = await boot(api)
    theirs = await boot(api, who="other")
    own = await call(api, "GET", "/servers", who="admin")
    assert own.body["servers"] == []
    every = await call(api, "GET", "/servers?all_tenants=1", who="admin")
    assert {s["id"] for s in every.body["servers"]} == {mine, theirs}
    assert (await call(api, "GET", "/servers?all_tenants=1")).code == 403
    shown = await call(api, "GET", f"/servers/{theirs}", who="admin")
    assert shown.body["server"]["OS-EXT-SRV-ATTR:instance_name"].startswith("instance-")
    member_view = await call(api, "GET", f"/servers/{mine}")
    assert "OS-EXT-SRV-ATTR:host" not in member_view.body["server"]
