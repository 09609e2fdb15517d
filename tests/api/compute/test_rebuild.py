"""The ``rebuild`` server action: Nova's states, image checks, fields and policy.

Behind the API runs the real conductor (its state machine and writes, on the
test database); the compute host is a stand-in at our RPC boundary that
finishes the rebuild the way nova-compute reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred, ensureDeferred, succeed

from nova_ws.compute import power_state, states
from nova_ws.conductor import rpcapi
from nova_ws.conductor.manager import CONSOLE_REVOKE, ConductorManager
from nova_ws.db.engine import Database
from nova_ws.db.queries import images, instances, keypairs, quotas
from tests.api.compute.conftest import IMAGE, Api, boot, call

NEW_IMAGE = "22222222-3333-4444-5555-666666666666"
HOST = "host1"


@dataclass
class Cloudlet:
    """nova-api's WAMP caller: the real conductor's ``instance_action``; the compute
    host's ``rebuild_instance`` ends the instance as nova-compute would."""

    db: Database
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.conductor = ConductorManager(self.db, self, lambda *a, **k: None)

    def call(self, procedure: str, *args: Any, **kwargs: Any) -> Deferred[Any]:
        self.calls.append((procedure, args, kwargs))
        if procedure == rpcapi.INSTANCE_ACTION:
            return ensureDeferred(self.conductor.instance_action(*args, **kwargs))
        if procedure == f"nova.compute.{HOST}.rebuild_instance":
            stopped = kwargs["stopped"]
            return ensureDeferred(self.conductor.instance_update(args[0], {
                "vm_state": states.STOPPED if stopped else states.ACTIVE, "task_state": None,
                "power_state": power_state.SHUTDOWN if stopped else power_state.RUNNING},
                expected_task_state=[states.REBUILDING]))
        return succeed(None)

    def named(self, procedure: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for p, a, k in self.calls if p == procedure]


@pytest.fixture
def cloud(api: Api) -> Cloudlet:
    """The conductor behind the API, and a second public image."""
    cloudlet = Cloudlet(api.db)
    assert api.compute is not None
    api.compute.servers.client = cloudlet
    api.db.run(lambda s: images.create_image(s, name="fedora", uuid=NEW_IMAGE))
    return cloudlet


async def _server(api: Api, vm_state: str = "active", task_state: str | None = None,
                  host: str | None = HOST, who: str = "member") -> str:
    uuid = await boot(api, who=who, metadata={"old": "1"})
    await api.db.run(lambda s: instances.update_instance(
        s, uuid, vm_state=vm_state, task_state=task_state, host=host, power_state=1))
    return uuid


def _rebuild(image: str = NEW_IMAGE, **extra: Any) -> dict[str, Any]:
    return {"rebuild": {"imageRef": image, **extra}}


@pytest_twisted.ensureDeferred
async def test_rebuild_answers_the_server_with_its_new_image(api: Api, cloud: Cloudlet) -> None:
    """When a member rebuilds an active server with a new image, name, metadata and
    password, it is 202 with the server document (same id, new image, name and metadata,
    the password given); the console tokens are revoked and the host asked to rebuild."""
    uuid = await _server(api)
    answer = await call(api, "POST", f"/servers/{uuid}/action", _rebuild(
        name="vm-new", metadata={"new": "2"}, adminPass="s3cret", preserve_ephemeral=True))
    assert answer.code == 202, answer.body
    server = answer.body["server"]
    assert (server["id"], server["name"], server["metadata"], server["adminPass"]) == (
        uuid, "vm-new", {"new": "2"}, "s3cret")
    assert server["image"]["id"] == NEW_IMAGE and server["status"] == "ACTIVE"
    inst = await api.db.run(instances.get_instance, uuid)
    assert (inst.image_ref, inst.host, inst.display_name) == (NEW_IMAGE, HOST, "vm-new")
    [(args, kwargs)] = cloud.named(rpcapi.INSTANCE_ACTION)
    assert args == (uuid, "rebuild") and kwargs["rebuild"] == {
        "image_ref": NEW_IMAGE, "display_name": "vm-new", "metadata": {"new": "2"}}
    assert cloud.named(CONSOLE_REVOKE) == [((uuid, "instance rebuilt"), {})]
    [(args, kwargs)] = cloud.named(f"nova.compute.{HOST}.rebuild_instance")
    assert args[1]["image_ref"] == NEW_IMAGE and kwargs["stopped"] is False
    again = await call(api, "POST", f"/servers/{uuid}/action", _rebuild(IMAGE))
    assert again.code == 202 and again.body["server"]["adminPass"]  # one is made up
    assert again.body["server"]["metadata"] == {"new": "2"}  # kept when not given


