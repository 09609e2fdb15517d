"""
Tests for version discovery and C{/v3/auth/tokens}: issue, validate,
rescope, expire and revoke.
"""

from __future__ import annotations

import re

import pytest_twisted

from tests.api.identity.conftest import (
    ADMIN_PASSWORD,
    BASE,
    DEMO_PASSWORD,
    PUBLIC_URL,
    Cloud,
    call,
    login,
    password_auth,
)

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest_twisted.ensureDeferred
async def test_version_documents(cloud: Cloud) -> None:
    """When a client discovers versions, it gets Keystone's v3.14 documents."""
    listing = await call(cloud, "GET", "/")
    assert listing.code == 300
    [v3] = listing.body["versions"]["values"]
    assert (v3["id"], v3["status"]) == ("v3.14", "stable")
    assert v3["links"] == [{"rel": "self", "href": f"{BASE}/v3/"}]
    assert v3["media-types"] == [{"base": "application/json",
                                  "type": "application/vnd.openstack.identity-v3+json"}]
    for path in ("/v3", "/v3/"):
        single = await call(cloud, "GET", path)
        assert single.code == 200 and single.body == {"version": v3}


@pytest_twisted.ensureDeferred
async def test_scoped_token_and_catalog(cloud: Cloud) -> None:
    """
    When the admin logs in scoped to a project by name, the answer is 201
    with X-Subject-Token, the user, project, roles, times and the catalog.
    """
    token, body = await login(cloud)
    assert len(token) >= 43
    assert body["methods"] == ["password"]
    assert body["user"]["name"] == "admin"
    assert body["user"]["domain"] == {"id": "default", "name": "Default"}
    assert body["project"]["id"] == cloud.boot.admin_project.id
    assert body["project"]["domain"] == {"id": "default", "name": "Default"}
    assert [r["name"] for r in body["roles"]] == ["admin"]
    assert TIME.match(body["issued_at"]) and TIME.match(body["expires_at"])
    assert body["issued_at"].startswith("2030-03-17T") and body["expires_at"] > body["issued_at"]
    services = {s["type"]: s for s in body["catalog"]}
    assert set(services) == {"identity", "compute", "image", "ec2"}
    urls = {kind: {e["interface"]: e["url"] for e in s["endpoints"]}
            for kind, s in services.items()}
    assert urls["identity"]["public"] == f"{PUBLIC_URL}/identity"
    assert urls["compute"]["internal"] == f"{PUBLIC_URL}/compute/v2.1"
    assert urls["image"]["admin"] == f"{PUBLIC_URL}/image"
    for service in services.values():
        assert service["id"] and service["name"]
        for endpoint in service["endpoints"]:
            assert set(endpoint) == {"id", "interface", "region", "region_id", "url"}
            assert endpoint["region"] == endpoint["region_id"] == "RegionOne"


@pytest_twisted.ensureDeferred
async def test_scope_by_ids_and_domain_id(cloud: Cloud) -> None:
    """When the user and project are named by id (and domain by id), login succeeds."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": cloud.boot.admin_user.id, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"id": cloud.boot.admin_project.id}}}}
    answer = await call(cloud, "POST", "/v3/auth/tokens", body)
    assert answer.code == 201 and answer.body["token"]["project"]["name"] == "admin"
    second = password_auth("admin", ADMIN_PASSWORD, "admin")
    second["auth"]["identity"]["password"]["user"]["domain"] = {"id": "default"}
    assert (await call(cloud, "POST", "/v3/auth/tokens", second)).code == 201


@pytest_twisted.ensureDeferred
async def test_unscoped_then_rescoped(cloud: Cloud) -> None:
    """
    When a user asks for an unscoped token it has no project, roles or
    catalog; the token method then rescopes it to a project, keeping its expiry.
    """
    body = password_auth("demo", DEMO_PASSWORD)
    body["auth"]["scope"] = "unscoped"
    answer = await call(cloud, "POST", "/v3/auth/tokens", body)
    assert answer.code == 201
    unscoped = answer.body["token"]
    assert "project" not in unscoped and "catalog" not in unscoped and "roles" not in unscoped
    token = answer.headers.getRawHeaders("X-Subject-Token")[0]
    rescope = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}},
                        "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}
    answer = await call(cloud, "POST", "/v3/auth/tokens", rescope)
    assert answer.code == 201
    scoped = answer.body["token"]
    assert scoped["project"]["name"] == "demo"
    assert [r["name"] for r in scoped["roles"]] == ["member"]
    assert scoped["methods"] == ["password", "token"]
    assert scoped["expires_at"] == unscoped["expires_at"]


@pytest_twisted.ensureDeferred
async def test_default_project_scope(cloud: Cloud) -> None:
    """When no scope is asked for, the token is scoped to the user's default project."""
    _, body = await login(cloud, "demo", DEMO_PASSWORD, project=None)
    assert body["project"]["name"] == "demo"


@pytest_twisted.ensureDeferred
async def test_bad_credentials_are_401(cloud: Cloud) -> None:
    """
    When the password is wrong, the user or domain unknown, or the user has
    no role on the project, the answer is 401 in Keystone's format.
    """
    for body in (password_auth("admin", "wrong", "admin"),
                 password_auth("nobody", ADMIN_PASSWORD, "admin"),
                 password_auth("admin", ADMIN_PASSWORD, "admin", domain="Elsewhere"),
                 password_auth("demo", DEMO_PASSWORD, "admin"),
                 password_auth("admin", ADMIN_PASSWORD, "no-such-project")):
        answer = await call(cloud, "POST", "/v3/auth/tokens", body)
        assert answer.code == 401, body
        assert answer.body["error"]["code"] == 401
        assert answer.body["error"]["title"] == "Unauthorized"
        assert answer.body["error"]["message"]
        assert answer.headers.getRawHeaders("X-Subject-Token") is None


