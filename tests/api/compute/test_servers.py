"""Servers: create (validation, rows, the conductor call), list, show, update, delete."""

from __future__ import annotations

import json
from typing import Any

import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_ws.db.queries import flavors, instances
from tests.api.compute import keys
from tests.api.compute.conftest import BASE, IMAGE, Api, boot, call, server_body

BUILD = "nova.conductor.build_instances"
ACTION = "nova.conductor.instance_action"


@pytest_twisted.ensureDeferred
async def test_create_writes_rows_and_calls_the_conductor(api: Api) -> None:
    """When a member creates a server, a BUILD row exists and the conductor builds it."""
    mykey = {"keypair": {"name": "mykey", "public_key": keys.ED25519}}
    assert (await call(api, "POST", "/os-keypairs", mykey)).code == 200
    answer = await call(api, "POST", "/servers", server_body(metadata={"k": "v"},
                                                              key_name="mykey"))
    assert answer.code == 202
    server = answer.body["server"]
    assert server["OS-DCF:diskConfig"] == "MANUAL" and server["adminPass"]
    assert server["security_groups"] == [{"name": "default"}]
    assert server["links"][0]["href"] == f"{BASE}/v2.1/servers/{server['id']}"
    [(args, kwargs)] = api.caller.named(BUILD)
    assert args == ([server["id"]],) and kwargs["request_id"].startswith("req-")
    shown = await call(api, "GET", f"/servers/{server['id']}")
    view = shown.body["server"]
    assert (view["status"], view["name"], view["metadata"]) == ("BUILD", "vm", {"k": "v"})
    assert view["tenant_id"] == api.projects["demo"] and view["key_name"] == "mykey"
    assert view["image"]["id"] == IMAGE and view["flavor"]["id"] == "1"
    assert view["hostId"] == "" and view["addresses"] == {}
    assert view["created"].endswith("Z") and view["OS-EXT-STS:vm_state"] == "building"


@pytest_twisted.ensureDeferred
async def test_multiple_create_and_reservation_id(api: Api) -> None:
    """When max_count is 3 with return_reservation_id, three rows share the reservation."""
    answer = await call(api, "POST", "/servers", server_body(
        min_count=2, max_count=3, return_reservation_id=True))
    assert answer.code == 202 and answer.body["reservation_id"].startswith("r-")
    [(args, _)] = api.caller.named(BUILD)
    assert len(args[0]) == 3
    names = sorted(s["name"] for s in (await call(api, "GET", "/servers")).body["servers"])
    assert names == ["vm-1", "vm-2", "vm-3"]


BAD_BODIES: list[Any] = [
    None, [], {"server": None}, {"server": {}}, {"server": {"name": "vm"}},
    {"server": {"name": "", "flavorRef": "1", "imageRef": IMAGE}},
    {"server": {"name": 5, "flavorRef": "1", "imageRef": IMAGE}},
    {"server": {"name": " vm", "flavorRef": "1", "imageRef": IMAGE}},
    {"server": {"name": "vm", "flavorRef": "99", "imageRef": IMAGE}},
    {"server": {"name": "vm", "flavorRef": [], "imageRef": IMAGE}},
    {"server": {"name": "vm", "flavorRef": "1", "imageRef": ""}},
    {"server": {"name": "vm", "flavorRef": "1", "imageRef": "not-a-uuid"}},
    {"server": {"name": "vm", "flavorRef": "1",
                "imageRef": "99999999-2222-3333-4444-555555555555"}},
    server_body(min_count=0), server_body(max_count="x"), server_body(min_count=3, max_count=2),
    server_body(metadata=[]), server_body(metadata={"k": 5}), server_body(metadata={"": "v"}),
    server_body(networks="some"), server_body(networks=[1]), server_body(bogus=1),
    server_body(availability_zone=7), server_body(key_name=""),
    {**server_body(), "os:scheduler_hints": {"group": "nope"}},
    {**server_body(), "os:scheduler_hints": {"group": "99999999-2222-3333-4444-555555555555"}},
    server_body(description="d"),
]


@pytest_twisted.ensureDeferred
async def test_bad_create_bodies_are_400_in_novas_format(api: Api) -> None:
    """When a create body is wrong in any way, the answer is 400 badRequest, no row made."""
    for body in BAD_BODIES:
        answer = await call(api, "POST", "/servers", body)
        assert answer.code == 400, (body, answer.body)
        assert answer.body["badRequest"]["code"] == 400 and answer.body["badRequest"]["message"]
    assert (await call(api, "POST", "/servers", raw=b"{not json")).code == 400
    too_many = server_body(metadata={str(i): "v" for i in range(129)})
    assert (await call(api, "POST", "/servers", too_many)).code == 403
    networks_needed = await call(api, "POST", "/servers", server_body(), version="2.37")
    assert networks_needed.code == 400
    assert (await call(api, "POST", "/servers", server_body(networks="none"),
                       version="2.37")).code == 202
    assert len(api.caller.named(BUILD)) == 1


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
_FIELDS = st.sampled_from(["name", "flavorRef", "imageRef", "min_count", "max_count",
                           "metadata", "networks", "availability_zone", "key_name",
                           "description", "return_reservation_id", "adminPass"])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_JSON | st.dictionaries(st.just("server"),
                                    st.dictionaries(_FIELDS, _JSON, max_size=6)))
def test_random_create_bodies_never_500(api: Api, body: Any) -> None:
    """When random JSON is posted to /servers, the answer is never a server error."""
    answers: list[Any] = []
    client: Any = api.client
    d = client.request("POST", BASE + "/v2.1/servers", data=json.dumps(body).encode(),
                       headers={"X-Auth-Token": [api.tokens["member"]],
                                "Content-Type": ["application/json"]})
    d.addCallback(answers.append)
    api.client.flush()
    assert answers and answers[0].code < 500, body