@pytest.mark.parametrize("vm_state,ends", [("active", "ACTIVE"), ("stopped", "SHUTOFF"),
                                           ("error", "ACTIVE")])
@pytest_twisted.ensureDeferred
async def test_allowed_states(api: Api, cloud: Cloudlet, vm_state: str, ends: str) -> None:
    """When the server is ACTIVE, STOPPED or ERROR, a rebuild is accepted; a stopped one
    ends stopped (its host powers the new guest off)."""
    uuid = await _server(api, vm_state)
    answer = await call(api, "POST", f"/servers/{uuid}/action", _rebuild())
    assert answer.code == 202, answer.body
    assert answer.body["server"]["status"] == ends
    [(_, kwargs)] = cloud.named(f"nova.compute.{HOST}.rebuild_instance")
    assert kwargs["stopped"] is (vm_state == "stopped")


@pytest.mark.parametrize("vm_state,task_state,host,state_text", [
    ("paused", None, HOST, "vm_state paused"),
    ("suspended", None, HOST, "vm_state suspended"),
    ("building", "spawning", None, "vm_state building, task_state spawning"),
    ("active", "powering-off", HOST, "vm_state active, task_state powering-off"),
    ("error", None, None, "vm_state error"),  # never built: nothing to rebuild
])
@pytest_twisted.ensureDeferred
async def test_refused_states(api: Api, cloud: Cloudlet, vm_state: str, task_state: str | None,
                              host: str | None, state_text: str) -> None:
    """When the state does not allow a rebuild, it is 409 with Nova's message, even with an
    image that does not exist (the state is checked first), and nothing changes."""
    uuid = await _server(api, vm_state, task_state, host)
    for image in (NEW_IMAGE, "99999999-9999-4999-8999-999999999999"):
        answer = await call(api, "POST", f"/servers/{uuid}/action", _rebuild(image))
        assert answer.code == 409, answer.body
        assert answer.body["conflictingRequest"]["message"] == (
            f"Cannot 'rebuild' instance {uuid} while it is in {state_text}")
    inst = await api.db.run(instances.get_instance, uuid)
    assert (inst.image_ref, inst.task_state) == (IMAGE, task_state)
    assert cloud.named(rpcapi.INSTANCE_ACTION) == []


@pytest_twisted.ensureDeferred
async def test_conductor_refusal_is_409(api: Api, cloud: Cloudlet) -> None:
    """When the state changes between the API's look and the conductor's (a race), the
    conductor's refusal is the same 409 and nothing is written."""
    uuid = await _server(api)
    original = cloud.conductor.instance_action

    async def raced(*args: Any, **kwargs: Any) -> Any:
        await api.db.run(lambda s: instances.update_instance(s, uuid, vm_state="paused"))
        return await original(*args, **kwargs)

    cloud.conductor.instance_action = raced  # type: ignore[method-assign]
    answer = await call(api, "POST", f"/servers/{uuid}/action", _rebuild(name="x"))
    assert answer.code == 409
    assert answer.body["conflictingRequest"]["message"] == (
        f"Cannot 'rebuild' instance {uuid} while it is in vm_state paused")
    inst = await api.db.run(instances.get_instance, uuid)
    assert (inst.image_ref, inst.display_name) == (IMAGE, "vm")


