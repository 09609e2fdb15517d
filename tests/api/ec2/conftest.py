"""
Fixtures: the EC2 API on a real port over a whole small cloud (router,
conductor, scheduler and a fake compute host, all through WAMP), with EC2
credentials for an admin, a member and a reader of the demo project and a
member of another project; boto3 drives it from a worker thread, so the
reactor keeps serving while a call blocks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import botocore.session
import pytest_twisted
import treq
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.web.server import Site

from nova_ws.allinone.identities import with_identities
from nova_ws.api.compute.app import ComputeApi
from nova_ws.api.ec2 import Ec2Api
from nova_ws.api.identity import IdentityApi
from nova_ws.api.identity.credential_keys import CredentialKeys
from nova_ws.api.root import ApiRoot
from nova_ws.db.queries import identity, images
from nova_ws.router.auth.wampcra import WampCraAuthenticator
from nova_ws.testing.cloud import Cloud, start_cloud, stop_cloud
from nova_ws.wamp.client import ServiceClient

IMAGE = "11111111-2222-3333-4444-555555555555"
PRIVATE_IMAGE = "66666666-7777-4888-9999-000000000000"
#: One botocore session for every client: the EC2 model is loaded once.
BOTOCORE = botocore.session.get_session()
MODEL = BOTOCORE.get_service_model("ec2")


@dataclass
class Ec2:
    """The EC2 endpoint, the cloud under it and an access key per persona."""

    cloud: Cloud
    url: str
    api: Ec2Api
    keys: CredentialKeys
    credentials: dict[str, tuple[str, str]]
    projects: dict[str, str]
    users: dict[str, str]
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, who: str = "member") -> Any:
        """A boto3 EC2 client signing as *who* (an unknown *who* is an unknown key)."""
        key = self.credentials.get(who, (who, "x" * 64))
        if key not in self.clients:
            self.clients[key] = BOTOCORE.create_client(
                "ec2", region_name="RegionOne", endpoint_url=self.url,
                aws_access_key_id=key[0], aws_secret_access_key=key[1],
                config=Config(retries={"max_attempts": 1}, read_timeout=120))
        return self.clients[key]

    async def call(self, who: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One boto3 call as *who*, in a thread; its parsed answer."""
        method = getattr(self.client(who), operation)
        result: dict[str, Any] = await deferToThread(partial(method, **kwargs))
        return result

    async def error(self, who: str, operation: str, **kwargs: Any) -> tuple[str, int]:
        """The error code and HTTP status boto3 reports for a call that must fail."""
        try:
            await self.call(who, operation, **kwargs)
        except ClientError as exc:
            return (exc.response["Error"]["Code"],
                    exc.response["ResponseMetadata"]["HTTPStatusCode"])
        raise AssertionError(f"{operation} {kwargs} succeeded")

    async def states(self, who: str, instance_ids: list[str]) -> dict[str, str]:
        """Each instance's EC2 state name."""
        answer = await self.call(who, "describe_instances", InstanceIds=instance_ids)
        return {i["InstanceId"]: i["State"]["Name"]
                for r in answer["Reservations"] for i in r["Instances"]}

    async def wait(self, who: str, instance_ids: list[str], state: str) -> None:
        """Poll until every instance is in *state* (bounded by the test's own timeout)."""
        from twisted.internet import reactor

        while set((await self.states(who, instance_ids)).values()) != {state}:
            d: Deferred[None] = Deferred()
            reactor.callLater(0.05, d.callback, None)
            await d


