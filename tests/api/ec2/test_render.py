"""
The XML answers as botocore's own EC2 parser reads them (the service model
installed with boto3), EC2 ids, and the query parameters.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser
from hypothesis import given
from hypothesis import strategies as st

from nova_ws.api.ec2 import ids, render, views
from nova_ws.api.ec2.errors import Ec2Error
from nova_ws.api.ec2.params import Params, check, passes
from nova_ws.db.queries.images import Image
from nova_ws.db.queries.instances import Instance

MODEL = botocore.session.get_session().get_service_model("ec2")
LAUNCHED = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def parse(operation: str, body: bytes, status: int = 200) -> dict[str, Any]:
    """What boto3 returns for *body*."""
    parsed: dict[str, Any] = create_parser("ec2").parse(
        {"body": body, "status_code": status, "headers": {}},
        MODEL.operation_model(operation).output_shape)
    return parsed


def instance(**changes: Any) -> Instance:
    """An instance record as the database returns it."""
    values: dict[str, Any] = dict(
        id=1, uuid=str(uuid.uuid4()), display_name="web", hostname="web", project_id="p1",
        user_id="u1", instance_type_id=1, vcpus=1, memory_mb=512, root_gb=1, ephemeral_gb=0,
        flavor={"name": "m1.tiny"}, image_ref=str(uuid.uuid4()), host="h1", node="h1",
        availability_zone="nova", vm_state="active", task_state=None, power_state=1,
        launched_at=LAUNCHED, terminated_at=None, key_name="key", reservation_id="r-0abc",
        launch_index=0, locked=False, locked_by=None, created_at=LAUNCHED, updated_at=None,
        deleted=False, deleted_at=None, metadata={"Name": "web", "tier": "front"})
    values.update(changes)
    return Instance(**values)


def test_describe_instances_parses_as_boto3_reads_it() -> None:
    """When instances are rendered, boto3's parser reads ids, states, tags and times."""
    running, stopping = instance(), instance(task_state="powering-off", launch_index=1)
    gone = instance(reservation_id="r-0def", deleted=True, vm_state="deleted")
    body = render.response("DescribeInstances", "req-1",
                           {"reservationSet": views.reservations([running, stopping, gone])})
    parsed = parse("DescribeInstances", body)
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
    first, second = parsed["Reservations"]
    assert first["ReservationId"] == "r-0abc" and first["OwnerId"] == "p1"
    item = first["Instances"][0]
    assert item["InstanceId"] == ids.instance_id(running.uuid)
    assert item["ImageId"] == ids.image_id(str(running.image_ref))
    assert item["State"] == {"Code": 16, "Name": "running"}
    assert first["Instances"][1]["State"] == {"Code": 64, "Name": "stopping"}
    assert item["LaunchTime"] == LAUNCHED
    assert item["Placement"]["AvailabilityZone"] == "nova"
    assert item["InstanceType"] == "m1.tiny" and item["KeyName"] == "key"
    assert {t["Key"]: t["Value"] for t in item["Tags"]} == {"Name": "web", "tier": "front"}
    assert second["Instances"][0]["State"] == {"Code": 48, "Name": "terminated"}
    assert second["Instances"][0]["StateReason"]["Code"] == "Client.UserInitiatedShutdown"


def test_state_changes_images_and_errors_parse() -> None:
    """When state changes, images and errors are rendered, boto3 reads them."""
    inst = instance()
    body = render.response("StopInstances", "r", {"instancesSet": [views.state_change(
        ids.instance_id(inst.uuid), views.RUNNING, views.STOPPED)]})
    change = parse("StopInstances", body)["StoppingInstances"][0]
    assert change["PreviousState"]["Name"] == "running"
    assert change["CurrentState"] == {"Code": 80, "Name": "stopped"}
    image = Image(id=1, uuid=str(uuid.uuid4()), name="cirros", status="active",
                  disk_format="qcow2", container_format="bare", min_ram=0, min_disk=1,
                  size=None, checksum=None, visibility="public", owner=None, protected=False,
                  created_at=LAUNCHED, updated_at=None, properties={"architecture": "x86_64"})
    parsed = parse("DescribeImages", render.response(
        "DescribeImages", "r", {"imagesSet": [views.image(image)]}))["Images"][0]
    assert parsed["ImageId"] == ids.image_id(image.uuid) and parsed["Name"] == "cirros"
    assert parsed["State"] == "available" and parsed["Public"] is True
    assert parsed["Architecture"] == "x86_64"
    error = parse("DescribeInstances", render.error("InvalidInstanceID.NotFound",
                                                    "no \x07such <i>", "req-2"), 400)
    assert error["Error"] == {"Code": "InvalidInstanceID.NotFound", "Message": "no such <i>"}
    assert error["ResponseMetadata"]["RequestId"] == "req-2"


