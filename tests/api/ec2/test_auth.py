"""
Who may call the EC2 API: Signature Version 4 with an EC2 credential of an
enabled user who holds a role on its project; the protocol's edges
(presigned GET, missing or unknown actions, malformed bodies) answered
with EC2's error document and a 4xx.
"""

from __future__ import annotations

import time
from typing import Any

import pytest_twisted
import treq
from sqlalchemy import select, update

from nova_ws.db.models.identity import IdentityEc2Credential, IdentityUser
from tests.api.ec2.conftest import Answer, Ec2, send


def _code(answer: Answer) -> tuple[int, str]:
    return answer.code, answer.parsed.get("Error", {}).get("Code", "")


class _Clock:
    def __init__(self, offset: float) -> None:
        self.offset = offset

    def seconds(self) -> float:
        return time.time() + self.offset


@pytest_twisted.ensureDeferred
async def test_credentials_that_do_not_authenticate(ec2: Ec2) -> None:
    """
    When the access key is unknown, the secret wrong, the clock off, the
    user disabled or without a role, boto3 gets AuthFailure,
    SignatureDoesNotMatch or RequestExpired.
    """
    assert await ec2.error("nobody", "describe_instances") == ("AuthFailure", 401)
    ec2.credentials["wrong"] = (ec2.credentials["member"][0], "0" * 64)
    assert await ec2.error("wrong", "describe_instances") == ("SignatureDoesNotMatch", 403)
    ec2.api.clock = _Clock(3600)
    assert await ec2.error("member", "describe_instances") == ("RequestExpired", 400)
    ec2.api.clock = _Clock(0)
    assert (await ec2.call("member", "describe_instances"))["Reservations"] == []
    await ec2.cloud.db().run(lambda s: s.execute(update(IdentityUser).where(
        IdentityUser.id == ec2.users["member"]).values(enabled=False)))
    assert await ec2.error("member", "describe_instances") == ("AuthFailure", 401)


@pytest_twisted.ensureDeferred
async def test_identity_credentials_are_sealed_and_work(ec2: Ec2) -> None:
    """
    When a user makes EC2 credentials through Identity's OS-EC2 API, the
    database holds only the sealed secret, and boto3 signs with the secret.
    """
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"name": "Default"}, "password": "d"}}},
        "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}}
    base = ec2.url.removesuffix("/ec2") + "/identity/v3"
    response = await treq.post(base + "/auth/tokens", json=auth)
    token = response.headers.getRawHeaders("X-Subject-Token")[0]
    await response.content()
    headers: Any = {"X-Auth-Token": [token]}
    response = await treq.post(f"{base}/users/{ec2.users['member']}/credentials/OS-EC2",
                               json={"tenant_id": ec2.projects["member"]},
                               headers=headers)
    assert response.code == 201
    made = (await response.json())["credential"]
    stored = await ec2.cloud.db().run(lambda s: s.scalar(select(
        IdentityEc2Credential.secret).where(IdentityEc2Credential.access == made["access"])))
    assert stored.startswith("fernet:") and made["secret"] not in stored
    ec2.credentials["made"] = (made["access"], made["secret"])
    zones = await ec2.call("made", "describe_availability_zones")
    assert [z["ZoneName"] for z in zones["AvailabilityZones"]] == ["nova"]
    response = await treq.delete(
        f"{base}/users/{ec2.users['member']}/credentials/OS-EC2/{made['access']}",
        headers=headers)
    assert response.code == 204
    assert await ec2.error("made", "describe_availability_zones") == ("AuthFailure", 401)


@pytest_twisted.ensureDeferred
async def test_protocol_edges(ec2: Ec2) -> None:
    """
    When requests are unsigned, presigned, actionless, unknown, malformed,
    too big or use another method, each answer is EC2's error document
    with a 4xx (and the presigned GET works).
    """
    body = b"Action=DescribeAvailabilityZones&Version=2016-11-15"
    zones = await send(ec2, "member", None, method="GET", presign=True,
                        query={"Action": "DescribeAvailabilityZones", "Version": "2016-11-15"},
                        operation="DescribeAvailabilityZones")
    assert zones.code == 200 and zones.parsed["AvailabilityZones"][0]["State"] == "available"
    slash = await send(ec2, "member", body, path="/ec2/",
                        operation="DescribeAvailabilityZones")
    assert slash.code == 200
    assert _code(await send(ec2, None, body)) == (401, "MissingAuthenticationToken")
    assert _code(await send(ec2, "member", b"Version=2016-11-15")) == (400, "MissingAction")
    assert _code(await send(ec2, "member", b"Action=CreateVpc")) == (400, "InvalidAction")
    assert _code(await send(ec2, "member", b"Action=Describe%FFImages")) == (
        400, "MalformedQueryString")
    assert _code(await send(ec2, "member", b"Action=DescribeInstances&x=" + b"y" * 300000)
                 ) == (413, "RequestEntityTooLarge")
    assert _code(await send(ec2, "member", body, method="PUT")) == (405, "UnsupportedHttpVerb")
    run = b"Action=RunInstances&ImageId=ami-11111111222233334&MinCount=1"
    assert _code(await send(ec2, "member", run)) == (400, "MissingParameter")
    assert _code(await send(ec2, "member", run + b"&MaxCount=1&UserData=%21%21")) == (
        400, "InvalidParameterValue")
    assert _code(await send(ec2, "member", b"Action=DescribeInstances&InstanceId.0=i-1")) == (
        400, "InvalidParameterValue")
    assert _code(await send(ec2, "member", b"Action=StopInstances")) == (
        400, "MissingParameter")
