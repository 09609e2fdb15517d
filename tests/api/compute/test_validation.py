"""Bad input: every body and query is checked against its schema, and answered in Nova's format.

Each case sends one bad request through the whole API (token, microversion,
routing, validation, handler) and checks the status, the fault's name and
the words of its message, and that nothing was built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_twisted

from nova_ws.api.compute import schemas, validation
from nova_ws.api.compute.app import ComputeApi
from tests.api.compute.conftest import IMAGE, Api, boot, call, server_body

BUILD = "nova.conductor.build_instances"
UNKNOWN_UUID = "99999999-2222-3333-4444-555555555555"


@dataclass(frozen=True)
class Bad:
    """A bad request and the fault it must get."""

    method: str
    path: str
    body: Any = None
    raw: bytes | None = None
    version: str | None = None
    who: str = "member"
    headers: tuple[tuple[str, str], ...] = ()
    code: int = 400
    words: str = ""


def _deep(depth: int) -> bytes:
    return b'{"server": ' + b"[" * depth + b"]" * depth + b"}"


CASES = [
    Bad("POST", "/servers", raw=b"{not json", words="Malformed request body"),
    Bad("POST", "/servers", raw=b'{"server": NaN}', words="Malformed request body"),
    Bad("POST", "/servers", raw=_deep(5000), words="Malformed request body"),
    Bad("POST", "/servers", raw=_deep(40), words="nested deeper"),
    Bad("POST", "/servers", raw=b'{"server": {"name": "\\ud800"}}', words="surrogate"),
    Bad("POST", "/servers", raw=b'{"server": {"name": "a\\u0000b"}}', words="NUL"),
    Bad("POST", "/servers", raw=b"x" * (validation.MAX_BODY + 1), code=413,
        words="Request is too large."),
    Bad("POST", "/servers", server_body(), headers=(("Content-Type", "text/plain"),),
        code=415, words="Unsupported Content-Type"),
    Bad("POST", "/servers", None, words="None is not of type 'object'"),
    Bad("POST", "/servers", server_body(name=5),
        words="Invalid input for field/attribute name. Value: 5. 5 is not of type 'string'"),
    Bad("POST", "/servers", server_body(min_count="0"), words="min_count"),
    Bad("POST", "/servers", server_body(min_count=True), words="min_count"),
    Bad("POST", "/servers", server_body(metadata={"k/x": "v"}), words="metadata"),
    Bad("POST", "/servers", server_body(flavorRef="999"), words="Invalid flavorRef provided."),
    Bad("POST", "/servers", server_body(imageRef=UNKNOWN_UUID),
        words="Can not find requested image"),
    Bad("POST", "/servers", server_body(imageRef="cirros"), words="imageRef"),
    Bad("POST", "/servers", server_body(networks="none"), words="networks"),
    Bad("POST", "/servers", server_body(), version="2.37",
        words="'networks' is a required property"),
    Bad("POST", "/servers", server_body(networks="nonsense"), version="2.37",
        words="networks"),
    Bad("POST", "/servers", server_body(description="d"), version="2.18",
        words="Additional properties are not allowed ('description' was unexpected)"),
    Bad("POST", "/servers", server_body(description="x" * 256), version="2.19",
        words="description"),
    Bad("POST", "/servers", server_body(), version="compute 3.0", code=406),
    Bad("POST", "/servers", {**server_body(), "os:scheduler_hints": {"group": "g"}},
        words="group"),
    Bad("GET", "/servers?limit=x", words="Invalid input for query parameters limit"),
    Bad("GET", "/servers?changes-since=0001-01-01T00:00:00%2B01:00",
        words="query parameters changes-since"),
    Bad("GET", "/servers?name=(", words="query parameters name"),
    Bad("GET", "/servers/detail?bogus=1", version="2.75",
        words="Additional properties are not allowed ('bogus' was unexpected)"),
    Bad("GET", "/servers?host=a%00b", words="NUL"),
    Bad("GET", "/flavors?limit=-1", words="query parameters limit"),
    Bad("GET", "/os-keypairs?limit=1&marker=x&other=1", version="2.75",
        words="Additional properties are not allowed"),
    Bad("POST", "/servers/SERVER/action", {"reboot": {"type": "SOFT"}, "pause": None},
        words="one key"),
    Bad("POST", "/servers/SERVER/action", {"os-migrateLive": {}},
        words="There is no such action: os-migrateLive"),
    Bad("POST", "/servers/SERVER/action", {"reboot": {"type": "gently"}}, words="type"),
    Bad("POST", "/servers/SERVER/action", {"pause": {"now": True}}, words="pause"),
    Bad("POST", "/servers/SERVER/action", {"os-getConsoleOutput": {"length": -2}},
        words="length"),
    Bad("PUT", "/servers/SERVER", {"server": {"name": "x", "color": "red"}},
        words="'color' was unexpected"),
    Bad("PUT", "/servers/SERVER", {"server": {"accessIPv4": "300.1.1.1"}},
        words="accessIPv4"),
    Bad("POST", "/servers/SERVER/remote-consoles",
        {"remote_console": {"protocol": "vnc", "type": "novnc"}}, version="2.5", code=404),
    Bad("POST", "/servers/SERVER/remote-consoles",
        {"remote_console": {"protocol": "vnc", "type": "telnet"}}, version="2.6",
        words="type"),
    Bad("POST", "/flavors", {"flavor": {"name": "big", "ram": 2**40, "vcpus": 1, "disk": 1}},
        who="admin", words="ram"),
    Bad("POST", "/flavors", {"flavor": {"name": "f", "ram": 1, "vcpus": 1, "disk": 1,
                                        "rxtx_factor": 0}}, who="admin", words="rxtx_factor"),
    Bad("POST", "/flavors/1/os-extra_specs", {"extra_specs": {}}, who="admin",
        words="extra_specs"),
    Bad("PUT", "/os-quota-sets/PROJECT", {"quota_set": {"cores": 2**40}}, who="admin",
        words="cores"),
    Bad("PUT", "/os-quota-sets/PROJECT", {"quota_set": {"fixed_ips": 1}}, who="admin",
        version="2.36", words="'fixed_ips' was unexpected"),
    Bad("POST", "/os-keypairs", {"keypair": {"name": "a/b"}}, words="name"),
    Bad("POST", "/os-server-groups", {"server_group": {"name": "g", "policy": "affinity"}},
        version="2.63", words="'policies' is a required property"),
    Bad("POST", "/os-server-groups", {"server_group": {"name": "g", "policy": "affinity",
                                                       "rules": {"max_server_per_host": 0}}},
        version="2.64", words="max_server_per_host"),
    Bad("PUT", "/os-services/some-id", {"status": "sleeping"}, who="admin", version="2.53",
        words="status"),
    Bad("GET", "/os-hypervisors/statistics", who="admin", version="2.88", code=404),
    Bad("GET", "/os-hypervisors?limit=x", who="admin", version="2.33", words="limit"),
]


@pytest_twisted.ensureDeferred
async def test_bad_input_is_a_clear_4xx_in_novas_format(api: Api) -> None:
    """When a request is bad in any way, it gets its 4xx as Nova's fault, and nothing is built."""
    server = await boot(api)
    for case in CASES:
        path = case.path.replace("SERVER", server).replace("PROJECT", api.projects["demo"])
        version = case.version
        headers = dict(case.headers)
        if version is not None and version.startswith("compute "):
            headers["OpenStack-API-Version"], version = version, None
        code, body = await _send(api, case.method, path, body=case.body, raw=case.raw,
                                 who=case.who, version=version, headers=headers)
        assert code == case.code, (case, body)
        [(name, fault)] = body.items()
        assert fault["code"] == case.code and name == {
            400: "badRequest", 404: "itemNotFound", 406: "notAcceptable", 413: "overLimit",
            415: "badMediaType"}[case.code], (case, body)
        assert case.words in fault["message"], (case, fault["message"])
        assert len(fault["message"]) < 1000, case
    assert len(api.caller.named(BUILD)) == 1  # only the server booted above


