"""os-aggregates: admin-only host aggregates with Nova's documents, rules and messages,
and the availability zone an aggregate gives its hosts (scheduler, services, zones)."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from twisted.internet.task import Clock

from nova_ws.api.compute import schemas
from nova_ws.conductor.manager import ConductorManager
from nova_ws.db.queries import compute_nodes, flavors, instances, services
from nova_ws.scheduler.manager import load_hosts
from tests.api.compute.conftest import BASE, Api, call


async def _computes(api: Api, *hosts: str) -> None:
    """nova-compute services (zone "nova") and compute nodes on *hosts*."""
    def register(session: Any) -> None:
        for host in hosts:
            services.register_service(session, host, "nova-compute", topic="compute",
                                      availability_zone="nova")
            compute_nodes.upsert_compute_node(session, host=host, hypervisor_hostname=host,
                                              vcpus=4, memory_mb=4096, local_gb=40)
        services.register_service(session, "ctl", "nova-conductor", availability_zone="nova")
    await api.db.run(register)


async def _create(api: Api, name: str, zone: str | None = None, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if zone is not None:
        body["availability_zone"] = zone
    answer = await call(api, "POST", "/os-aggregates", {"aggregate": body}, who="admin", **kw)
    assert answer.code == 200, answer.body
    made: dict[str, Any] = answer.body["aggregate"]
    return made


async def _act(api: Api, agg: int, action: str, argument: Any, **kw: Any) -> Any:
    return await call(api, "POST", f"/os-aggregates/{agg}/action", {action: argument},
                      who="admin", **kw)


@pytest_twisted.ensureDeferred
async def test_aggregate_lifecycle(api: Api) -> None:
    """When an admin creates, lists, shows, renames, fills, annotates, empties and deletes
    an aggregate, each answer is Nova's document (the uuid from 2.41)."""
    await _computes(api, "h1", "h2")
    made = await _create(api, "rack1", "az1")
    assert set(made) == {"id", "name", "availability_zone", "created_at", "updated_at",
                         "deleted", "deleted_at"}
    assert (made["name"], made["availability_zone"], made["deleted"]) == ("rack1", "az1", False)
    assert isinstance(made["id"], int) and made["updated_at"] is None
    agg = made["id"]
    with_uuid = await _create(api, "rack2", version="2.41")
    assert len(with_uuid["uuid"]) == 36 and with_uuid["availability_zone"] is None

    added = await _act(api, agg, "add_host", {"host": "h1"})
    assert added.code == 200 and added.body["aggregate"]["hosts"] == ["h1"]
    await _act(api, agg, "add_host", {"host": "h2"})
    meta = await _act(api, agg, "set_metadata", {"metadata": {"ssd": "true", "gpu": "no"}})
    assert meta.body["aggregate"]["metadata"] == {"availability_zone": "az1", "ssd": "true",
                                                  "gpu": "no"}
    assert meta.body["aggregate"]["updated_at"] is not None
    unset = await _act(api, agg, "set_metadata", {"metadata": {"gpu": None, "absent": None}})
    assert unset.body["aggregate"]["metadata"] == {"availability_zone": "az1", "ssd": "true"}

    shown = await call(api, "GET", f"/os-aggregates/{agg}", who="admin", version="2.41")
    view = shown.body["aggregate"]
    assert (view["hosts"], view["availability_zone"], view["uuid"]) == (
        ["h1", "h2"], "az1", view["uuid"])
    assert "uuid" not in (await call(api, "GET", f"/os-aggregates/{agg}", who="admin")
                          ).body["aggregate"]
    listed = await call(api, "GET", "/os-aggregates", who="admin")
    assert [(a["name"], a["hosts"]) for a in listed.body["aggregates"]] == [
        ("rack1", ["h1", "h2"]), ("rack2", [])]

    renamed = await call(api, "PUT", f"/os-aggregates/{agg}",
                         {"aggregate": {"name": "  row1", "availability_zone": "az2"}},
                         who="admin")
    assert renamed.code == 200
    assert (renamed.body["aggregate"]["name"], renamed.body["aggregate"]["availability_zone"]
            ) == ("row1", "az2")
    for host in ("h1", "h2"):
        removed = await _act(api, agg, "remove_host", {"host": host})
        assert removed.code == 200
    assert removed.body["aggregate"]["hosts"] == []
    deleted = await call(api, "DELETE", f"/os-aggregates/{agg}", who="admin")
    assert (deleted.code, deleted.body) == (200, None)
    gone = await call(api, "GET", f"/os-aggregates/{agg}", who="admin")
    assert gone.code == 404
    assert gone.body == {"itemNotFound": {"code": 404,
                                          "message": f"Aggregate {agg} could not be found."}}