def _people(session: Any, keys: CredentialKeys) -> tuple[dict[str, tuple[str, str]],
                                                         dict[str, str], dict[str, str]]:
    boot = identity.bootstrap(session, admin_password="a", demo_password="d")
    assert boot.demo_project is not None and boot.demo_user is not None
    reader = identity.create_user(session, name="reader", password="r")
    identity.assign_role(session, reader.id, boot.demo_project.id,
                         identity.find_role(session, "reader").id)
    alt = identity.create_project(session, name="alt")
    other = identity.create_user(session, name="other", password="o")
    identity.assign_role(session, other.id, alt.id, identity.find_role(session, "member").id)
    users = {"admin": (boot.admin_user.id, boot.admin_project.id),
             "member": (boot.demo_user.id, boot.demo_project.id),
             "reader": (reader.id, boot.demo_project.id), "other": (other.id, alt.id)}
    credentials = {}
    for who, (user_id, project_id) in users.items():
        cred = identity.create_ec2_credential(session, user_id, project_id, codec=keys)
        assert cred.secret is not None
        credentials[who] = (cred.access, cred.secret)
    images.create_image(session, name="cirros", uuid=IMAGE, min_disk=1,
                        properties={"architecture": "x86_64"})
    images.create_image(session, name="private", uuid=PRIVATE_IMAGE, visibility="private",
                        owner=boot.demo_project.id)
    return (credentials, {who: project for who, (_, project) in users.items()},
            {who: user for who, (user, _) in users.items()})


async def _api_client(cloud: Cloud) -> ServiceClient:
    """Teach the running router an api identity and join with it, as nova-api does."""
    from twisted.internet import reactor

    router_config, configs = with_identities(cloud.config, ["nova-api"])
    principals = {**cloud.router.config.router_wampcra, **router_config.router_wampcra}
    cloud.router.router.authenticators["wampcra"] = WampCraAuthenticator(principals)
    url = f"ws://127.0.0.1:{cloud.router.port('websocket')}/ws"
    client = ServiceClient(replace(configs["nova-api"].wamp, url=url), reactor)
    client.startService()
    await client.when_joined()
    return client


@pytest_twisted.async_yield_fixture
async def ec2(tmp_path: Path) -> AsyncIterator[Ec2]:
    """The cloud with one fake host, and nova-api's Compute, Identity and EC2 APIs."""
    from twisted.internet import reactor

    cloud = await start_cloud(tmp_path, 1)
    client = await _api_client(cloud)
    keys = CredentialKeys.load_or_create(tmp_path / "credential-keys")
    credentials, projects, users = await cloud.db().run(_people, keys)
    public = "http://127.0.0.1"
    compute = ComputeApi(public, db=cloud.db(), client=client)
    api = Ec2Api(cloud.db(), compute, reactor, codec=keys)
    root = ApiRoot(compute, identity=IdentityApi(cloud.db(), reactor, public_url=public,
                                                 codec=keys), ec2=api)
    site: Any = Site(root.resource())
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    url = f"http://127.0.0.1:{port.getHost().port}"  # type: ignore[attr-defined]
    try:
        yield Ec2(cloud, url + "/ec2", api, keys, credentials, projects, users)
    finally:
        stopping: Any = port.stopListening()
        await stopping
        await client.stopService()
        await stop_cloud(cloud)


@dataclass(frozen=True)
class Answer:
    """A raw answer: status and what boto3's parser makes of the body."""

    code: int
    parsed: dict[str, Any]


async def send(ec2: Ec2, who: str | None, body: bytes | None, *, method: str = "POST",
               query: dict[str, str] | None = None, path: str = "/ec2",
               presign: bool = False, operation: str = "DescribeInstances") -> Answer:
    """Send a request signed by botocore as *who* (unsigned if None), parse the answer."""
    url = ec2.url.removesuffix("/ec2") + path + (f"?{urlencode(query)}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"} if body else {})
    if who is not None:
        credentials = Credentials(*ec2.credentials[who])
        signer = (SigV4QueryAuth(credentials, "ec2", "RegionOne") if presign
                  else SigV4Auth(credentials, "ec2", "RegionOne"))
        signer.add_auth(request)
    prepared = request.prepare()
    response = await treq.request(method, prepared.url, data=prepared.body,
                                  headers={k: [v] for k, v in prepared.headers.items()
                                           if k.lower() != "content-length"})
    content = await response.content()
    assert response.headers.getRawHeaders("Content-Type") == ["text/xml;charset=UTF-8"]
    parsed = create_parser("ec2").parse(
        {"body": content, "status_code": response.code, "headers": {}},
        MODEL.operation_model(operation).output_shape)
    return Answer(response.code, parsed)
