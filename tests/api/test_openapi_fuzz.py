"""The Compute API's OpenAPI document, fuzzed against the running all-in-one.

The all-in-one runs in the test's reactor on free ports. Schemathesis reads
the document the API serves (for the latest microversion and for 2.1) and
sends, for every operation, a few requests built from the schemas (valid
ones) and a few built to break them (invalid ones), as the admin, over real
HTTP from a worker thread, so the reactor keeps serving. Every answer must
be a documented one: never a 5xx, every 4xx a fault in Nova's format, every
success with the documented status and media type.

The run is bounded and repeatable: a fixed number of examples per operation
and mode, a fixed seed, no shrinking.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from twisted.internet.threads import deferToThread

from nova_ws.db.queries import images
from nova_ws.testing.allinone import AllInOne, identity_token, start_allinone

pytestmark = [pytest.mark.integration, pytest.mark.slow,
              # raised from inside schemathesis's own strategies, not ours
              pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")]

#: Examples per operation and generation mode (the whole run stays well under a minute).
EXAMPLES = 6


def no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx, but those an operation documents (Nova's 501 for a certificate not the root)."""
    documented = case.operation.definition.raw.get("responses", {})
    if response.status_code >= 500 and str(response.status_code) not in documented:
        raise AssertionError(f"Server error {response.status_code}: {response.text[:500]}")
    return None


CHECKS = [no_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]

schemathesis.openapi.format("regex", st.sampled_from(["^web", "db[0-9]+", "x", ".*"]))
schemathesis.openapi.format("base64", st.binary(max_size=32).map(
    lambda raw: base64.b64encode(raw).decode()))


def _with_examples(doc: dict[str, Any], image: str) -> dict[str, Any]:
    """*doc* with a create body that names a real image and flavor (an explicit example)."""
    doc = copy.deepcopy(doc)
    create = doc["paths"]["/v2.1/servers"]["post"]["requestBody"]["content"]["application/json"]
    create["example"] = {"server": {"name": "fuzzed", "flavorRef": "1", "imageRef": image,
                                    "networks": "none"}}
    return doc


def _fuzz(doc: dict[str, Any], base_url: str, token: str, real: dict[str, str]) -> list[str]:
    """Run every operation of *doc* with valid and with invalid requests, and with valid ones
    on the *real* resources its path names (but for deletes); the failures found, as text.
    """
    schema = schemathesis.openapi.from_dict(doc)
    session = requests.Session()
    failures: list[str] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"the document has an operation schemathesis cannot read: {result}")
            continue
        operation = result.ok()
        runs: list[tuple[GenerationMode, dict[str, str] | None]] = [
            (GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        pinned = {name: real[name] for name in re.findall(r"{(\w+)}", operation.path)
                  if name in real}
        if pinned and operation.method.lower() != "delete":
            runs.append((GenerationMode.POSITIVE, pinned))
        for mode, path_parameters in runs:
            strategy = operation.as_strategy(generation_mode=mode,
                                             path_parameters=path_parameters)
            try:
                _one_operation(strategy, base_url, token, session)()
            except Unsatisfiable:
                continue  # nothing in this operation can be made invalid
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported at the end
                failures.append(f"{operation.label} ({mode.value}): {_describe(exc)}")
    session.close()
    return failures


def _describe(exc: BaseException) -> str:
    """What schemathesis found (its report is the group's message and its members')."""
    if isinstance(exc, BaseExceptionGroup):
        return "\n".join([str(exc), *(_describe(e) for e in exc.exceptions)])
    return f"{type(exc).__name__}: {exc}"


def _one_operation(strategy: Any, base_url: str, token: str,
                   session: requests.Session) -> Callable[[], None]:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, timeout=30,
                             headers={"X-Auth-Token": token})
        case.validate_response(response, checks=CHECKS)

    return run


@pytest_twisted.ensureDeferred
async def test_schemathesis_finds_no_undocumented_answer(tmp_path: Path) -> None:
    """When the API's own OpenAPI document drives valid and invalid requests at it, no
    answer is a 5xx and every 4xx is a fault in Nova's format, at 2.1 and the latest version.
    """
    import treq

    aio: AllInOne = start_allinone(tmp_path)
    service = aio.service
    try:
        for name in ("nova-api", "nova-conductor"):
            await service.getServiceNamed(name).client.when_joined()
        db = service.getServiceNamed("nova-api").db
        [image] = await db.run(lambda s: images.list_images(s, name="cirros"))
        token, _ = await identity_token(aio.api, "admin", aio.credentials.admin_password,
                                        "admin")
        headers: dict[bytes | str, list[bytes | str]] = {
            "X-Auth-Token": [token], "Content-Type": ["application/json"],
            "OpenStack-API-Version": ["compute 2.37"]}
        body = {"server": {"name": "target", "flavorRef": "1", "imageRef": image.uuid,
                           "networks": "none"}}
        created = await treq.post(f"{aio.api}/compute/v2.1/servers", json.dumps(body).encode(),
                                  headers=headers)
        assert created.code == 202, await created.text()
        server = (await created.json())["server"]["id"]
        made = await treq.post(f"{aio.api}/compute/v2.1/os-aggregates",
                               json.dumps({"aggregate": {"name": "target"}}).encode(),
                               headers=headers)
        assert made.code == 200, await made.text()
        aggregate = str((await made.json())["aggregate"]["id"])
        failures: list[str] = []
        for version in ("latest", "2.1"):
            wanted: dict[bytes | str, list[bytes | str]] = {
                "OpenStack-API-Version": [f"compute {version}"]}
            answer = await treq.get(f"{aio.api}/compute/v2.1/openapi.json", headers=wanted)
            assert answer.code == 200
            doc = _with_examples(await answer.json(), image.uuid)
            failures += await deferToThread(_fuzz, doc, aio.api + "/compute", token,
                                            {"server_id": server, "flavor_id": "1",
                                             "aggregate_id": aggregate})
        assert not failures, "\n\n".join(failures)
    finally:
        await service.stopService()