@pytest_twisted.ensureDeferred
async def test_nova_refusals(api: Api) -> None:
    """When a request breaks one of Nova's rules, the answer is Nova's status and message."""
    await _computes(api, "h1", "h2")
    agg = (await _create(api, "a", "az1"))["id"]
    other = (await _create(api, "b"))["id"]

    async def refused(method: str, path: str, body: Any = None) -> tuple[int, str]:
        answer = await call(api, method, path, body, who="admin")
        [(_, fault)] = answer.body.items()
        return answer.code, fault["message"]

    assert await refused("POST", "/os-aggregates", {"aggregate": {"name": "a"}}) == (
        409, "Aggregate a already exists.")
    assert await refused("PUT", f"/os-aggregates/{other}", {"aggregate": {"name": "a"}}) == (
        409, "Aggregate a already exists.")
    assert (await _act(api, agg, "add_host", {"host": "h1"})).code == 200
    assert await refused("POST", f"/os-aggregates/{agg}/action",
                         {"add_host": {"host": "h1"}}) == (
        409, f"Aggregate {agg} already has host h1.")
    assert await refused("POST", f"/os-aggregates/{agg}/action",
                         {"add_host": {"host": "ctl"}}) == (
        404, "Compute host ctl could not be found.")
    assert await refused("POST", f"/os-aggregates/{agg}/action",
                         {"remove_host": {"host": "h2"}}) == (
        404, f"Cannot remove host h2 in aggregate {agg}")
    assert await refused("POST", "/os-aggregates/999/action",
                         {"remove_host": {"host": "h1"}}) == (
        404, "Cannot remove host h1 in aggregate 999")
    assert await refused("POST", "/os-aggregates/999/action",
                         {"add_host": {"host": "h1"}}) == (
        404, "Aggregate 999 could not be found.")
    assert await refused("DELETE", f"/os-aggregates/{agg}") == (
        400, f"Cannot remove host from aggregate {agg}. Reason: Host aggregate is not empty.")
    for path in ("/os-aggregates/x", "/os-aggregates/1.5"):
        assert await refused("GET", path) == (
            400, "Invalid input received: id must be an integer")
    assert (await refused("GET", "/os-aggregates/" + "9" * 5000))[0] == 404
    assert (await refused("GET", "/os-aggregates/-1"))[0] == 404
    assert await refused("PUT", "/os-aggregates/999", {"aggregate": {"name": "z"}}) == (
        404, "Aggregate 999 could not be found.")

    # one host, one zone
    zoned = (await _create(api, "c", "az2"))["id"]
    assert await refused("POST", f"/os-aggregates/{zoned}/action",
                         {"add_host": {"host": "h1"}}) == (
        409, f"Cannot add host to aggregate {zoned}. Reason: One or more hosts already in "
             "availability zone(s) ['az1'].")
    assert (await _act(api, other, "add_host", {"host": "h1"})).code == 200  # no zone: fine
    assert await refused("POST", f"/os-aggregates/{other}/action",
                         {"set_metadata": {"metadata": {"availability_zone": "az3"}}}) == (
        400, f"Cannot update metadata of aggregate {other}. Reason: One or more hosts "
             "already in availability zone(s) ['az1'].")
    assert await refused("PUT", f"/os-aggregates/{agg}",
                         {"aggregate": {"availability_zone": None}}) == (
        400, f"Cannot update aggregate {agg}. Reason: Aggregate a does not support empty "
             "named availability zone.")
    assert await refused("POST", f"/os-aggregates/{agg}/action",
                         {"set_metadata": {"metadata": {"availability_zone": None}}}) == (
        400, f"Cannot update metadata of aggregate {agg}. Reason: Aggregate a does not "
             "support empty named availability zone.")

    # a zone whose hosts run instances keeps its name
    def boot(session: Any) -> None:
        flavor = flavors.get_flavor(session, "1")
        made = instances.create_instance(session, project_id="p", user_id="u", flavor=flavor)
        instances.update_instance(session, made.uuid, host="h1")
    await api.db.run(boot)
    assert await refused("PUT", f"/os-aggregates/{agg}",
                         {"aggregate": {"availability_zone": "az9"}}) == (
        400, f"Cannot update aggregate {agg}. Reason: One or more hosts contain instances "
             "in this zone.")
    same = await call(api, "PUT", f"/os-aggregates/{agg}",
                      {"aggregate": {"name": "a2", "availability_zone": "az1"}}, who="admin")
    assert same.code == 200 and same.body["aggregate"]["name"] == "a2"
    assert (await call(api, "GET", f"/os-aggregates/{agg}", who="admin")
            ).body["aggregate"]["availability_zone"] == "az1"


