"""
Tests for C{/v3/users/{id}/credentials/OS-EC2}: a user manages its own,
the admin anyone's.
"""

from __future__ import annotations

import pytest_twisted

from tests.api.identity.conftest import DEMO_PASSWORD, Cloud, call, login


@pytest_twisted.ensureDeferred
async def test_member_manages_own_ec2_credentials(cloud: Cloud) -> None:
    """
    When a member creates EC2 credentials for its project, it gets access and
    secret (201), lists them, shows one and deletes it (204).
    """
    demo, body = await login(cloud, "demo", DEMO_PASSWORD, "demo")
    uid, pid = body["user"]["id"], body["project"]["id"]
    path = f"/v3/users/{uid}/credentials/OS-EC2"
    created = await call(cloud, "POST", path, {"tenant_id": pid}, token=demo)
    assert created.code == 201
    cred = created.body["credential"]
    assert cred["user_id"] == uid and cred["tenant_id"] == pid
    assert cred["access"] and len(cred["secret"]) == 64
    listed = await call(cloud, "GET", path, token=demo)
    assert [c["access"] for c in listed.body["credentials"]] == [cred["access"]]
    shown = await call(cloud, "GET", f"{path}/{cred['access']}", token=demo)
    assert shown.code == 200 and shown.body["credential"]["secret"] == cred["secret"]
    assert (await call(cloud, "DELETE", f"{path}/{cred['access']}", token=demo)).code == 204
    assert (await call(cloud, "DELETE", f"{path}/{cred['access']}", token=demo)).code == 404
    assert (await call(cloud, "GET", path, token=demo)).body["credentials"] == []


@pytest_twisted.ensureDeferred
async def test_ec2_credentials_of_others(cloud: Cloud) -> None:
    """
    When a member touches another user's EC2 credentials the answer is 403;
    the admin may; a project without a role is 403 and an unknown one 404.
    """
    demo, body = await login(cloud, "demo", DEMO_PASSWORD, "demo")
    admin, _ = await login(cloud)
    admin_path = f"/v3/users/{cloud.boot.admin_user.id}/credentials/OS-EC2"
    assert (await call(cloud, "GET", admin_path, token=demo)).code == 403
    demo_path = f"/v3/users/{body['user']['id']}/credentials/OS-EC2"
    made = await call(cloud, "POST", demo_path, {"tenant_id": body["project"]["id"]},
                      token=admin)
    assert made.code == 201
    assert (await call(cloud, "GET", demo_path, token=admin)).code == 200
    no_role = await call(cloud, "POST", demo_path,
                         {"tenant_id": cloud.boot.admin_project.id}, token=demo)
    assert no_role.code == 403
    unknown = await call(cloud, "POST", demo_path, {"tenant_id": "nope"}, token=demo)
    assert unknown.code == 404
    bad = await call(cloud, "POST", demo_path, {"tenant": "x"}, token=demo)
    assert bad.code == 400
