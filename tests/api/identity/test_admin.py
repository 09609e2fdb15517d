"""
Tests for users, projects, roles and grants: admin-only where Keystone
requires it, Keystone's errors otherwise.
"""

from __future__ import annotations

import pytest_twisted

from tests.api.identity.conftest import (
    BASE,
    DEMO_PASSWORD,
    Cloud,
    call,
    login,
    password_auth,
)


@pytest_twisted.ensureDeferred
async def test_admin_lists_users_projects_roles(cloud: Cloud) -> None:
    """When the admin lists users, projects and roles, it sees the bootstrapped ones."""
    admin, _ = await login(cloud)
    users = await call(cloud, "GET", "/v3/users", token=admin)
    assert users.code == 200
    assert [u["name"] for u in users.body["users"]] == ["admin", "demo"]
    assert users.body["links"]["self"] == f"{BASE}/v3/users"
    user = users.body["users"][0]
    assert user["domain_id"] == "default" and user["enabled"] is True
    assert "password" not in user and "password_hash" not in user
    named = await call(cloud, "GET", "/v3/users?name=demo", token=admin)
    assert [u["name"] for u in named.body["users"]] == ["demo"]
    projects = await call(cloud, "GET", "/v3/projects", token=admin)
    assert [p["name"] for p in projects.body["projects"]] == ["admin", "demo"]
    roles = await call(cloud, "GET", "/v3/roles", token=admin)
    assert [r["name"] for r in roles.body["roles"]] == ["admin", "member", "reader"]
    member = await call(cloud, "GET", "/v3/roles?name=member", token=admin)
    assert [r["name"] for r in member.body["roles"]] == ["member"]


@pytest_twisted.ensureDeferred
async def test_member_is_forbidden_admin_routes(cloud: Cloud) -> None:
    """When a member lists users, projects or roles, or creates any, the answer is 403."""
    demo, _ = await login(cloud, "demo", DEMO_PASSWORD, "demo")
    for method, path, body in (("GET", "/v3/users", None), ("GET", "/v3/projects", None),
                               ("GET", "/v3/roles", None),
                               ("POST", "/v3/users", {"user": {"name": "x"}}),
                               ("POST", "/v3/projects", {"project": {"name": "x"}})):
        answer = await call(cloud, method, path, body, token=demo)
        assert answer.code == 403, path
        assert answer.body["error"] == {"code": 403, "title": "Forbidden",
                                        "message": answer.body["error"]["message"]}


@pytest_twisted.ensureDeferred
async def test_user_reads_itself_only(cloud: Cloud) -> None:
    """When a member reads its own user it succeeds; another user is 403; unknown 404."""
    demo, body = await login(cloud, "demo", DEMO_PASSWORD, "demo")
    me = await call(cloud, "GET", f"/v3/users/{body['user']['id']}", token=demo)
    assert me.code == 200 and me.body["user"]["name"] == "demo"
    other = await call(cloud, "GET", f"/v3/users/{cloud.boot.admin_user.id}", token=demo)
    assert other.code == 403
    admin, _ = await login(cloud)
    assert (await call(cloud, "GET", "/v3/users/nope", token=admin)).code == 404
    mine = await call(cloud, "GET", f"/v3/users/{body['user']['id']}/projects", token=demo)
    assert [p["name"] for p in mine.body["projects"]] == ["demo"]


@pytest_twisted.ensureDeferred
async def test_create_project_user_grant_and_login(cloud: Cloud) -> None:
    """
    When the admin creates a project and a user and grants it member, that
    user can log in to the project; without the grant it could not.
    """
    admin, _ = await login(cloud)
    project = await call(cloud, "POST", "/v3/projects",
                         {"project": {"name": "alt", "description": "Alt"}}, token=admin)
    assert project.code == 201
    assert project.body["project"]["domain_id"] == "default"
    assert len(project.body["project"]["id"]) == 32
    user = await call(cloud, "POST", "/v3/users",
                      {"user": {"name": "alice", "password": "pw1", "enabled": True}},
                      token=admin)
    assert user.code == 201 and user.body["user"]["name"] == "alice"
    pid, uid = project.body["project"]["id"], user.body["user"]["id"]
    assert (await call(cloud, "POST", "/v3/auth/tokens",
                       password_auth("alice", "pw1", "alt"))).code == 401
    member = cloud.boot.roles[1].id
    grant = await call(cloud, "PUT", f"/v3/projects/{pid}/users/{uid}/roles/{member}",
                       token=admin)
    assert grant.code == 204
    again = await call(cloud, "PUT", f"/v3/projects/{pid}/users/{uid}/roles/{member}",
                       token=admin)
    assert again.code == 204
    missing = await call(cloud, "PUT", f"/v3/projects/{pid}/users/{uid}/roles/nope",
                         token=admin)
    assert missing.code == 404
    _, token = await login(cloud, "alice", "pw1", "alt")
    assert [r["name"] for r in token["roles"]] == ["member"]
    shown = await call(cloud, "GET", f"/v3/projects/{pid}", token=admin)
    assert shown.code == 200 and shown.body["project"]["description"] == "Alt"


@pytest_twisted.ensureDeferred
async def test_duplicates_are_409(cloud: Cloud) -> None:
    """When a user or project name is taken in its domain, creating it again is 409."""
    admin, _ = await login(cloud)
    user = await call(cloud, "POST", "/v3/users", {"user": {"name": "demo", "password": "x"}},
                      token=admin)
    assert user.code == 409 and user.body["error"]["title"] == "Conflict"
    project = await call(cloud, "POST", "/v3/projects", {"project": {"name": "demo"}},
                         token=admin)
    assert project.code == 409


@pytest_twisted.ensureDeferred
async def test_invalid_create_bodies_are_400(cloud: Cloud) -> None:
    """When a create body is malformed or names an unknown domain, the answer is 400."""
    admin, _ = await login(cloud)
    for path, body in (("/v3/users", {"user": {}}), ("/v3/users", {"user": {"name": 5}}),
                       ("/v3/users", {"user": {"name": "b", "enabled": "yes"}}),
                       ("/v3/users", {"user": {"name": "b", "domain_id": "nope"}}),
                       ("/v3/users", {"user": {"name": "b", "default_project_id": "nope"}}),
                       ("/v3/projects", {"project": "alt"}), ("/v3/projects", []),
                       ("/v3/projects", {"project": {"name": "p", "description": 1}})):
        answer = await call(cloud, "POST", path, body, token=admin)
        assert answer.code == 400, body
    answer = await call(cloud, "POST", "/v3/users", raw=b"{", token=admin)
    assert answer.code == 400 and answer.body["error"]["message"]