def test_text_xml_cannot_carry_is_dropped() -> None:
    """When a tag holds control characters, the document stays well-formed XML."""
    inst = instance(metadata={"k": "a\x00b\x1bc\ud800"})
    parsed = parse("DescribeInstances", render.response(
        "DescribeInstances", "r", {"reservationSet": views.reservations([inst])}))
    assert parsed["Reservations"][0]["Instances"][0]["Tags"] == [{"Key": "k", "Value": "abc"}]


@given(st.uuids())
def test_ids_stand_for_their_uuid(value: uuid.UUID) -> None:
    """When an id is made from a uuid, it has 17 hex digits and leads back to the uuid."""
    text = str(value)
    ec2 = ids.instance_id(text)
    assert len(ec2) == 2 + ids.DIGITS and text.startswith(ids.uuid_prefix(ec2))
    assert ids.uuid_prefix(ec2.upper().replace("I-", "i-")) == ids.uuid_prefix(ec2)


def test_malformed_ids() -> None:
    """When an id is not one of its kind, the error says Malformed."""
    for bad, kind, code in (("i-123", ids.INSTANCE, "InvalidInstanceID.Malformed"),
                            ("ami-0123456789abcdef0", ids.INSTANCE,
                             "InvalidInstanceID.Malformed"),
                            ("i-0123456789abcdefg", ids.INSTANCE,
                             "InvalidInstanceID.Malformed"),
                            ("ami-1", ids.IMAGE, "InvalidAMIID.Malformed")):
        with pytest.raises(Ec2Error) as info:
            ids.uuid_prefix(bad, kind)
        assert info.value.code == code


def test_parameters_lists_filters_and_tags() -> None:
    """When lists, filters and tags are spelled out, they are read in index order."""
    p = Params([("InstanceId.2", "b"), ("InstanceId.1", "a"), ("InstanceId.10", "c"),
                ("Filter.1.Name", "tag:Name"), ("Filter.1.Value.1", "w*b"),
                ("Filter.2.Name", "instance-state-name"), ("Filter.2.Value.1", "running"),
                ("Filter.2.Value.2", "stopped"), ("T.1.Key", "k"), ("T.1.Value", "v"),
                ("DryRun", "true"), ("MaxResults", "5")])
    assert p.strings("InstanceId") == ["a", "b", "c"]
    filters = p.filters()
    check(filters, ["instance-state-name"], ("tag:",))
    assert passes(filters, {"tag:Name": "web", "instance-state-name": "stopped"})
    assert not passes(filters, {"tag:Name": "web", "instance-state-name": "pending"})
    assert not passes(filters, {"instance-state-name": "running"})
    assert p.tags("T") == {"k": "v"} and p.boolean("DryRun") and p.integer("MaxResults", 5, 9)
    bad: list[Callable[[], object]] = [
        lambda: Params([("InstanceId.0", "x")]).strings("InstanceId"),
        lambda: Params([("Filter.1.Value.1", "x")]).filters(),
        lambda: Params([("Filter.1.Name", "x")]).filters(),
        lambda: Params([("DryRun", "maybe")]).boolean("DryRun"),
        lambda: Params([("MaxResults", "4")]).integer("MaxResults", 5, 9),
        lambda: Params([("T.1.Value", "v")]).tags("T")]
    for call in bad:
        with pytest.raises(Ec2Error):
            call()
    with pytest.raises(Ec2Error):
        check(filters, ["instance-id"])
