"""
Bad input never earns a 5xx: every action, signed correctly, with
parameters drawn at random (seeded, so a failure repeats) from the names
it reads and from values that are wrong in every way.
"""

from __future__ import annotations

import random
from urllib.parse import urlencode

import pytest_twisted

from nova_ws.api.ec2 import ids
from tests.api.ec2.conftest import IMAGE, Ec2, send

ACTIONS = ("DescribeInstances", "RunInstances", "TerminateInstances", "StartInstances",
           "StopInstances", "RebootInstances", "DescribeImages",
           "DescribeAvailabilityZones", "GetConsoleOutput")
NAMES = ("InstanceId", "InstanceId.1", "InstanceId.2", "InstanceId.0", "InstanceId.x",
         "ImageId", "ImageId.1", "InstanceType", "MinCount", "MaxCount", "KeyName",
         "Placement.AvailabilityZone", "UserData", "DryRun", "MaxResults", "NextToken",
         "Filter.1.Name", "Filter.1.Value.1", "Filter.2.Value.1", "Owner.1", "ZoneName.1",
         "TagSpecification.1.ResourceType", "TagSpecification.1.Tag.1.Key",
         "TagSpecification.1.Tag.1.Value", "Latest", "Version", "ExecutableBy.1")
VALUES = ("", " ", "0", "1", "-1", "99999999999", "true", "TRUE", "maybe", "i-", "i-1",
          "i-0123456789abcdef0", "ami-0123456789abcdef0", ids.image_id(IMAGE), "m1.tiny",
          "instance", "volume", "self", "nova", "*", "?", "\\", "tag:x", "instance-state-name",
          "é\u202e\U0001f600", "\x00\x01", "<x/>&amp;", "a" * 3000, "=&=", "%", "aGk=")


@pytest_twisted.ensureDeferred
async def test_random_parameters_never_fail_the_server(ec2: Ec2) -> None:
    """When any action gets any of these parameters, the answer is XML with a status below 500."""
    rng = random.Random(20261127)
    answered = set()
    for _ in range(200):
        action = rng.choice(ACTIONS)
        params = {name: rng.choice(VALUES) for name in rng.sample(NAMES, rng.randint(0, 6))}
        body = urlencode({"Action": action, **params}).encode()
        answer = await send(ec2, rng.choice(["member", "reader"]), body, operation=action)
        assert answer.code < 500, (action, params, answer.parsed)
        answered.add(answer.code)
    assert 200 in answered and 400 in answered
