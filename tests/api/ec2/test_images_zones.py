"""DescribeImages and DescribeAvailabilityZones through boto3."""

from __future__ import annotations

import pytest_twisted

from nova_ws.api.ec2 import ids
from tests.api.ec2.conftest import IMAGE, PRIVATE_IMAGE, Ec2


@pytest_twisted.ensureDeferred
async def test_images_a_project_may_see(ec2: Ec2) -> None:
    """
    When a member lists images it sees the public one and its project's
    private one; another project only the public one; ids, owners and
    filters narrow the list; an unknown id is InvalidAMIID.NotFound.
    """
    public, private = ids.image_id(IMAGE), ids.image_id(PRIVATE_IMAGE)
    mine = await ec2.call("member", "describe_images")
    assert {i["ImageId"] for i in mine["Images"]} == {public, private}
    cirros = next(i for i in mine["Images"] if i["ImageId"] == public)
    assert (cirros["Name"], cirros["State"], cirros["Public"], cirros["Architecture"]) == (
        "cirros", "available", True, "x86_64")
    theirs = await ec2.call("other", "describe_images")
    assert [i["ImageId"] for i in theirs["Images"]] == [public]
    owned = await ec2.call("member", "describe_images", Owners=["self"])
    assert [i["ImageId"] for i in owned["Images"]] == [private]
    by_id = await ec2.call("member", "describe_images", ImageIds=[public])
    assert [i["Name"] for i in by_id["Images"]] == ["cirros"]
    named = await ec2.call("member", "describe_images",
                           Filters=[{"Name": "name", "Values": ["priv*"]}])
    assert [i["ImageId"] for i in named["Images"]] == [private]
    assert await ec2.error("other", "describe_images", ImageIds=[private]) == (
        "InvalidAMIID.NotFound", 400)
    assert await ec2.error("member", "describe_images", ImageIds=["ami-x"]) == (
        "InvalidAMIID.Malformed", 400)
    assert await ec2.error("member", "describe_images", DryRun=True) == (
        "DryRunOperation", 412)


@pytest_twisted.ensureDeferred
async def test_zones_of_the_compute_hosts(ec2: Ec2) -> None:
    """When a user lists zones it gets the compute hosts' zone, available, in the region."""
    zones = await ec2.call("reader", "describe_availability_zones")
    assert [(z["ZoneName"], z["State"], z["RegionName"]) for z in zones["AvailabilityZones"]
            ] == [("nova", "available", "RegionOne")]
    named = await ec2.call("member", "describe_availability_zones", ZoneNames=["nova"])
    assert len(named["AvailabilityZones"]) == 1
    filtered = await ec2.call("member", "describe_availability_zones",
                              Filters=[{"Name": "state", "Values": ["unavailable"]}])
    assert filtered["AvailabilityZones"] == []
    assert await ec2.error("member", "describe_availability_zones", ZoneNames=["mars"]) == (
        "InvalidParameterValue", 400)
