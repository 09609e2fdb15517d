"""The dashboard in headless Chromium against a real all-in-one.

Everything is real: nova-api serves the page, people log in with Identity
v3, the page joins the WAMP router with its token and follows its
project's instance events; the fake driver's guests draw their screens on
real VNC servers behind nova-novncproxy. Playwright's sync API drives
Debian's Chromium on its own thread (``tests.console.test_browser``).
Screenshots are kept in each test's ``tmp_path``.

Nothing here waits for a time to pass: every wait is for something the page
shows, and fails (after a generous limit) if it never shows.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import treq
from PIL import Image

from nova_ws.compute.drivers.fake.rfb.screen import CTRL_ALT_DEL_LINE
from nova_ws.testing.allinone import AllInOne, identity_token, running_allinone
from tests.console.test_browser import CANVAS_RGB, Chromium, eventually

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = ("nova-api", "nova-conductor", "nova-scheduler", "nova-compute",
            "nova-consoleauth", "nova-novncproxy", "nova-serialproxy")

#: Counts rows ever added to the servers table of a page (a MutationObserver).
WATCH_ROWS = """() => {
    window.rowsSeen = 0;
    new MutationObserver((records) => {
        for (const r of records) {
            for (const node of r.addedNodes) {
                if (node.nodeName === 'TR' && node.closest && node.closest('#servers tbody')) {
                    window.rowsSeen += 1;
                }
            }
        }
    }).observe(document.body, {childList: true, subtree: true});
}"""


@dataclass
class Person:
    """One person's page (own browser context) and what the page reported."""

    chromium: Chromium
    page: Any
    name: str
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``page.<method>(...)`` on the browser thread, as a Deferred."""
        return self.chromium.thread.call(getattr(self.page, method), *args, **kwargs)

    def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Any browser call (frames, locators, keyboard) on the browser thread."""
        return self.chromium.thread.call(fn, *args, **kwargs)

    async def shot(self, path: Path) -> None:
        await self.call("screenshot", path=str(path), full_page=True)

    def problems(self) -> list[str]:
        """Script errors and Content-Security-Policy violations the page reported."""
        return self.errors + [c for c in self.console if "Content Security Policy" in c]


@pytest_twisted.async_yield_fixture
async def people(chromium: Chromium) -> AsyncIterator[Any]:
    """Opens pages for people; closes them after the test."""
    opened: list[Person] = []

    async def open_page(name: str, width: int = 1200, height: int = 900) -> Person:
        def make() -> Any:
            context = chromium.browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.set_default_timeout(20_000)
            return page

        page = await chromium.thread.call(make)
        person = Person(chromium, page, name)
        page.on("console", lambda m: person.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: person.errors.append(str(e)))
        opened.append(person)
        return person

    yield open_page
    for person in opened:
        await chromium.thread.call(person.page.context.close)


@pytest_twisted.async_yield_fixture
async def cloud(tmp_path: Path) -> AsyncIterator[AllInOne]:
    """The all-in-one on free ports, every service joined to the router."""
    state = tmp_path / "state"
    state.mkdir()
    async with running_allinone(state, SERVICES) as aio:
        yield aio


class Rest:
    """The APIs as one person, outside the browser (to act behind the page's back)."""

    def __init__(self, api: str, token: str) -> None:
        self.api = api
        self.headers = {"X-Auth-Token": [token], "Content-Type": ["application/json"],
                        "OpenStack-API-Version": ["compute 2.79"]}

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        response = await treq.request(method, self.api + path, data=data, headers=self.headers)
        text = await response.text()
        return response.code, (json.loads(text) if text else None)

    @classmethod
    async def login(cls, api: str, user: str, password: str, project: str) -> Rest:
        return cls(api, (await identity_token(api, user, password, project))[0])


async def _another_project(aio: AllInOne) -> tuple[str, str]:
    """A project "other" with a member "olga": (user, password)."""
    admin = await Rest.login(aio.api, "admin", aio.credentials.admin_password, "admin")
    code, project = await admin.request("POST", "/identity/v3/projects",
                                        {"project": {"name": "other"}})
    assert code == 201, project
    code, user = await admin.request("POST", "/identity/v3/users", {"user": {
        "name": "olga", "password": "olga-secret", "default_project_id":
        project["project"]["id"]}})
    assert code == 201, user
    code, roles = await admin.request("GET", "/identity/v3/roles?name=member")
    assert code == 200 and roles["roles"], roles
    code, _ = await admin.request(
        "PUT", f"/identity/v3/projects/{project['project']['id']}/users/"
        f"{user['user']['id']}/roles/{roles['roles'][0]['id']}")
    assert code == 204
    return "olga", "olga-secret"


