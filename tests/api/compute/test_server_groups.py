"""Server groups: create per microversion (policies, then policy and rules), list
(all_projects, limit, offset), show, delete, quota, and servers joining by hint."""

from __future__ import annotations

import json
from typing import Any

import pytest_twisted
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_ws.db.queries import instances, server_groups
from tests.api.compute.conftest import BASE, Api, call, server_body

BUILD = "nova.conductor.build_instances"


def _old(name: str = "g", policy: str = "affinity") -> dict[str, Any]:
    return {"server_group": {"name": name, "policies": [policy]}}


def _new(name: str = "g", policy: str = "anti-affinity", **rules: Any) -> dict[str, Any]:
    group: dict[str, Any] = {"name": name, "policy": policy}
    if rules:
        group["rules"] = rules
    return {"server_group": group}


@pytest_twisted.ensureDeferred
async def test_create_shapes_by_microversion(api: Api) -> None:
    """When groups are created at 2.1, 2.13, 2.15 and 2.64, each answer is Nova's shape."""
    old = await call(api, "POST", "/os-server-groups", _old())
    assert old.code == 200
    group = old.body["server_group"]
    assert set(group) == {"id", "name", "policies", "members", "metadata"}
    assert (group["policies"], group["members"], group["metadata"]) == (["affinity"], [], {})
    with_owner = (await call(api, "POST", "/os-server-groups", _old("o"), version="2.13")
                  ).body["server_group"]
    assert with_owner["project_id"] == api.projects["demo"] and with_owner["user_id"]
    soft = await call(api, "POST", "/os-server-groups", _old("s", "soft-affinity"),
                      version="2.15")
    assert soft.code == 200
    new = await call(api, "POST", "/os-server-groups", _new(max_server_per_host=2),
                     version="2.64")
    assert new.code == 200
    made = new.body["server_group"]
    assert set(made) == {"id", "name", "policy", "rules", "members", "project_id", "user_id"}
    assert (made["policy"], made["rules"]) == ("anti-affinity", {"max_server_per_host": 2})
    shown = await call(api, "GET", f"/os-server-groups/{made['id']}", version="2.63")
    assert shown.body["server_group"]["policies"] == ["anti-affinity"]


BAD: list[tuple[Any, str]] = [
    (None, "2.1"), ({}, "2.1"), ({"server_group": {}}, "2.1"),
    ({"server_group": {"name": "g"}}, "2.1"), (_old(""), "2.1"), (_old(" g"), "2.1"),
    (_old("g", "soft-affinity"), "2.14"), (_old("g", "spread"), "2.1"),
    ({"server_group": {"name": "g", "policies": ["affinity", "anti-affinity"]}}, "2.1"),
    ({"server_group": {"name": "g", "policies": "affinity"}}, "2.1"),
    ({"server_group": {"name": "g", "policies": ["affinity"], "x": 1}}, "2.1"),
    (_old(), "2.64"), (_new(policy="spread"), "2.64"), (_new("g", "affinity"), "2.63"),
    (_new("g", "affinity", max_server_per_host=2), "2.64"),
    (_new(max_server_per_host=0), "2.64"), (_new(max_server_per_host="x"), "2.64"),
    (_new(other=1), "2.64"), ({"server_group": {"name": "g", "policy": "affinity",
                                                "rules": []}}, "2.64"),
    ({**_old(), "extra": {}}, "2.1"),
]


@pytest_twisted.ensureDeferred
async def test_bad_creates_are_400(api: Api) -> None:
    """When a create body is wrong for its microversion, 400 and no group."""
    for body, version in BAD:
        answer = await call(api, "POST", "/os-server-groups", body, version=version)
        assert answer.code == 400, (body, version, answer.body)
    rules = await call(api, "POST", "/os-server-groups",
                       _new("g", "affinity", max_server_per_host=2), version="2.64")
    assert rules.body["badRequest"]["message"] == "Only anti-affinity policy supports rules."
    assert (await call(api, "GET", "/os-server-groups")).body == {"server_groups": []}
    assert (await call(api, "POST", "/os-server-groups", _old(), who="reader")).code == 403


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(["server_group", "x"]), st.dictionaries(
    st.sampled_from(["name", "policies", "policy", "rules"]),
    st.none() | st.integers() | st.text(max_size=8) | st.lists(st.text(max_size=12))
    | st.dictionaries(st.text(max_size=20), st.integers() | st.text(max_size=3)),
    max_size=4), max_size=2), version=st.sampled_from(["2.1", "2.15", "2.64", "2.96"]))
