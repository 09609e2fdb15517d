"""
The instance actions through boto3: RunInstances, DescribeInstances,
Start/Stop/Reboot/TerminateInstances and GetConsoleOutput, on a real cloud
(the conductor's state machine and the fake host do the work).
"""

from __future__ import annotations

from typing import Any

import pytest_twisted

from nova_ws.api.ec2 import ids
from tests.api.ec2.conftest import IMAGE, Ec2

AMI = ids.image_id(IMAGE)


async def _run(ec2: Ec2, who: str = "member", count: int = 1, **extra: object) -> list[str]:
    answer = await ec2.call(who, "run_instances", ImageId=AMI, InstanceType="m1.tiny",
                            MinCount=count, MaxCount=count, **extra)
    return [i["InstanceId"] for i in answer["Instances"]]


@pytest_twisted.ensureDeferred
async def test_instance_lifecycle(ec2: Ec2) -> None:
    """
    When a member runs two tagged instances, they share a reservation and
    become running; the console log comes back base64; stop, start, reboot
    and terminate move them through EC2's states; terminated ones stay
    visible, and actions on them are refused.
    """
    answer = await ec2.call(
        "member", "run_instances", ImageId=AMI, InstanceType="m1.tiny", MinCount=2,
        MaxCount=2, Placement={"AvailabilityZone": "nova"}, UserData="echo hi",
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": [{"Key": "Name", "Value": "web"},
                                     {"Key": "tier", "Value": "front"}]}])
    assert answer["ReservationId"].startswith("r-")
    assert answer["OwnerId"] == ec2.projects["member"]
    made = [i["InstanceId"] for i in answer["Instances"]]
    assert len(made) == 2 and all(i.startswith("i-") and len(i) == 19 for i in made)
    assert {i["State"]["Name"] for i in answer["Instances"]} == {"pending"}
    assert sorted(i["AmiLaunchIndex"] for i in answer["Instances"]) == [0, 1]
    await ec2.wait("member", made, "running")

    listed = await ec2.call("member", "describe_instances")
    [reservation] = listed["Reservations"]
    assert reservation["ReservationId"] == answer["ReservationId"]
    first = reservation["Instances"][0]
    assert first["ImageId"] == AMI and first["InstanceType"] == "m1.tiny"
    assert first["Placement"]["AvailabilityZone"] == "nova"
    assert {t["Key"]: t["Value"] for t in first["Tags"]} == {"Name": "web", "tier": "front"}
    by_tag = await ec2.call("member", "describe_instances", Filters=[
        {"Name": "tag:tier", "Values": ["fr*"]},
        {"Name": "instance-state-name", "Values": ["running"]}])
    assert len(by_tag["Reservations"][0]["Instances"]) == 2
    none = await ec2.call("member", "describe_instances", Filters=[
        {"Name": "instance-state-name", "Values": ["stopped"]}])
    assert none["Reservations"] == []

    console = await ec2.call("member", "get_console_output", InstanceId=made[0])
    assert console["InstanceId"] == made[0]
    # base64 on the wire; botocore decodes it (its decode_console_output hook)
    assert "nova_ws fake kernel" in console["Output"]

    stopped = await ec2.call("member", "stop_instances", InstanceIds=[made[0]])
    change = stopped["StoppingInstances"][0]
    assert change["InstanceId"] == made[0] and change["PreviousState"]["Name"] == "running"
    await ec2.wait("member", [made[0]], "stopped")
    again = await ec2.call("member", "stop_instances", InstanceIds=[made[0]])
    assert again["StoppingInstances"][0]["CurrentState"]["Name"] == "stopped"
    started = await ec2.call("member", "start_instances", InstanceIds=made)
    assert {c["PreviousState"]["Name"] for c in started["StartingInstances"]} == {
        "stopped", "running"}
    await ec2.wait("member", made, "running")
    await ec2.call("member", "reboot_instances", InstanceIds=made)
    await ec2.wait("member", made, "running")

    ended = await ec2.call("member", "terminate_instances", InstanceIds=made)
    assert {c["CurrentState"]["Name"] for c in ended["TerminatingInstances"]} <= {
        "shutting-down", "terminated"}
    await ec2.wait("member", made, "terminated")
    shown = await ec2.call("member", "describe_instances", InstanceIds=[made[0]])
    assert shown["Reservations"][0]["Instances"][0]["State"]["Code"] == 48
    assert await ec2.error("member", "start_instances", InstanceIds=[made[0]]) == (
        "IncorrectInstanceState", 400)
    twice = await ec2.call("member", "terminate_instances", InstanceIds=[made[0]])
    assert twice["TerminatingInstances"][0]["PreviousState"]["Name"] == "terminated"