async def log_in(person: Person, api: str, user: str, password: str, project: str) -> None:
    """Open the dashboard and log in; wait until its live connection is up."""
    await person.call("goto", f"{api}/")
    await person.call("fill", "#login input[name=user]", user)
    await person.call("fill", "#login input[name=password]", password)
    await person.call("fill", "#login input[name=project]", project)
    await person.call("click", "#login button[type=submit]")
    await person.call("wait_for_selector", "#live[data-state=live]")
    await person.call("wait_for_selector", "#servers")


def row(uuid: str, status: str | None = None) -> str:
    """The servers table's row of a server (optionally: in that status)."""
    return f"#servers tr[data-id='{uuid}']" + (f"[data-status={status}]" if status else "")


async def canvas_matches(person: Person, frame: Any, guest: Any) -> None:
    """Wait until noVNC's canvas in the console frame is the guest's screen, pixel for pixel."""
    expected = base64.b64encode(guest.framebuffer.rgb_bytes()).decode()
    try:
        await person.run(frame.wait_for_function,
                         f"expected => ({CANVAS_RGB})()?.rgb === expected", arg=expected)
    except Exception as error:
        shot = await person.run(frame.evaluate, CANVAS_RGB)
        size = shot and (shot["width"], shot["height"])
        raise AssertionError(f"the console canvas {size} never showed the guest's "
                             f"{guest.framebuffer.width}x{guest.framebuffer.height} "
                             f"screen: {error}") from None


async def save_canvas(person: Person, frame: Any, path: Path) -> Path:
    """The console canvas's own pixels as a PNG (an element screenshot may be a pixel off)."""
    url = await person.run(frame.eval_on_selector, "#screen canvas",
                           "c => c.toDataURL('image/png')")
    path.write_bytes(base64.b64decode(url.split(",", 1)[1]))
    return path