@pytest_twisted.ensureDeferred
async def test_refused_update_changes_nothing(api: Api) -> None:
    """When an update renames and sets a refused zone at once, the name stays too."""
    await _computes(api, "h1")
    agg = (await _create(api, "a", "az1"))["id"]
    refused = await call(api, "PUT", f"/os-aggregates/{agg}",
                         {"aggregate": {"name": "b", "availability_zone": None}}, who="admin")
    assert refused.code == 400
    shown = await call(api, "GET", f"/os-aggregates/{agg}", who="admin")
    assert shown.body["aggregate"]["name"] == "a"


@pytest_twisted.ensureDeferred
async def test_members_are_refused(api: Api) -> None:
    """When a member or reader calls any os-aggregates operation, 403 names Nova's policy."""
    await _computes(api, "h1")
    agg = (await _create(api, "a"))["id"]
    requests: list[tuple[str, str, Any, str]] = [
        ("GET", "/os-aggregates", None, "index"),
        ("POST", "/os-aggregates", {"aggregate": {"name": "b"}}, "create"),
        ("GET", f"/os-aggregates/{agg}", None, "show"),
        ("PUT", f"/os-aggregates/{agg}", {"aggregate": {"name": "b"}}, "update"),
        ("DELETE", f"/os-aggregates/{agg}", None, "delete"),
        ("POST", f"/os-aggregates/{agg}/action", {"add_host": {"host": "h1"}}, "add_host"),
        ("POST", f"/os-aggregates/{agg}/action", {"remove_host": {"host": "h1"}},
         "remove_host"),
        ("POST", f"/os-aggregates/{agg}/action", {"set_metadata": {"metadata": {}}},
         "set_metadata")]
    for who in ("member", "reader"):
        for method, path, body, rule in requests:
            answer = await call(api, method, path, body, who=who)
            assert answer.code == 403, (who, method, path)
            assert answer.body == {"forbidden": {"code": 403, "message": (
                f"Policy doesn't allow os_compute_api:os-aggregates:{rule} to be performed.")}}
    assert (await call(api, "GET", f"/os-aggregates/{agg}", who="admin")).body[
        "aggregate"]["hosts"] == []


BAD: list[tuple[str, str, Any]] = [
    ("POST", "", None), ("POST", "", {}), ("POST", "", {"aggregate": {}}),
    ("POST", "", {"aggregate": {"name": ""}}), ("POST", "", {"aggregate": {"name": " a"}}),
    ("POST", "", {"aggregate": {"name": "a", "x": 1}}),
    ("POST", "", {"aggregate": {"name": "a", "availability_zone": "z:1"}}),
    ("POST", "", {"aggregate": {"name": "a", "availability_zone": ""}}),
    ("POST", "", {"aggregate": {"name": "x" * 256}}),
    ("PUT", "/1", {"aggregate": {}}), ("PUT", "/1", {"aggregate": {"name": "   "}}),
    ("PUT", "/1", {"aggregate": {"uuid": "u"}}),
    ("POST", "/1/action", {}), ("POST", "/1/action", {"explode": {}}),
    ("POST", "/1/action", {"add_host": {"host": "h1"}, "remove_host": {"host": "h1"}}),
    ("POST", "/1/action", {"add_host": {}}), ("POST", "/1/action", {"add_host": {"host": ""}}),
    ("POST", "/1/action", {"add_host": {"host": "bad host"}}),
    ("POST", "/1/action", {"remove_host": {"host": 5}}),
    ("POST", "/1/action", {"set_metadata": {}}),
    ("POST", "/1/action", {"set_metadata": {"metadata": {"bad/key": "v"}}}),
    ("POST", "/1/action", {"set_metadata": {"metadata": {"k": 5}}}),
    ("POST", "/1/action", {"set_metadata": {"metadata": {"k": "v" * 256}}}),
]


