"""The dashboard's console tabs on a real QEMU guest: VNC and SPICE.

The all-in-one runs with ``compute_driver = libvirt`` against a private
libvirtd (:class:`nova_ws.testing.libvirtd.LibvirtDaemon`), so the server a
person launches from the dashboard is a KVM (or QEMU) guest with a VNC and
a SPICE display. Its console tab shows noVNC on the guest's VNC server and
spice-html5 on its SPICE server, both through the product's proxies, and
says so when the guest is deleted. Screenshots stay in ``tmp_path``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest
import pytest_twisted

from nova_ws.testing.allinone import AllInOne, running_allinone
from nova_ws.testing.libvirtd import LibvirtDaemon
from tests.console.test_browser import eventually
from tests.web import test_browser
from tests.web.test_browser import Rest, log_in, row

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: The dashboard tests' fixture: pages in Debian's Chromium, one per person.
people = test_browser.people

SERVICES = ("nova-api", "nova-conductor", "nova-scheduler", "nova-compute",
            "nova-consoleauth", "nova-novncproxy", "nova-spicehtml5proxy")

#: Whether noVNC's canvas in a frame shows something other than one flat colour.
CANVAS_HAS_PICTURE = """(selector) => {
    const canvas = document.querySelector(selector);
    if (!canvas || !canvas.width || !canvas.height) { return false; }
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 4; i < data.length; i += 4) {
        if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) {
            return true;
        }
    }
    return false;
}"""


@pytest.fixture(scope="module")
def libvirtd() -> Iterator[LibvirtDaemon]:
    """This module's private libvirtd."""
    with LibvirtDaemon() as daemon:
        yield daemon


@pytest_twisted.async_yield_fixture
async def cloud(tmp_path: Path, libvirtd: LibvirtDaemon) -> AsyncIterator[AllInOne]:
    """The all-in-one, its compute host running libvirt guests with VNC and SPICE."""
    state = tmp_path / "state"
    state.mkdir()
    async with running_allinone(state, SERVICES, options={
            "DEFAULT": {"compute_driver": "libvirt"},
            "libvirt": {"connection_uri": libvirtd.uri},
            "spice": {"enabled": "true"}}) as aio:
        yield aio


def _domains(uri: str) -> list[str]:
    conn = libvirt.open(uri)
    try:
        return [d.UUIDString() for d in conn.listAllDomains()]
    finally:
        conn.close()


@pytest_twisted.ensureDeferred
async def test_vnc_and_spice_tabs_show_a_real_guest(
        cloud: AllInOne, libvirtd: LibvirtDaemon, people: Any, tmp_path: Path) -> None:
    """When a person opens a QEMU guest's console, VNC and SPICE both show its screen."""
    demo = await people("demo")
    await log_in(demo, cloud.api, "demo", cloud.credentials.demo_password, "demo")
    await demo.call("click", "#launch")
    await demo.call("fill", "#launch-form input[name=name]", "qemu")
    await demo.call("click", "#launch-form button[type=submit]")
    await demo.call("wait_for_selector", "#launch-dialog[data-done=active]")
    await demo.call("click", "#launch-dialog button:text('Close')")
    rest = await Rest.login(cloud.api, "demo", cloud.credentials.demo_password, "demo")
    code, listed = await rest.request("GET", "/compute/v2.1/servers")
    assert code == 200, listed
    (uuid,) = [s["id"] for s in listed["servers"]]
    assert _domains(libvirtd.uri) == [uuid]  # a real guest under libvirt

    # VNC: noVNC on QEMU's VNC server, through nova-novncproxy
    await demo.call("click", f"{row(uuid)} [data-action=console]")
    await demo.call("wait_for_selector", "#console-frame[data-type=novnc]")
    frame = await demo.run(lambda: demo.page.query_selector("#console-frame").content_frame())
    await demo.run(frame.wait_for_selector, "html[data-state=connected]")
    await demo.run(frame.wait_for_function, CANVAS_HAS_PICTURE, arg="#screen canvas")
    await demo.call("wait_for_selector", "#console-cad:enabled")
    await demo.shot(tmp_path / "1-vnc.png")

    # SPICE: spice-html5 on QEMU's SPICE server, through nova-spicehtml5proxy
    await demo.call("check", "input[name=console-type][value=spice-html5]")
    await demo.call("wait_for_selector", "#console-frame[data-type=spice-html5]")
    assert await demo.call("is_disabled", "#console-cad")  # noVNC's alone
    spice = await demo.run(lambda: demo.page.query_selector("#console-frame").content_frame())
    await demo.run(spice.wait_for_selector, "#spice-screen canvas")
    await demo.run(spice.wait_for_function, CANVAS_HAS_PICTURE, arg="#spice-screen canvas")
    errors = await demo.run(spice.eval_on_selector_all, "#message-div .spice-message-error",
                            "nodes => nodes.map(n => n.textContent)")
    assert errors == []
    proxy = cloud.service.getServiceNamed("nova-spicehtml5proxy").factory
    assert proxy.metrics.channels_joined >= 2  # display, inputs... joined the main channel
    assert dict(proxy.metrics.refusals) == {}
    await demo.shot(tmp_path / "2-spice.png")

    # deleting the guest closes the console with the reason, and libvirt has no guest left
    await demo.call("click", "#server-actions button[data-action=delete]")
    await demo.call("wait_for_selector", "#confirm[open]")
    await demo.call("click", "#confirm-ok")
    await demo.call("wait_for_selector", "#console-status[data-state=closed]")
    assert await demo.call("text_content", "#console-status") == "Console closed: instance deleted"
    await eventually(lambda: _domains(libvirtd.uri) == [], "the guest is gone from libvirt")
    assert demo.problems() == []