@pytest_twisted.ensureDeferred
async def test_people_watch_their_servers_live_and_use_the_console(
        cloud: AllInOne, people: Any, tmp_path: Path) -> None:
    """When a person launches, stops and deletes servers, the page follows without a reload.

    The console shows the guest's screen and types into it; deleting the
    server closes the console with the reason. A member of another project,
    watching at the same time, sees none of it.
    """
    api = cloud.api
    olga_name, olga_password = await _another_project(cloud)
    olga = await people("olga")
    await log_in(olga, api, olga_name, olga_password, "other")
    await olga.call("evaluate", WATCH_ROWS)

    demo = await people("demo")
    await demo.call("goto", f"{api}/")
    await demo.call("fill", "#login input[name=user]", "demo")
    await demo.call("fill", "#login input[name=password]", "wrong")
    await demo.call("fill", "#login input[name=project]", "demo")
    await demo.call("click", "#login button[type=submit]")
    await demo.call("wait_for_selector", "#login-error:text('not right')")
    await log_in(demo, api, "demo", cloud.credentials.demo_password, "demo")
    await demo.call("evaluate", "() => { window.sameDocument = true; }")  # gone on a reload
    assert await demo.call("is_hidden", "#nav [data-section=services]")  # not an admin

    # (1) launch two servers; the dialog and the table follow them to ACTIVE
    await demo.call("press", "#launch", "Enter")  # the keyboard is enough
    await demo.call("fill", "#launch-form input[name=name]", "web")
    await demo.call("fill", "#launch-form input[name=count]", "1000")  # more than the quota
    await demo.call("click", "#launch-form button[type=submit]")
    await demo.call("wait_for_selector", "#launch-form .error:text('not launched')")
    refusal = await demo.call("text_content", "#launch-form .error")
    assert refusal.startswith("The servers were not launched: Quota exceeded"), refusal
    await demo.call("fill", "#launch-form input[name=count]", "2")
    await demo.call("click", "#launch-form button[type=submit]")
    await demo.call("wait_for_selector", "#launch-dialog[data-done=active]")
    assert await demo.call("text_content", "#launch-summary") == "All 2 active."
    await demo.shot(tmp_path / "1-launched.png")
    await demo.call("click", "#launch-dialog button:text('Close')")
    rest = await Rest.login(api, "demo", cloud.credentials.demo_password, "demo")
    code, listed = await rest.request("GET", "/compute/v2.1/servers/detail")
    servers = {s["name"]: s["id"] for s in listed["servers"]}
    assert sorted(servers) == ["web-1", "web-2"]
    assert {s["status"] for s in listed["servers"]} == {"ACTIVE"}
    for uuid in servers.values():
        await demo.call("wait_for_selector", row(uuid, "ACTIVE"))
    web1, web2 = servers["web-1"], servers["web-2"]

    # (2) stop web-2 from its row (destructive: asks first); the change is pushed
    await demo.call("press", f"{row(web2)} button[data-action=stop]", "Enter")
    await demo.call("wait_for_selector", "#confirm[open]")
    assert await demo.call("text_content", "#confirm-title") == "Stop web-2?"
    await demo.run(demo.page.keyboard.press, "Escape")  # changed my mind: nothing happens
    await demo.call("wait_for_selector", "#confirm", state="hidden")
    assert await demo.call("query_selector", row(web2, "ACTIVE")) is not None
    await demo.call("press", f"{row(web2)} button[data-action=stop]", "Enter")
    await demo.call("wait_for_selector", "#confirm[open]")
    await demo.run(demo.page.keyboard.press, "Tab")  # Cancel has the focus; OK is next
    await demo.run(demo.page.keyboard.press, "Enter")
    await demo.call("wait_for_selector", row(web2, "SHUTOFF"))
    assert await demo.call("text_content", f"{row(web2)} [data-col=power]") == "SHUTDOWN"
    await demo.shot(tmp_path / "2-stopped.png")
    # a change made elsewhere (the API, not this page) shows just the same
    code, body = await rest.request("POST", f"/compute/v2.1/servers/{web2}/action",
                                    {"os-start": None})
    assert code == 202, body
    await demo.call("wait_for_selector", row(web2, "ACTIVE"))

    # (3) the console: the guest's screen on the canvas, and keys reach the guest
    guest = cloud.service.getServiceNamed("nova-compute").driver.guests[web1].console
    await demo.call("click", f"{row(web1)} [data-action=console]")
    await demo.call("wait_for_selector", "#console-status[data-state=open]")
    frame = await demo.run(lambda: demo.page.query_selector("#console-frame").content_frame())
    await demo.run(frame.wait_for_selector, "html[data-state=connected]")
    await canvas_matches(demo, frame, guest)
    canvas = frame.locator("#screen canvas")
    shot = await save_canvas(demo, frame, tmp_path / "3-console.png")
    assert Image.open(shot).convert("RGB").tobytes() == guest.framebuffer.rgb_bytes()
    await demo.shot(tmp_path / "3-console-page.png")
    before = guest.framebuffer.rgb_bytes()
    await demo.run(canvas.click)
    await demo.run(demo.page.keyboard.type, "hostname")
    await demo.run(demo.page.keyboard.press, "Enter")
    await eventually(lambda: "$ hostname\n" in guest.console_output(), "the guest ran the line")
    assert guest.framebuffer.rgb_bytes() != before
    await canvas_matches(demo, frame, guest)
    shot = await save_canvas(demo, frame, tmp_path / "4-console-typed.png")
    assert Image.open(shot).convert("RGB").tobytes() == guest.framebuffer.rgb_bytes()
    # Ctrl-Alt-Del, which no keyboard can type into a page, from the panel's button
    await demo.call("wait_for_selector", "#console-cad:enabled")
    await demo.call("click", "#console-cad")
    await eventually(lambda: CTRL_ALT_DEL_LINE in guest.console_output(),
                     "the guest got Ctrl-Alt-Del")
    await canvas_matches(demo, frame, guest)
    # full screen: the console's frame fills the screen, Escape gives the page back
    await demo.call("click", "#console-fullscreen")
    await demo.call("wait_for_function",
                    "() => document.fullscreenElement?.id === 'console-frame'")
    await demo.call("evaluate", "() => document.exitFullscreen()")
    await demo.call("wait_for_function", "() => document.fullscreenElement === null")

    # the other console types: serial works, SPICE is not there (the fake guest has none);
    # back to VNC with a fresh token (tokens are single-use)
    await demo.call("check", "input[name=console-type][value=serial]")
    await demo.call("wait_for_selector", "#console-frame[data-type=serial]")
    serial = await demo.run(lambda: demo.page.query_selector("#console-frame").content_frame())
    await demo.run(serial.wait_for_selector, "html[data-state=connected]")
    await demo.call("check", "input[name=console-type][value=spice-html5]")
    await demo.call("wait_for_selector", "#console-status[data-state=failed]")
    assert await demo.call("text_content", "#console-status") == \
        "This server has no SPICE console."
    await demo.call("check", "input[name=console-type][value=novnc]")
    await demo.call("wait_for_selector", "#console-frame[data-type=novnc]")
    frame = await demo.run(lambda: demo.page.query_selector("#console-frame").content_frame())
    await demo.run(frame.wait_for_selector, "html[data-state=connected]")
    await canvas_matches(demo, frame, guest)
    await demo.call("click", "#console-share")  # a view-only link to hand to someone
    link = await demo.call("input_value", "input[aria-label='View-only console link']")
    assert "/vnc_lite.html?path=%3Ftoken%3D" in link
    assert link != await demo.call("get_attribute", "#console-frame", "src")  # its own token

    # a close the instance events do not explain (a revocation, an idle timeout):
    # the framed console tells the panel why, and Reconnect opens a fresh one
    proxy = cloud.service.getServiceNamed("nova-novncproxy").factory
    assert proxy.close_sessions(instance_uuid=web1, reason="console access revoked") == 1
    await demo.call("wait_for_selector", "#console-status[data-state=closed]")
    assert await demo.call("text_content", "#console-status") == \
        "Console closed: console access revoked"
    await demo.call("click", "#console-reconnect")
    await demo.call("wait_for_selector", "#console-status[data-state=open]")
    frame = await demo.run(lambda: demo.page.query_selector("#console-frame").content_frame())
    await demo.run(frame.wait_for_selector, "html[data-state=connected]")

    # (4) delete web-1 from its page: the console closes and says why
    await demo.call("click", "#server-actions button[data-action=delete]")
    await demo.call("wait_for_selector", "#confirm[open]")
    await demo.call("click", "#confirm-ok")
    await demo.call("wait_for_selector", "#console-status[data-state=closed]")
    assert await demo.call("text_content", "#console-status") == "Console closed: instance deleted"
    await demo.run(frame.wait_for_selector, "html[data-state=disconnected]")
    assert await demo.run(frame.text_content, "#status") == "Console closed: instance deleted"
    await demo.shot(tmp_path / "5-console-closed.png")
    await demo.call("click", "text=← Servers")
    await demo.call("wait_for_selector", row(web2, "ACTIVE"))
    assert await demo.call("query_selector", row(web1)) is None
    assert await demo.call("evaluate", "() => window.sameDocument") is True
    await demo.shot(tmp_path / "6-deleted.png")

    # web-2's page: what was done to it, and what its console printed
    await demo.call("click", f"{row(web2)} a[href$='{web2}']")
    await demo.call("click", "#tab-log")
    await demo.call("wait_for_selector", "#action-log tr[data-action=start]")
    logged = await demo.call("eval_on_selector_all", "#action-log tbody tr",
                             "rows => rows.map(r => r.dataset.action)")
    assert logged == ["start", "stop", "create"]  # newest first
    await demo.run(demo.page.keyboard.press, "ArrowRight")  # tabs move with the arrows
    await demo.call("wait_for_selector", "#console-output:text('web-2 login:')")
    await demo.shot(tmp_path / "7-console-output.png")

    # a narrow screen: the table becomes cards, nothing scrolls sideways
    await demo.call("set_viewport_size", {"width": 390, "height": 800})
    await demo.call("click", "text=← Servers")
    await demo.call("wait_for_selector", row(web2, "ACTIVE"))
    assert await demo.call("evaluate", "() => document.documentElement.scrollWidth") <= 390
    await demo.shot(tmp_path / "8-narrow.png")
    assert await demo.call("evaluate", "() => window.sameDocument") is True

    # the other project's member saw none of it, and cannot open it
    assert await olga.call("evaluate", "() => window.rowsSeen") == 0
    assert await olga.call("is_visible", "text=No servers yet")
    await olga.call("goto", f"{api}/#/servers/{web2}")
    await olga.call("wait_for_selector", "h1:text('Server not found')")
    await olga.shot(tmp_path / "9-other-project.png")

    assert demo.problems() == [] and olga.problems() == []


