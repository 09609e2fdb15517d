"""Rebuild through a real router: conductor, compute host, fake driver, consoleauth.

The in-process cloud (``nova_ws.testing.cloud``) rebuilds through the
conductor's ``instance_action`` as nova-api asks it to: the state machine,
the console revocation, the compute host's destroy-and-spawn, the states
published on the way, the instance action record, and what a failure or a
refused state leaves. The all-in-one then shows the browser's side: an open
console closes with the reason, and a new one shows the rebuilt guest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError

from nova_ws.compute import power_state
from nova_ws.console.proxy import CloseCode
from nova_ws.db.queries import actions, images, instances
from nova_ws.testing.allinone import running_allinone
from nova_ws.testing.cloud import Cloud, create_rows, start_cloud, stop_cloud, wait_settled
from tests.console.support import open_browser
from tests.integration.test_console_flow import Client, _active_server, _token, _token_of

pytestmark = pytest.mark.integration

OLD_IMAGE = "aaaaaaaa-0000-4000-8000-000000000001"
NEW_IMAGE = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest_twisted.async_yield_fixture
async def cloud(tmp_path: Path) -> AsyncIterator[Cloud]:
    """A router, conductor, scheduler, consoleauth and one fake host."""
    c = await start_cloud(tmp_path, 1, consoleauth=True)
    try:
        yield c
    finally:
        await stop_cloud(c)


async def _server(cloud: Cloud) -> str:
    [uuid] = await create_rows(cloud, 1)
    await cloud.db().run(lambda s: instances.update_instance(s, uuid, image_ref=OLD_IMAGE))
    await cloud.db().run(lambda s: instances.set_instance_metadata(s, uuid, {"old": "1"}))
    await wait_settled(cloud, [uuid])
    return uuid


async def _rebuild(cloud: Cloud, uuid: str, **changes: Any) -> dict[str, Any]:
    view: dict[str, Any] = await cloud.admin.call(
        "nova.conductor.instance_action", uuid, "rebuild", request_id="req-rebuild",
        rebuild={"image_ref": NEW_IMAGE, **changes})
    return view


@pytest_twisted.ensureDeferred
async def test_rebuild_respawns_the_guest_from_the_new_image(cloud: Cloud) -> None:
    """When an active server is rebuilt, its console tokens are revoked ("instance rebuilt")
    first, the states go rebuilding -> rebuild_spawning -> active, pushed live; it keeps its
    uuid, host and flavor, takes the new image, name and metadata, and its host runs a
    fresh guest booted from the new image; the action and its event are recorded."""
    uuid = await _server(cloud)
    before = await cloud.db().run(instances.get_instance, uuid)
    token = await cloud.admin.call("nova.consoleauth.authorize", uuid, "novnc",
                                   user_id="u1", project_id="p-test")
    seen: list[tuple[str, Any]] = []
    await cloud.admin.subscribe(lambda v: seen.append(("state", v["task_state"])),
                                "nova.project.p-test.instance")
    await cloud.admin.subscribe(lambda e: seen.append(("revoked", e["reason"])),
                                "nova.consoleauth.revoked")
    compute = cloud.computes[0]
    old_guest = compute.driver.guests[uuid]  # type: ignore[attr-defined]

    view = await _rebuild(cloud, uuid, display_name="vm0-rebuilt", metadata={"new": "2"})

    assert (view["vm_state"], view["task_state"], view["power_state"]) == (
        "active", None, power_state.RUNNING)
    await cloud.admin.call("nova.conductor.service_list")  # events delivered before this
    assert [task for kind, task in seen if kind == "state"] == [
        "rebuilding", "rebuild_spawning", None]
    # the conductor's revocation comes before the host starts on the guest (consoleauth
    # also revokes on the events it hears, with the same reason)
    assert seen.index(("revoked", "instance rebuilt")) < seen.index(
        ("state", "rebuild_spawning"))
    assert {reason for kind, reason in seen if kind == "revoked"} == {"instance rebuilt"}
    after = await cloud.db().run(instances.get_instance, uuid)
    assert (after.uuid, after.host, after.node, after.flavor) == (
        before.uuid, before.host, before.node, before.flavor)
    assert (after.image_ref, after.display_name, after.metadata) == (
        NEW_IMAGE, "vm0-rebuilt", {"new": "2"})
    assert after.launched_at is not None and before.launched_at is not None
    assert after.launched_at >= before.launched_at
    guest = compute.driver.guests[uuid]  # type: ignore[attr-defined]
    assert guest is not old_guest and f"Image {NEW_IMAGE}" in guest.output
    assert guest.spec.name == "vm0-rebuilt"
    with pytest.raises(ApplicationError) as err:
        await cloud.admin.call("nova.consoleauth.validate", token["token"], "novnc")
    assert err.value.error == "nova.error.console_token_invalid"
    [rebuild] = [a for a in await cloud.db().run(actions.list_actions, uuid)
                 if a.action == "rebuild"]
    assert rebuild.request_id == "req-rebuild" and rebuild.finish_time is not None
    assert [(e.event, e.result) for e in rebuild.events] == [
        ("compute_rebuild_instance", "Success")]


@pytest_twisted.ensureDeferred
async def test_stopped_server_is_rebuilt_stopped(cloud: Cloud) -> None:
    """When a stopped server is rebuilt, it ends stopped again with its guest SHUTDOWN."""
    uuid = await _server(cloud)
    await cloud.admin.call("nova.conductor.instance_action", uuid, "stop")
    view = await _rebuild(cloud, uuid)
    assert (view["vm_state"], view["task_state"], view["power_state"]) == (
        "stopped", None, power_state.SHUTDOWN)
    guest = cloud.computes[0].driver.guests[uuid]  # type: ignore[attr-defined]
    assert guest.state == power_state.SHUTDOWN and f"Image {NEW_IMAGE}" in guest.output


@pytest_twisted.ensureDeferred
async def test_refused_rebuild_changes_nothing(cloud: Cloud) -> None:
    """When the state does not allow a rebuild (paused), it is refused with Nova's message and
    neither the image, the name nor the metadata change."""
    uuid = await _server(cloud)
    await cloud.admin.call("nova.conductor.instance_action", uuid, "pause")
    with pytest.raises(ApplicationError) as err:
        await _rebuild(cloud, uuid, display_name="nope", metadata={})
    assert err.value.error == "nova.error.instance_invalid_state"
    assert err.value.args[0] == "Cannot 'rebuild' instance while it is in vm_state paused"
    inst = await cloud.db().run(instances.get_instance, uuid)
    assert (inst.image_ref, inst.display_name, inst.metadata, inst.task_state) == (
        OLD_IMAGE, "vm0", {"old": "1"}, None)


@pytest_twisted.ensureDeferred
async def test_failed_rebuild_is_error_and_error_can_be_rebuilt(cloud: Cloud) -> None:
    """When the host cannot spawn the new guest, the server goes to ERROR (the action records
    why); a server in ERROR may be rebuilt, and then it is active again."""
    uuid = await _server(cloud)
    driver: Any = cloud.computes[0].driver
    driver.fail_on["spawn"] = "no space left on device"
    view = await _rebuild(cloud, uuid)
    assert (view["vm_state"], view["task_state"]) == ("error", None)
    assert uuid not in driver.guests
    [failed] = [a for a in await cloud.db().run(actions.list_actions, uuid)
                if a.action == "rebuild"]
    assert failed.message is not None and "no space left" in failed.message
    assert [(e.event, e.result) for e in failed.events] == [
        ("compute_rebuild_instance", "Error")]
    del driver.fail_on["spawn"]
    view = await cloud.admin.call("nova.conductor.instance_action", uuid, "rebuild",
                                  rebuild={"image_ref": OLD_IMAGE})
    assert (view["vm_state"], view["task_state"], view["image_ref"]) == (
        "active", None, OLD_IMAGE)
    assert uuid in driver.guests


@pytest_twisted.ensureDeferred
async def test_console_closes_on_rebuild_and_reopens_on_the_new_guest(tmp_path: Path) -> None:
    """When a server whose console is open in a browser is rebuilt through the API, the proxy
    closes that console with "instance rebuilt"; a new console URL reaches the new guest."""
    from twisted.internet import reactor

    joined = ("nova-api", "nova-conductor", "nova-consoleauth", "nova-novncproxy")
    async with running_allinone(tmp_path, joined) as aio:
        proxy_port = aio.service.getServiceNamed("nova-novncproxy").http.port.getHost().port
        demo = Client(aio.api, await _token(aio.api, "demo", aio.credentials.demo_password,
                                            "demo"))
        uuid = await _active_server(reactor, demo, aio.api)
        console_body = {"remote_console": {"protocol": "vnc", "type": "novnc"}}
        code, body = await demo.request("POST", f"/servers/{uuid}/remote-consoles",
                                        console_body)
        assert code == 200, body
        browser = await open_browser(reactor, proxy_port, _token_of(body["remote_console"]["url"]))
        assert await browser.read(reactor, 12) == b"RFB 003.008\n"

        image = await aio.service.getServiceNamed("nova-conductor").db.run(
            lambda s: images.create_image(s, name="other", uuid=NEW_IMAGE))
        code, body = await demo.request("POST", f"/servers/{uuid}/action",
                                        {"rebuild": {"imageRef": image.uuid}})
        assert code == 202, body
        assert body["server"]["image"]["id"] == NEW_IMAGE and body["server"]["adminPass"]
        assert await browser.closed == (CloseCode.REVOKED, "instance rebuilt")

        code, body = await demo.request("POST", f"/servers/{uuid}/remote-consoles",
                                        console_body)
        assert code == 200, body
        again = await open_browser(reactor, proxy_port, _token_of(body["remote_console"]["url"]))
        assert await again.read(reactor, 12) == b"RFB 003.008\n"
        guest = aio.service.getServiceNamed("nova-compute").driver.guests[uuid]
        assert f"Image {NEW_IMAGE}" in guest.console.text()
        again.sendClose()
