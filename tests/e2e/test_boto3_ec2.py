"""boto3, unchanged, against a running all-in-one's EC2 API.

The all-in-one runs in the test's reactor on free ports; the demo user makes
EC2 credentials with the real ``openstack ec2 credentials create`` (Identity's
OS-EC2 API), and boto3 runs in a worker thread (its calls block); boto3's
own waiters watch the instance move through EC2's states.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import pytest
import pytest_twisted
from botocore.config import Config
from botocore.exceptions import ClientError
from twisted.internet.threads import deferToThread
from twisted.internet.utils import getProcessOutputAndValue

from nova_ws.testing.allinone import AllInOne, start_allinone

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WAIT = {"Delay": 0.2, "MaxAttempts": 600}
OPENSTACK = str(Path(sys.executable).with_name("openstack"))


async def _credentials(aio: AllInOne) -> dict[str, str]:
    """EC2 credentials of the demo user, from `openstack ec2 credentials create`."""
    from twisted.internet import reactor

    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(aio.config.default.state_path),
           "OS_AUTH_URL": aio.credentials.auth_url, "OS_USERNAME": "demo",
           "OS_PASSWORD": aio.credentials.demo_password, "OS_PROJECT_NAME": "demo",
           "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
           "OS_IDENTITY_API_VERSION": "3", "OS_REGION_NAME": "RegionOne"}
    out, err, code = await getProcessOutputAndValue(
        OPENSTACK, ["ec2", "credentials", "create", "-f", "json"], env=env, reactor=reactor)
    assert code == 0, err.decode()
    made: dict[str, str] = json.loads(out)
    return made


@pytest_twisted.ensureDeferred
async def test_boto3_drives_the_ec2_api(tmp_path: Path) -> None:
    """
    When a user points boto3 at /ec2 with its EC2 credentials, it lists
    zones and images, runs an instance, reads its console, stops, starts,
    reboots and terminates it; a wrong secret is SignatureDoesNotMatch.
    """
    aio = start_allinone(tmp_path)
    try:
        for name in ("nova-api", "nova-conductor", "nova-scheduler", "nova-compute"):
            await aio.service.getServiceNamed(name).client.when_joined()
        cred = await _credentials(aio)
        ec2 = boto3.client("ec2", endpoint_url=f"{aio.api}/ec2", region_name="RegionOne",
                           aws_access_key_id=cred["access"],
                           aws_secret_access_key=cred["secret"],
                           config=Config(retries={"max_attempts": 1}))

        async def call(operation: str, **kwargs: Any) -> Any:
            return await deferToThread(partial(getattr(ec2, operation), **kwargs))

        async def wait(waiter: str, instance: str) -> None:
            await deferToThread(partial(ec2.get_waiter(waiter).wait,
                                        InstanceIds=[instance], WaiterConfig=WAIT))

        zones = await call("describe_availability_zones")
        assert "nova" in {z["ZoneName"] for z in zones["AvailabilityZones"]}
        images = await call("describe_images", Filters=[{"Name": "name",
                                                          "Values": ["cirros"]}])
        [image] = images["Images"]
        assert image["ImageId"].startswith("ami-") and image["State"] == "available"

        run = await call("run_instances", ImageId=image["ImageId"], InstanceType="m1.tiny",
                         MinCount=1, MaxCount=1, TagSpecifications=[{
                             "ResourceType": "instance",
                             "Tags": [{"Key": "Name", "Value": "boto3-vm"}]}])
        [instance] = [i["InstanceId"] for i in run["Instances"]]
        await wait("instance_running", instance)
        found = await call("describe_instances", Filters=[{"Name": "tag:Name",
                                                           "Values": ["boto3-vm"]}])
        assert found["Reservations"][0]["Instances"][0]["InstanceId"] == instance
        console = await call("get_console_output", InstanceId=instance)
        assert "boto3-vm" in console["Output"]  # base64 on the wire; botocore decodes it

        await call("stop_instances", InstanceIds=[instance])
        await wait("instance_stopped", instance)
        await call("start_instances", InstanceIds=[instance])
        await wait("instance_running", instance)
        await call("reboot_instances", InstanceIds=[instance])
        await wait("instance_running", instance)
        await call("terminate_instances", InstanceIds=[instance])
        await wait("instance_terminated", instance)

        with pytest.raises(ClientError) as info:
            await call("describe_instances", InstanceIds=["i-0123456789abcdef0"])
        assert info.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
        stranger = boto3.client("ec2", endpoint_url=f"{aio.api}/ec2", region_name="RegionOne",
                                aws_access_key_id=cred["access"],
                                aws_secret_access_key="0" * 64)
        with pytest.raises(ClientError) as info:
            await deferToThread(stranger.describe_instances)
        assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"

        with closing(sqlite3.connect(tmp_path / "nova.sqlite")) as db:
            [(stored,)] = db.execute("SELECT secret FROM identity_ec2_credentials")
        assert stored.startswith("fernet:") and cred["secret"] not in stored
        assert (tmp_path / "credential-keys" / "0").is_file()
    finally:
        await aio.service.stopService()