async def _send(api: Api, method: str, path: str, *, body: Any = None, raw: bytes | None = None,
                who: str = "member", version: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One request with any headers; the status and the decoded body."""
    sent = {"X-Auth-Token": [api.tokens[who]], "Content-Type": ["application/json"]}
    if version is not None:
        sent["OpenStack-API-Version"] = [f"compute {version}"]
    sent.update({k: [v] for k, v in (headers or {}).items()})
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    client: Any = api.client
    response = await client.request(method, f"http://cloud.example:8774/compute/v2.1{path}",
                                    data=data, headers=sent)
    content = await response.content()
    return response.code, json.loads(content) if content else None


@pytest_twisted.ensureDeferred
async def test_good_input_still_passes(api: Api) -> None:
    """When requests are valid, including Nova's lenient spellings, they are served."""
    server = await boot(api, min_count="1", max_count=1, return_reservation_id="false",
                        metadata={"role": "web", "a.b:c-d_e f": ""}, config_drive="yes",
                        adminPass="", imageRef=IMAGE.replace("-", ""))
    assert (await call(api, "GET", "/servers?deleted=False&is_public=None&unknown=1")).code == 200
    assert (await call(api, "GET", "/servers/detail?limit=5&sort_key=display_name",
                       version="2.75")).code == 200
    assert (await call(api, "GET", "/servers?changes-since=2020-01-01T00:00:00Z")).code == 200
    assert (await call(api, "GET", "/flavors?is_public=None", who="admin")).code == 200
    assert (await call(api, "POST", f"/servers/{server}/action",
                       {"reboot": {"type": "Soft"}})).code == 202
    assert (await call(api, "POST", f"/servers/{server}/action", {"os-stop": {}})).code == 202
    networks = await call(api, "POST", "/servers", server_body(networks="none"),
                          version="2.37")
    assert networks.code == 202
    with_nic = await call(api, "POST", "/servers", server_body(
        networks=[{"uuid": UNKNOWN_UUID}]), version="2.96")
    assert with_nic.code == 202
    assert (await call(api, "PUT", f"/os-quota-sets/{api.projects['demo']}",
                       {"quota_set": {"cores": "40", "force": "True"}}, who="admin")).code == 200


@pytest_twisted.ensureDeferred
async def test_server_description_from_2_19(api: Api) -> None:
    """When a server is created or updated with a description at 2.19+, show and list have it."""
    created = await call(api, "POST", "/servers", server_body(description="the web tier"),
                         version="2.19")
    assert created.code == 202
    uuid = created.body["server"]["id"]
    shown = (await call(api, "GET", f"/servers/{uuid}", version="2.19")).body["server"]
    assert shown["description"] == "the web tier"
    listed = (await call(api, "GET", "/servers/detail", version="2.96")).body["servers"]
    assert [s["description"] for s in listed] == ["the web tier"]
    assert "description" not in (await call(api, "GET", f"/servers/{uuid}")).body["server"]
    updated = await call(api, "PUT", f"/servers/{uuid}",
                         {"server": {"description": "line one\nline two"}}, version="2.19")
    assert updated.code == 200 and updated.body["server"]["description"] == "line one\nline two"
    assert updated.body["server"]["name"] == "vm"
    cleared = await call(api, "PUT", f"/servers/{uuid}", {"server": {"description": None}},
                         version="2.96")
    assert cleared.body["server"]["description"] is None
    plain = await boot(api)
    assert (await call(api, "GET", f"/servers/{plain}", version="2.19")).body["server"][
        "description"] is None
    refused = await call(api, "PUT", f"/servers/{uuid}", {"server": {"description": "x"}},
                         version="2.18")
    assert refused.code == 400 and "description" in refused.body["badRequest"]["message"]


@pytest_twisted.ensureDeferred
async def test_server_hostname_from_2_90(api: Api) -> None:
    """When a hostname is given at 2.90+ (a FQDN at 2.94+), the server has it and shows it."""
    created = await call(api, "POST", "/servers",
                         server_body(hostname="web-01", networks="none"), version="2.90")
    assert created.code == 202, created.body
    uuid = created.body["server"]["id"]
    shown = (await call(api, "GET", f"/servers/{uuid}", version="2.90")).body["server"]
    assert shown["OS-EXT-SRV-ATTR:hostname"] == "web-01"
    assert "OS-EXT-SRV-ATTR:hostname" not in \
        (await call(api, "GET", f"/servers/{uuid}", version="2.89")).body["server"]
    updated = await call(api, "PUT", f"/servers/{uuid}",
                         {"server": {"hostname": "web-01.example.org"}}, version="2.94")
    assert updated.code == 200, updated.body
    assert updated.body["server"]["OS-EXT-SRV-ATTR:hostname"] == "web-01.example.org"
    plain = await boot(api)  # derived from the name when not given
    assert (await call(api, "GET", f"/servers/{plain}", version="2.96")).body["server"][
        "OS-EXT-SRV-ATTR:hostname"] == "vm"
    for hostname, extra, version, why in (
            ("web-01", {}, "2.89", "'hostname' was unexpected"),  # not yet a field
            ("web.example.org" + "x" * 60, {}, "2.90", "hostname"),  # too long at 2.90
            ("web 01", {}, "2.96", "hostname"),  # not a host name
            ("web", {"max_count": 2}, "2.90", "multiple instances")):  # one name, two servers
        body = server_body(hostname=hostname, networks="none", **extra)
        refused = await call(api, "POST", "/servers", body, version=version)
        assert refused.code == 400, (body, version, refused.body)
        assert why in refused.body["badRequest"]["message"], refused.body
    refused = await call(api, "PUT", f"/servers/{uuid}", {"server": {"hostname": "a.b"}},
                         version="2.89")
    assert refused.code == 400


@pytest_twisted.ensureDeferred
async def test_project_id_in_the_url(api: Api) -> None:
    """When a client puts its project id after /v2.1, the same resources answer; another
    project's id is 400 in Nova's words, and the version document is still served.
    """
    project, alt = api.projects["demo"], api.projects["alt"]
    created = await call(api, "POST", f"/{project}/servers", server_body())
    assert created.code == 202
    uuid = created.body["server"]["id"]
    listed = await call(api, "GET", f"/{project}/servers/detail")
    assert [s["id"] for s in listed.body["servers"]] == [uuid]
    assert (await call(api, "GET", f"/{project}/servers/{uuid}")).body["server"]["id"] == uuid
    assert (await call(api, "GET", f"/{project}/flavors/1")).code == 200
    assert (await call(api, "POST", f"/{project}/servers/{uuid}/action",
                       {"os-stop": None})).code == 202
    wrong = await call(api, "GET", f"/{alt}/servers")
    assert wrong.code == 400
    assert wrong.body["badRequest"]["message"] == (
        f"Malformed request URL: URL's project_id '{alt}' doesn't match Context's "
        f"project_id '{project}'")
    admin = await call(api, "GET", f"/{project}/servers", who="admin")
    assert admin.code == 400
    assert (await call(api, "GET", f"/{project}/servers", who=None)).code == 401
    assert (await call(api, "GET", f"/{project}/nothing")).code == 404
    assert (await call(api, "DELETE", f"/{project}/servers/{uuid}")).code == 204
    client: Any = api.client
    for base in ("http://cloud.example:8774/compute", "http://cloud.example:8774"):
        response = await client.get(f"{base}/v2.1/{project}/")
        assert response.code == 200 and (await response.json())["version"]["id"] == "v2.1"
        bare = await client.get(f"{base}/v2.1/{project}/flavors",
                                headers={"X-Auth-Token": [api.tokens["member"]]})
        assert bare.code == 200 and (await bare.json())["flavors"]


@pytest_twisted.ensureDeferred
async def test_openapi_document(api: Api) -> None:
    """When the OpenAPI document is fetched (no token), it has the schemas that are enforced,
    for the negotiated microversion.
    """
    client: Any = api.client
    response = await client.get("http://cloud.example:8774/compute/v2.1/openapi.json")
    assert response.code == 200
    doc = await response.json()
    assert doc["openapi"] == "3.1.0" and doc["info"]["version"] == "2.1"
    assert doc["servers"] == [{"url": "http://cloud.example:8774/compute"}]
    create = doc["paths"]["/v2.1/servers"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == \
        schemas.SERVER_CREATE
    assert "/v2.1/servers/{server_id}/remote-consoles" not in doc["paths"]
    assert "/v2.1/os-hypervisors/statistics" in doc["paths"]
    latest = await client.get("http://cloud.example:8774/v2.1/openapi.json",
                              headers={"OpenStack-API-Version": ["compute latest"]})
    doc = await latest.json()
    assert doc["info"]["version"] == str(schemas.LATEST)
    body = doc["paths"]["/v2.1/servers"]["post"]["requestBody"]["content"]
    assert "networks" in body["application/json"]["schema"]["properties"]["server"]["required"]
    assert "/v2.1/os-hypervisors/statistics" not in doc["paths"]
    queries = {p["name"] for p in doc["paths"]["/v2.1/servers/detail"]["get"]["parameters"]
               if p["in"] == "query"}
    assert {"changes-since", "changes-before", "limit", "marker", "locked"} <= queries


def test_every_route_has_a_contract() -> None:
    """Every resource route of the Compute API has its schemas (a new route needs them)."""
    endpoints = {str(rule.endpoint) for rule in ComputeApi.app.url_map.iter_rules()}
    assert endpoints - {"versions", "version", "unknown", "openapi_document"} <= \
        set(schemas.OPERATIONS)


@pytest.mark.parametrize("minor", [1, 2, 6, 19, 37, 53, 64, 75, 96])
def test_schemas_are_valid_json_schema(minor: int) -> None:
    """Every schema in force at each microversion is a valid JSON Schema 2020-12 document."""
    from jsonschema import Draft202012Validator

    version = schemas.Version(2, minor)
    for operation in schemas.OPERATIONS.values():
        body = operation.body_at(version)
        if body is not None:
            Draft202012Validator.check_schema(body)
        query = operation.query_at(version)
        if query is not None:
            Draft202012Validator.check_schema(query.json_schema())


@pytest.mark.parametrize("value,valid", [
    (1, True), ("12", True), ("0", False), (0, False), ("x", False), (True, False),
    ("", False), ("1.5", False), (2**31, True)])
def test_numeric_strings_are_bounded_like_numbers(value: Any, valid: bool) -> None:
    """When a count comes as a string, its value is held to the same minimum as a number."""
    schema = {"type": "object", "properties": {"n": schemas.POSITIVE_INT}}
    error = validation._first_error(validation.validator_for(schema), {"n": value})
    assert (error is None) is valid, error


def test_image_uuid_may_come_without_dashes() -> None:
    """When an image id is given as 32 hex digits, it is a UUID, as in Nova."""
    assert validation._uuid(IMAGE.replace("-", ""))
    assert not validation._uuid("not-a-uuid")