@pytest_twisted.ensureDeferred
async def test_malformed_bodies_are_400(cloud: Cloud) -> None:
    """When the body is not JSON or lacks what it needs, the answer is 400, never 500."""
    bodies = [b"{not json", b"[]", b'"x"', b"{}", b'{"auth": {}}',
              b'{"auth": {"identity": {"methods": "password"}}}',
              b'{"auth": {"identity": {"methods": ["password"], "password": {}}}}',
              b'{"auth": {"identity": {"methods": ["password"], "password": {"user": '
              b'{"name": "admin"}}}}}',
              b'{"auth": {"identity": {"methods": ["token"], "token": {"id": 5}}}}',
              b"\xff\xfe"]
    for raw in bodies:
        answer = await call(cloud, "POST", "/v3/auth/tokens", raw=raw)
        assert answer.code == 400, raw
        assert answer.body["error"]["title"] == "Bad Request"
    answer = await call(cloud, "POST", "/v3/auth/tokens",
                        {"auth": {"identity": {"methods": ["totp"]}}})
    assert answer.code == 501


@pytest_twisted.ensureDeferred
async def test_validate_and_head(cloud: Cloud) -> None:
    """
    When a token is validated with GET or HEAD, a valid one answers 200 (GET
    with its body) and an unknown one 404; a missing X-Auth-Token is 401.
    """
    token, body = await login(cloud)
    answer = await call(cloud, "GET", "/v3/auth/tokens", token=token,
                        headers={"X-Subject-Token": token})
    assert answer.code == 200 and answer.body["token"] == body
    assert answer.headers.getRawHeaders("X-Subject-Token") == [token]
    answer = await call(cloud, "HEAD", "/v3/auth/tokens", token=token,
                        headers={"X-Subject-Token": token})
    assert answer.code == 200 and answer.body is None
    answer = await call(cloud, "GET", "/v3/auth/tokens", token=token,
                        headers={"X-Subject-Token": "bogus"})
    assert answer.code == 404 and answer.body["error"]["code"] == 404
    answer = await call(cloud, "GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})
    assert answer.code == 401
    answer = await call(cloud, "GET", "/v3/auth/tokens?nocatalog", token=token,
                        headers={"X-Subject-Token": token})
    assert "catalog" not in answer.body["token"]


@pytest_twisted.ensureDeferred
async def test_member_cannot_validate_others_tokens(cloud: Cloud) -> None:
    """When a member validates another user's token, the answer is 403; an admin may."""
    admin, _ = await login(cloud)
    demo, _ = await login(cloud, "demo", DEMO_PASSWORD, "demo")
    answer = await call(cloud, "GET", "/v3/auth/tokens", token=demo,
                        headers={"X-Subject-Token": admin})
    assert answer.code == 403 and answer.body["error"]["title"] == "Forbidden"
    answer = await call(cloud, "GET", "/v3/auth/tokens", token=admin,
                        headers={"X-Subject-Token": demo})
    assert answer.code == 200


@pytest_twisted.ensureDeferred
async def test_token_expires(cloud: Cloud) -> None:
    """When the clock passes the token's hour, it is refused (401 as auth, 404 as subject)."""
    admin, _ = await login(cloud)
    cloud.clock.advance(3599)
    assert (await call(cloud, "GET", "/v3/users", token=admin)).code == 200
    fresh, _ = await login(cloud)
    cloud.clock.advance(1)
    assert (await call(cloud, "GET", "/v3/users", token=admin)).code == 401
    answer = await call(cloud, "GET", "/v3/auth/tokens", token=fresh,
                        headers={"X-Subject-Token": admin})
    assert answer.code == 404


@pytest_twisted.ensureDeferred
async def test_revoke(cloud: Cloud) -> None:
    """When a token is revoked with DELETE, the answer is 204 and it no longer works."""
    admin, _ = await login(cloud)
    other, _ = await login(cloud)
    answer = await call(cloud, "DELETE", "/v3/auth/tokens", token=admin,
                        headers={"X-Subject-Token": other})
    assert answer.code == 204
    assert (await call(cloud, "GET", "/v3/users", token=other)).code == 401
    assert (await call(cloud, "GET", "/v3/users", token=admin)).code == 200
    answer = await call(cloud, "DELETE", "/v3/auth/tokens", token=admin,
                        headers={"X-Subject-Token": other})
    assert answer.code == 404


@pytest_twisted.ensureDeferred
async def test_auth_projects(cloud: Cloud) -> None:
    """When a user lists its auth projects, it sees only those it holds a role on."""
    demo, _ = await login(cloud, "demo", DEMO_PASSWORD, "demo")
    answer = await call(cloud, "GET", "/v3/auth/projects", token=demo)
    assert answer.code == 200
    assert [p["name"] for p in answer.body["projects"]] == ["demo"]


@pytest_twisted.ensureDeferred
async def test_unknown_route_is_404_json(cloud: Cloud) -> None:
    """When a path or method is unknown, the answer is a Keystone error, not HTML."""
    answer = await call(cloud, "GET", "/v3/nothing")
    assert answer.code == 404 and answer.body["error"]["code"] == 404
    answer = await call(cloud, "PATCH", "/v3/auth/tokens")
    assert answer.code == 405 and answer.body["error"]["code"] == 405