@pytest.mark.parametrize("method,path,body", BAD)
@pytest_twisted.ensureDeferred
async def test_bad_bodies(api: Api, method: str, path: str, body: Any) -> None:
    """When a body breaks the schema, 400 in Nova's format, before anything happens."""
    await _computes(api, "h1")
    await _create(api, "a")
    answer = await call(api, method, "/os-aggregates" + path, body, who="admin")
    assert answer.code == 400, answer.body
    assert set(answer.body) == {"badRequest"}
    listed = await call(api, "GET", "/os-aggregates", who="admin")
    assert [(a["name"], a["hosts"]) for a in listed.body["aggregates"]] == [("a", [])]


@pytest_twisted.ensureDeferred
async def test_aggregate_zone_wins(api: Api) -> None:
    """When a host is in an aggregate with a zone, the scheduler, the conductor's service
    list, os-services and os-availability-zone put it there; taken out, it is back in the
    zone its service reported."""
    await _computes(api, "h1", "h2")
    conductor = ConductorManager(api.db, api.caller, lambda *a, **k: None, clock=Clock())

    async def zones() -> dict[str, str]:
        hosts = await api.db.run(load_hosts, 60.0)
        scheduled = {h.host: h.availability_zone for h in hosts}
        listed = await conductor.service_list()
        assert {s["host"]: s["zone"] for s in listed if s["binary"] == "nova-compute"} \
            == scheduled
        api.caller.answers["nova.conductor.service_list"] = lambda: listed
        return scheduled

    assert await zones() == {"h1": "nova", "h2": "nova"}
    agg = (await _create(api, "a", "az1"))["id"]
    await _act(api, agg, "add_host", {"host": "h1"})
    plain = (await _create(api, "p"))["id"]
    await _act(api, plain, "add_host", {"host": "h2"})
    assert await zones() == {"h1": "az1", "h2": "nova"}
    conductor_zone = [s["zone"] for s in await conductor.service_list()
                      if s["binary"] == "nova-conductor"]
    assert conductor_zone == ["nova"]  # only compute hosts take an aggregate's zone
    listed = await call(api, "GET", "/os-services?binary=nova-compute", who="admin")
    assert {s["host"]: s["zone"] for s in listed.body["services"]} == {"h1": "az1",
                                                                        "h2": "nova"}
    detail = await call(api, "GET", "/os-availability-zone/detail", who="admin")
    assert {z["zoneName"]: sorted(z["hosts"]) for z in detail.body["availabilityZoneInfo"]
            } == {"az1": ["h1"], "nova": ["h2"]}
    await _act(api, agg, "set_metadata", {"metadata": {"availability_zone": "az2"}})
    assert await zones() == {"h1": "az2", "h2": "nova"}
    await _act(api, agg, "remove_host", {"host": "h1"})
    assert await zones() == {"h1": "nova", "h2": "nova"}


@pytest_twisted.ensureDeferred
async def test_openapi_documents_aggregates(api: Api) -> None:
    """When the OpenAPI document is fetched, every aggregate operation is in it with the
    schemas that are enforced."""
    client: Any = api.client
    doc = await (await client.get(BASE + "/v2.1/openapi.json")).json()
    paths = doc["paths"]
    assert set(paths["/v2.1/os-aggregates"]) == {"get", "post"}
    assert set(paths["/v2.1/os-aggregates/{aggregate_id}"]) == {"get", "put", "delete"}

    def body(path: str, method: str) -> Any:
        return paths[path][method]["requestBody"]["content"]["application/json"]["schema"]

    assert body("/v2.1/os-aggregates", "post") == schemas.AGGREGATE_CREATE
    assert body("/v2.1/os-aggregates/{aggregate_id}", "put") == schemas.AGGREGATE_UPDATE
    assert body("/v2.1/os-aggregates/{aggregate_id}/action", "post") == {"oneOf": [
        action.at(schemas.V2_1) for action in schemas.AGGREGATE_ACTIONS.values()]}
    assert "content" not in paths["/v2.1/os-aggregates/{aggregate_id}"]["delete"][
        "responses"]["200"]