@pytest_twisted.ensureDeferred
async def test_list_filters_and_pagination(api: Api) -> None:
    """When servers are listed with filters and a limit, Nova's pages and links come back."""
    uuids = [await boot(api, name=f"web{i}") for i in range(3)]
    other = await boot(api, name="db0", flavorRef="2")
    await api.db.run(lambda s: instances.update_instance(s, uuids[0], vm_state="active",
                                                         task_state=None))
    detail = await call(api, "GET", "/servers/detail?name=^web")
    assert {s["id"] for s in detail.body["servers"]} == set(uuids)
    active = await call(api, "GET", "/servers/detail?status=ACTIVE")
    assert [s["id"] for s in active.body["servers"]] == [uuids[0]]
    assert [s["id"] for s in (await call(api, "GET", "/servers?flavor=2")).body["servers"]] \
        == [other]
    assert len((await call(api, "GET", f"/servers?image={IMAGE}")).body["servers"]) == 4
    assert (await call(api, "GET", "/servers?changes-since=2000-01-01T00:00:00Z")).code == 200
    assert (await call(api, "GET", "/servers?changes-since=yesterday")).code == 400
    quiet = await call(api, "GET", "/servers?deleted=False&host=h&unknown=1&is_public=None")
    assert len(quiet.body["servers"]) == 4
    first = await call(api, "GET", "/servers?limit=3")
    assert len(first.body["servers"]) == 3
    [link] = first.body["servers_links"]
    assert link["rel"] == "next" and "marker=" + first.body["servers"][-1]["id"] in link["href"]
    rest = await call(api, "GET", link["href"].split("/v2.1", 1)[1])
    assert len(rest.body["servers"]) == 1 and "servers_links" not in rest.body
    assert (await call(api, "GET", "/servers?marker=nope")).code == 400
    assert (await call(api, "GET", "/servers?limit=-1")).code == 400
    assert (await call(api, "GET", "/servers?name=(")).code == 400


@pytest_twisted.ensureDeferred
async def test_pages_are_read_from_the_database(api: Api) -> None:
    """When many servers are paged through, with a filter that drops most rows, every match
    comes once, newest first; another project's server is no marker."""
    project = api.projects["demo"]

    def make(session: Any) -> list[str]:
        flavor = flavors.get_flavor_by_name(session, "m1.tiny")
        return [instances.create_instance(
            session, project_id=project, user_id="u", flavor=flavor, image_ref=IMAGE,
            display_name=("x" if i % 3 == 0 else "y") + str(i), metadata={"i": str(i)}).uuid
            for i in range(450)]

    made = await api.db.run(make)
    newest_first = list(reversed(made))
    wanted = [u for u in newest_first if made.index(u) % 3 == 0]
    seen: list[str] = []
    path: str | None = "/servers/detail?name=^x&limit=100"
    pages = 0
    while path is not None:
        answer = await call(api, "GET", path)
        assert answer.code == 200, answer.body
        seen += [s["id"] for s in answer.body["servers"]]
        assert all(s["metadata"] == {"i": str(made.index(s["id"]))}
                   for s in answer.body["servers"])
        links = answer.body.get("servers_links")
        path = links[0]["href"].split("/v2.1", 1)[1] if links else None
        pages += 1
    assert seen == wanted and pages == 2
    everything = await call(api, "GET", f"/servers?limit=1000&marker={newest_first[9]}")
    assert [s["id"] for s in everything.body["servers"]] == newest_first[10:]
    theirs = await boot(api, who="other")
    assert (await call(api, "GET", f"/servers?marker={theirs}")).code == 400


@pytest_twisted.ensureDeferred
async def test_show_update_and_microversions(api: Api) -> None:
    """When a server is shown at 2.47 its flavor is embedded; 2.19 adds description."""
    uuid = await boot(api)
    assert (await call(api, "GET", "/servers/vm")).code == 404
    old = (await call(api, "GET", f"/servers/{uuid}")).body["server"]
    assert "description" not in old and "locked" not in old and "tags" not in old
    new = (await call(api, "GET", f"/servers/{uuid}", version="2.47")).body["server"]
    assert new["flavor"] == {"vcpus": 1, "ram": 512, "disk": 1, "ephemeral": 0, "swap": 0,
                             "original_name": "m1.tiny", "extra_specs": {}}
    assert new["description"] is None and new["locked"] is False and new["tags"] == []
    renamed = await call(api, "PUT", f"/servers/{uuid}", {"server": {"name": "renamed"}})
    assert renamed.code == 200 and renamed.body["server"]["name"] == "renamed"
    assert (await call(api, "PUT", f"/servers/{uuid}",
                       {"server": {"description": None}})).code == 400
    assert (await call(api, "PUT", f"/servers/{uuid}", {"server": {"description": None}},
                       version="2.19")).code == 200
    assert (await call(api, "PUT", f"/servers/{uuid}", {"server": {"name": 3}})).code == 400


@pytest_twisted.ensureDeferred
async def test_delete_goes_through_the_conductor(api: Api) -> None:
    """When a server is deleted the conductor's delete runs (204); a refusal is 409."""
    uuid = await boot(api)
    assert (await call(api, "DELETE", f"/servers/{uuid}")).code == 204
    [(args, _)] = api.caller.named(ACTION)
    assert args == (uuid, "delete")

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ApplicationError("nova.error.instance_invalid_state",
                               "Cannot 'delete' instance while it is in vm_state deleted")
    api.caller.answers[ACTION] = refuse
    conflict = await call(api, "DELETE", f"/servers/{uuid}")
    assert conflict.code == 409
    assert uuid in conflict.body["conflictingRequest"]["message"]