@pytest_twisted.ensureDeferred
async def test_bad_ids_and_parameters(ec2: Ec2) -> None:
    """When ids, images, types, counts or keys are wrong, EC2's codes come back as 4xx."""
    unknown = "i-0123456789abcdef0"
    assert await ec2.error("member", "describe_instances", InstanceIds=[unknown]) == (
        "InvalidInstanceID.NotFound", 400)
    assert await ec2.error("member", "terminate_instances", InstanceIds=["i-42"]) == (
        "InvalidInstanceID.Malformed", 400)
    assert await ec2.error("member", "get_console_output", InstanceId=unknown) == (
        "InvalidInstanceID.NotFound", 400)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"ImageId": "ami-0123456789abcdef0"}, "InvalidAMIID.NotFound"),
        ({"ImageId": "ami-12"}, "InvalidAMIID.Malformed"),
        ({"InstanceType": "t2.huge"}, "InvalidParameterValue"),
        ({"MinCount": 3, "MaxCount": 2}, "InvalidParameterValue"),
        ({"MinCount": 0, "MaxCount": 1}, "InvalidParameterValue"),
        ({"KeyName": "nokey"}, "InvalidKeyPair.NotFound"),
        ({"TagSpecifications": [{"ResourceType": "volume", "Tags": []}]},
         "InvalidParameterValue"),
        ({"MinCount": 101, "MaxCount": 101}, "InvalidParameterValue"),
    ]
    for changes, code in cases:
        kwargs = {"ImageId": AMI, "InstanceType": "m1.tiny", "MinCount": 1, "MaxCount": 1,
                  **changes}
        assert await ec2.error("member", "run_instances", **kwargs) == (code, 400), changes
    assert await ec2.error("member", "describe_instances", Filters=[
        {"Name": "bogus", "Values": ["x"]}]) == ("InvalidParameterValue", 400)
    assert await ec2.error("member", "describe_instances", InstanceIds=[unknown],
                           MaxResults=5) == ("InvalidParameterCombination", 400)
    assert await ec2.error("member", "describe_instances", NextToken=unknown) == (
        "InvalidParameterValue", 400)
    assert (await ec2.call("member", "describe_instances"))["Reservations"] == []


@pytest_twisted.ensureDeferred
async def test_pages_of_instances(ec2: Ec2) -> None:
    """When MaxResults is given, the instances come in pages linked by NextToken."""
    made = await _run(ec2, count=7)
    pages, token = [], None
    while True:
        kwargs = {"MaxResults": 5, **({"NextToken": token} if token else {})}
        answer = await ec2.call("member", "describe_instances", **kwargs)
        pages.append([i["InstanceId"] for r in answer["Reservations"] for i in r["Instances"]])
        token = answer.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [5, 2] and sorted(sum(pages, [])) == sorted(made)
    await ec2.wait("member", made, "running")


@pytest_twisted.ensureDeferred
async def test_projects_roles_and_dry_runs(ec2: Ec2) -> None:
    """
    When another project asks for a member's instance it does not exist; a
    reader sees but cannot change; the admin may act on it by id; DryRun
    answers DryRunOperation (or UnauthorizedOperation) and changes nothing.
    """
    [mine] = await _run(ec2)
    assert await ec2.error("other", "describe_instances", InstanceIds=[mine]) == (
        "InvalidInstanceID.NotFound", 400)
    assert await ec2.error("other", "terminate_instances", InstanceIds=[mine]) == (
        "InvalidInstanceID.NotFound", 400)
    assert (await ec2.call("other", "describe_instances"))["Reservations"] == []
    assert await ec2.states("reader", [mine]) in ({mine: "pending"}, {mine: "running"})
    for operation, kwargs in (("terminate_instances", {"InstanceIds": [mine]}),
                              ("stop_instances", {"InstanceIds": [mine]}),
                              ("get_console_output", {"InstanceId": mine}),
                              ("run_instances", {"ImageId": AMI, "MinCount": 1,
                                                 "MaxCount": 1})):
        assert await ec2.error("reader", operation, **kwargs) == (
            "UnauthorizedOperation", 403), operation
        assert await ec2.error("reader", operation, DryRun=True, **kwargs) == (
            "UnauthorizedOperation", 403), operation
    await ec2.wait("member", [mine], "running")
    assert await ec2.error("member", "stop_instances", InstanceIds=[mine], DryRun=True) == (
        "DryRunOperation", 412)
    assert await ec2.error("member", "run_instances", ImageId=AMI, MinCount=1, MaxCount=1,
                           DryRun=True) == ("DryRunOperation", 412)
    assert await ec2.states("member", [mine]) == {mine: "running"}
    assert len((await ec2.call("member", "describe_instances"))["Reservations"]) == 1
    assert (await ec2.call("admin", "describe_instances"))["Reservations"] == []
    await ec2.call("admin", "terminate_instances", InstanceIds=[mine])
    await ec2.wait("member", [mine], "terminated")


@pytest_twisted.ensureDeferred
async def test_client_token_makes_run_instances_idempotent(ec2: Ec2) -> None:
    """
    When RunInstances is retried with its ClientToken, the first reservation
    comes back and nothing more boots; other parameters with that token are
    refused; another project's token is its own; a failed run frees its token.
    """
    first = await ec2.call("member", "run_instances", ImageId=AMI, InstanceType="m1.tiny",
                           MinCount=2, MaxCount=2, ClientToken="deploy-1")
    again = await ec2.call("member", "run_instances", ImageId=AMI, InstanceType="m1.tiny",
                           MinCount=2, MaxCount=2, ClientToken="deploy-1")
    assert again["ReservationId"] == first["ReservationId"]
    assert sorted(i["InstanceId"] for i in again["Instances"]) == \
        sorted(i["InstanceId"] for i in first["Instances"])
    listed = await ec2.call("member", "describe_instances")
    assert [r["ReservationId"] for r in listed["Reservations"]] == [first["ReservationId"]]

    assert await ec2.error("member", "run_instances", ImageId=AMI, InstanceType="m1.small",
                           MinCount=2, MaxCount=2, ClientToken="deploy-1") == \
        ("IdempotentParameterMismatch", 400)
    theirs = await _run(ec2, "other", ClientToken="deploy-1")
    assert len(theirs) == 1
    assert await ec2.error("member", "run_instances", ImageId=AMI, MinCount=1, MaxCount=1,
                           ClientToken="x" * 65) == ("InvalidParameterValue", 400)

    # over the quota: nothing boots, and the token is free for the next try
    code, status = await ec2.error("member", "run_instances", ImageId=AMI,
                                   InstanceType="m1.tiny", MinCount=90, MaxCount=90,
                                   ClientToken="deploy-2")
    assert status == 400 and code != "IdempotentParameterMismatch"
    assert len(await _run(ec2, ClientToken="deploy-2")) == 1