@pytest_twisted.ensureDeferred
async def test_admin_sees_services_and_hypervisors_change_live(
        cloud: AllInOne, people: Any, tmp_path: Path) -> None:
    """When a service leaves the router or is disabled, and guests come, the admin views follow."""
    admin = await people("admin")
    await log_in(admin, cloud.api, "admin", cloud.credentials.admin_password, "admin")
    await admin.call("evaluate", "() => { window.sameDocument = true; }")
    await admin.call("click", "#nav [data-section=services]")
    scheduler = "#services tr[data-binary=nova-scheduler]"
    await admin.call("wait_for_selector", f"{scheduler}[data-state=up]")

    service = cloud.service.getServiceNamed("nova-scheduler")
    await service.stopService()
    await admin.call("wait_for_selector", f"{scheduler}[data-state=down]")
    await admin.shot(tmp_path / "1-scheduler-down.png")
    service.startService()
    await service.client.when_joined()
    await admin.call("wait_for_selector", f"{scheduler}[data-state=up]")

    rest = await Rest.login(cloud.api, "admin", cloud.credentials.admin_password, "admin")
    code, body = await rest.request("GET", "/compute/v2.1/os-services?binary=nova-compute")
    assert code == 200, body
    compute = body["services"][0]["id"]
    code, body = await rest.request("PUT", f"/compute/v2.1/os-services/{compute}",
                                    {"status": "disabled", "disabled_reason": "maintenance"})
    assert code == 200, body
    await admin.call("wait_for_selector",
                     "#services tr[data-binary=nova-compute][data-status=disabled]")
    assert "maintenance" in await admin.call(
        "text_content", "#services tr[data-binary=nova-compute]")
    code, body = await rest.request("PUT", f"/compute/v2.1/os-services/{compute}",
                                    {"status": "enabled"})
    assert code == 200, body
    await admin.shot(tmp_path / "2-services.png")

    # hypervisors: listed once, then every change is pushed (no listing again)
    listings: list[str] = []
    await admin.run(admin.page.on, "request", lambda r: listings.append(r.url)
                    if "/os-hypervisors" in r.url else None)
    await admin.call("click", "#nav [data-section=hypervisors]")
    await admin.call("wait_for_selector", "#hypervisors tr[data-guests='0']")
    await admin.call("wait_for_selector", "#hypervisors tr[data-state=up][data-status=enabled]")
    assert len(listings) == 1, listings
    code, images = await rest.request("GET", "/image/v2/images")
    code, body = await rest.request("POST", "/compute/v2.1/servers", {"server": {
        "name": "busy", "flavorRef": "1", "imageRef": images["images"][0]["id"],
        "networks": "none"}})
    assert code == 202, body
    busy = body["server"]["id"]
    await admin.call("wait_for_selector", "#hypervisors tr[data-guests='1']")
    meters = await admin.call("eval_on_selector_all", "#hypervisors meter",
                              "ms => ms.map(m => m.value)")
    assert len(meters) == 3 and all(v > 0 for v in meters)  # RAM, vCPUs, disk in use
    await admin.call("wait_for_selector", "#guests-chart canvas")
    await admin.shot(tmp_path / "3-hypervisors.png")
    code, body = await rest.request("PUT", f"/compute/v2.1/os-services/{compute}",
                                    {"status": "disabled", "disabled_reason": "drain"})
    assert code == 200, body
    await admin.call("wait_for_selector", "#hypervisors tr[data-state=up][data-status=disabled]")
    code, body = await rest.request("DELETE", f"/compute/v2.1/servers/{busy}")
    assert code == 204, body
    await admin.call("wait_for_selector", "#hypervisors tr[data-guests='0']")
    meters = await admin.call("eval_on_selector_all", "#hypervisors meter",
                              "ms => ms.map(m => m.value)")
    assert meters == [0, 0, 0]
    assert len(listings) == 1, listings  # all of it was pushed
    code, body = await rest.request("PUT", f"/compute/v2.1/os-services/{compute}",
                                    {"status": "enabled"})
    assert code == 200, body
    await admin.call("wait_for_selector", "#hypervisors tr[data-state=up][data-status=enabled]")
    code, body = await rest.request("POST", "/compute/v2.1/servers", {"server": {
        "name": "busy", "flavorRef": "1", "imageRef": images["images"][0]["id"],
        "networks": "none"}})
    assert code == 202, body
    await admin.call("wait_for_selector", "#hypervisors tr[data-guests='1']")
    assert await admin.call("evaluate", "() => window.sameDocument") is True

    # a reload keeps the session (this tab's storage); logging out ends the token
    await admin.call("reload")
    await admin.call("wait_for_selector", "#hypervisors tr[data-guests='1']")
    await admin.call("wait_for_selector", "#live[data-state=live]")
    token = await admin.call("evaluate",
                             "() => JSON.parse(sessionStorage.getItem('nova_ws.session')).token")
    await admin.call("click", "#logout")
    await admin.call("wait_for_selector", "#login input[name=user]")
    assert await admin.call("evaluate", "() => sessionStorage.length") == 0
    response = await treq.get(f"{cloud.api}/identity/v3/auth/tokens", headers={
        "X-Auth-Token": [token], "X-Subject-Token": [token]})
    assert response.code in (401, 404)
    assert admin.problems() == []