@pytest_twisted.ensureDeferred
async def test_bad_images_are_400(api: Api, cloud: Cloudlet) -> None:
    """When the image is missing, someone else's private image, not active, or too big for
    the server's flavor, it is 400 with Nova's message; a malformed body is 400 too."""
    uuid = await _server(api)
    alt = api.projects["alt"]
    made = {
        "private": "33333333-0000-4000-8000-000000000001",
        "queued": "33333333-0000-4000-8000-000000000002",
        "big": "33333333-0000-4000-8000-000000000003",
    }

    def add(session: Any) -> None:
        images.create_image(session, name="theirs", uuid=made["private"],
                            visibility="private", owner=alt)
        images.create_image(session, name="queued", uuid=made["queued"], status="queued")
        images.create_image(session, name="big", uuid=made["big"], min_ram=999999)

    await api.db.run(add)
    for image, message in (
            ("99999999-9999-4999-8999-999999999999", "Cannot find image for rebuild"),
            (made["private"], "Cannot find image for rebuild"),
            (made["queued"], f"Image {made['queued']} is not active."),
            (made["big"], "Flavor's memory is too small for requested image.")):
        answer = await call(api, "POST", f"/servers/{uuid}/action", _rebuild(image))
        assert answer.code == 400, image
        assert answer.body["badRequest"]["message"] == message
    admin = await call(api, "POST", f"/servers/{uuid}/action", _rebuild(made["private"]),
                       who="admin")
    assert admin.code == 202, admin.body  # an admin sees every image, as in Nova
    body: Any
    for body in ({"rebuild": {}}, {"rebuild": {"imageRef": "cirros"}},
                 {"rebuild": {"imageRef": NEW_IMAGE, "bogus": 1}},
                 {"rebuild": {"imageRef": NEW_IMAGE, "name": ""}},
                 {"rebuild": None}):
        answer = await call(api, "POST", f"/servers/{uuid}/action", body)
        assert answer.code == 400, body
    inst = await api.db.run(instances.get_instance, uuid)
    assert inst.image_ref == made["private"]


@pytest_twisted.ensureDeferred
async def test_fields_by_microversion(api: Api, cloud: Cloudlet) -> None:
    """When description (2.19+), key_name (2.54+, null removes it) and hostname (2.90+) are
    given, they are set; before their microversion they are 400, as is an unknown key."""
    uuid = await _server(api)
    member = await api.db.run(lambda s: instances.get_instance(s, uuid).user_id)
    await api.db.run(lambda s: keypairs.create_keypair(
        s, user_id=member, name="k1", public_key="ssh-ed25519 AAAA k1", fingerprint="f"))
    path = f"/servers/{uuid}/action"
    for extra, version in (({"description": "d"}, "2.18"), ({"key_name": "k1"}, "2.53"),
                           ({"hostname": "h1"}, "2.89")):
        answer = await call(api, "POST", path, _rebuild(**extra), version=version)
        assert answer.code == 400, extra
    answer = await call(api, "POST", path, _rebuild(description="d", key_name="k1",
                                                    hostname="web-1"), version="2.90")
    assert answer.code == 202, answer.body
    server = answer.body["server"]
    assert (server["description"], server["key_name"], server["OS-EXT-SRV-ATTR:hostname"]) == (
        "d", "k1", "web-1")
    answer = await call(api, "POST", path, _rebuild(key_name=None), version="2.54")
    assert answer.code == 202 and answer.body["server"]["key_name"] is None
    answer = await call(api, "POST", path, _rebuild(key_name="nope"), version="2.54")
    assert answer.code == 400
    assert answer.body["badRequest"]["message"] == "Invalid key_name provided."


@pytest_twisted.ensureDeferred
async def test_policy(api: Api, cloud: Cloudlet) -> None:
    """When a reader rebuilds it is 403; another project's member, 404; an admin may rebuild
    a member's server; over the metadata quota it is 403."""
    uuid = await _server(api)
    path = f"/servers/{uuid}/action"
    assert (await call(api, "POST", path, _rebuild(), who="reader")).code == 403
    other = await call(api, "POST", path, _rebuild(), who="other")
    assert other.code == 404
    assert other.body["itemNotFound"]["message"] == f"Instance {uuid} could not be found."
    assert cloud.named(rpcapi.INSTANCE_ACTION) == []
    assert (await call(api, "POST", path, _rebuild(), who="admin")).code == 202
    await api.db.run(lambda s: quotas.set_project_quotas(s, api.projects["demo"],
                                                         {"metadata_items": 1}))
    answer = await call(api, "POST", path, _rebuild(metadata={"a": "1", "b": "2"}))
    assert answer.code == 403
    assert answer.body["forbidden"]["message"] == "Maximum number of metadata items exceeds 1"