def test_random_creates_never_500(api: Api, body: Any, version: str) -> None:
    """When random JSON is posted at any microversion, the answer is never a server error."""
    answers: list[Any] = []
    client: Any = api.client
    d = client.request("POST", BASE + "/v2.1/os-server-groups",
                       data=json.dumps(body).encode(),
                       headers={"X-Auth-Token": [api.tokens["member"]],
                                "OpenStack-API-Version": [f"compute {version}"],
                                "Content-Type": ["application/json"]})
    d.addCallback(answers.append)
    api.client.flush()
    assert answers and answers[0].code < 500, body


@pytest_twisted.ensureDeferred
async def test_list_scope_and_paging(api: Api) -> None:
    """When groups are listed, a member sees the project's; an admin sees every
    project's with all_projects; limit and offset page them."""
    for name in ("a", "b", "c"):
        await call(api, "POST", "/os-server-groups", _old(name))
    await call(api, "POST", "/os-server-groups", _old("theirs"), who="other")
    mine = (await call(api, "GET", "/os-server-groups")).body["server_groups"]
    assert [g["name"] for g in mine] == ["a", "b", "c"]
    member_all = await call(api, "GET", "/os-server-groups?all_projects=True")
    assert [g["name"] for g in member_all.body["server_groups"]] == ["a", "b", "c"]
    every = await call(api, "GET", "/os-server-groups?all_projects=1", who="admin")
    assert [g["name"] for g in every.body["server_groups"]] == ["a", "b", "c", "theirs"]
    assert (await call(api, "GET", "/os-server-groups", who="admin")).body == {
        "server_groups": []}
    page = await call(api, "GET", "/os-server-groups?limit=1&offset=1")
    assert [g["name"] for g in page.body["server_groups"]] == ["b"]
    for query in ("limit=x", "offset=-1"):
        assert (await call(api, "GET", f"/os-server-groups?{query}")).code == 400
    assert (await call(api, "GET", "/os-server-groups?bogus=1", version="2.75")).code == 400


@pytest_twisted.ensureDeferred
async def test_show_delete_and_other_projects(api: Api) -> None:
    """When a group is shown or deleted by another project's member, 404; its owner
    deletes it (204); an admin sees any."""
    made = (await call(api, "POST", "/os-server-groups", _old())).body["server_group"]
    path = f"/os-server-groups/{made['id']}"
    hidden = await call(api, "GET", path, who="other")
    assert hidden.code == 404
    assert hidden.body["itemNotFound"]["message"] == (
        f"Instance group {made['id']} could not be found.")
    assert (await call(api, "DELETE", path, who="other")).code == 404
    assert (await call(api, "GET", path, who="admin")).code == 200
    assert (await call(api, "DELETE", path, who="reader")).code == 403
    assert (await call(api, "DELETE", path)).code == 204
    assert (await call(api, "GET", path)).code == 404
    assert (await call(api, "DELETE", path)).code == 404


@pytest_twisted.ensureDeferred
async def test_servers_join_by_hint_and_show_while_live(api: Api) -> None:
    """When servers are created with the group hint, they are the group's members (and
    the conductor places them as such); deleted ones are no longer shown."""
    group = (await call(api, "POST", "/os-server-groups", _new(max_server_per_host=1),
                        version="2.64")).body["server_group"]["id"]
    answer = await call(api, "POST", "/servers", {
        **server_body(max_count=2, return_reservation_id=True),
        "os:scheduler_hints": {"group": group}})
    assert answer.code == 202
    [(args, _)] = api.caller.named(BUILD)
    uuids = list(args[0])
    shown = (await call(api, "GET", f"/os-server-groups/{group}")).body["server_group"]
    assert shown["members"] == uuids
    found = await api.db.run(server_groups.get_group_for_instance, uuids[0])
    assert found is not None and found.uuid == group
    await api.db.run(instances.soft_delete_instance, uuids[0])
    listed = (await call(api, "GET", "/os-server-groups")).body["server_groups"]
    assert listed[0]["members"] == uuids[1:]
    theirs = (await call(api, "POST", "/os-server-groups", _old(), who="other")
              ).body["server_group"]["id"]
    refused = await call(api, "POST", "/servers", {
        **server_body(), "os:scheduler_hints": {"group": theirs}})
    assert refused.code == 400


@pytest_twisted.ensureDeferred
async def test_server_groups_quota(api: Api) -> None:
    """When a project holds as many groups as server_groups allows, another is 403."""
    demo = api.projects["demo"]
    await call(api, "PUT", f"/os-quota-sets/{demo}", {"quota_set": {"server_groups": 1}},
               who="admin")
    assert (await call(api, "POST", "/os-server-groups", _old("a"))).code == 200
    over = await call(api, "POST", "/os-server-groups", _old("b"))
    assert over.code == 403
    assert over.body["forbidden"]["message"] == "Quota exceeded, too many server groups."
    assert (await call(api, "POST", "/os-server-groups", _old("b"), who="other")).code == 200
