"""Console open time against the all-in-one: API call to first FramebufferUpdate.

The all-in-one runs in its own process (``console_aio.py``); this process is
the user: it logs in (Identity v3), boots ``servers`` fake-driver servers
through the Compute API and waits for them to be ACTIVE, then ``opens``
times, one at a time and round robin over the servers, times:

1. ``POST /v2.1/servers/{id}/remote-consoles`` with
   ``{"remote_console": {"protocol": "vnc", "type": "novnc"}}``
   (microversion 2.6), which answers the noVNC URL
   ``<base>/vnc_lite.html?path=%3Ftoken%3D<token>``;
2. the WebSocket ``ws://<host>:<port>/websockify?token=<token>``
   (subprotocol ``binary``, ``Origin: http://<host>:<port>``), as noVNC opens it;
3. the RFB handshake through the proxy (3.8, security type None -- the proxy
   speaks for the guest's own security), ClientInit, ServerInit;
4. a full FramebufferUpdateRequest and the first FramebufferUpdate's header.

Whatever the all-in-one does not offer yet (no remote-consoles route, no
proxy listening) raises ``NotAvailable`` with the reason.
"""

from __future__ import annotations

import http.client
import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from console_client import Closed, HandshakeError, WebSocket, open_ws
from console_procs import Process, ProcessFailed, allinone

MICROVERSION = "2.6"
ACTIVE_TIMEOUT = 120.0


class NotAvailable(Exception):
    """The all-in-one cannot open consoles (yet); the reason says what is missing."""


class OpenFailed(Exception):
    """Something that should work did not."""


@dataclass
class Api:
    """A user's session with the all-in-one's HTTP APIs."""

    base: str
    token: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, body: Any = None,
             timeout: float = 60.0) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(self.base)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                          timeout=timeout)
        headers = {"Accept": "application/json", **self.headers}
        if self.token:
            headers["X-Auth-Token"] = self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, parts.path.rstrip("/") + path, data, headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed


def login(api: str, user: str, password: str) -> Api:
    """A project-scoped Identity token for ``user`` (project of the same name)."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": user, "domain": {"name": "Default"}}}}}
    status, headers, answer = Api(api).call("POST", "/identity/v3/auth/tokens", body)
    if status != 201:
        raise OpenFailed(f"login as {user}: {status} {answer}")
    return Api(api, headers["x-subject-token"],
               {"OpenStack-API-Version": f"compute {MICROVERSION}",
                "X-OpenStack-Nova-API-Version": MICROVERSION})


def boot(api: Api, count: int) -> list[str]:
    """Boot ``count`` servers (m1.tiny, the first image) and wait until all are ACTIVE."""
    status, _, images = api.call("GET", "/image/v2/images")
    if status != 200 or not images.get("images"):
        raise OpenFailed(f"no image to boot: {status} {images}")
    image = images["images"][0]["id"]
    status, _, flavors = api.call("GET", "/v2.1/flavors")
    if status != 200 or not flavors.get("flavors"):
        raise OpenFailed(f"no flavor to boot: {status} {flavors}")
    named = {f["name"]: f["id"] for f in flavors["flavors"]}
    flavor = named.get("m1.tiny", flavors["flavors"][0]["id"])
    ids = []
    for i in range(count):
        status, _, answer = api.call("POST", "/v2.1/servers", {"server": {
            "name": f"console-bench-{i}", "imageRef": image, "flavorRef": flavor}})
        if status != 202:
            raise OpenFailed(f"boot: {status} {answer}")
        ids.append(answer["server"]["id"])
    deadline = time.monotonic() + ACTIVE_TIMEOUT
    waiting = set(ids)
    while waiting:
        for uuid in sorted(waiting):
            status, _, answer = api.call("GET", f"/v2.1/servers/{uuid}")
            state = answer["server"]["status"] if status == 200 else f"HTTP {status}"
            if state == "ACTIVE":
                waiting.discard(uuid)
            elif state == "ERROR":
                raise OpenFailed(f"server {uuid} went to ERROR: {answer['server'].get('fault')}")
        if waiting and time.monotonic() > deadline:
            raise OpenFailed(f"{len(waiting)} servers not ACTIVE in {ACTIVE_TIMEOUT:g} s")
        if waiting:
            time.sleep(0.1)
    return ids


def remote_console(api: Api, uuid: str) -> str:
    """The noVNC URL for ``uuid`` (raises NotAvailable when the API has no such call)."""
    body = {"remote_console": {"protocol": "vnc", "type": "novnc"}}
    status, _, answer = api.call("POST", f"/v2.1/servers/{uuid}/remote-consoles", body)
    if status in (404, 405, 501, 503):  # the server is ACTIVE: the call itself is missing
        raise NotAvailable(f"POST /v2.1/servers/{{id}}/remote-consoles answered {status}: "
                           f"{_short(answer)}")
    if status != 200:
        raise OpenFailed(f"remote-consoles answered {status}: {_short(answer)}")
    console = answer.get("remote_console", {})
    if console.get("protocol") != "vnc" or console.get("type") != "novnc" or not console.get(
            "url"):
        raise OpenFailed(f"unexpected remote-consoles answer: {_short(answer)}")
    return str(console["url"])


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:300]


def websocket_of(url: str) -> tuple[str, int, str]:
    """(host, port, resource) of the noVNC WebSocket a console URL leads to."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    token = (query.get("token") or [""])[0]
    if not token and query.get("path"):
        token = (parse_qs(urlsplit(query["path"][0]).query).get("token") or [""])[0]
    if not token or parts.hostname is None:
        raise OpenFailed(f"no token in console URL {url}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname, port, f"/websockify?token={token}"


def rfb_until_first_update(ws: WebSocket) -> tuple[float, int]:
    """RFB 3.8 with security None, ClientInit, a full update request; (time, rectangles)."""
    version = ws.read_exact(12)
    if not version.startswith(b"RFB 003."):
        raise OpenFailed(f"not RFB: {version!r}")
    ws.send(b"RFB 003.008\n")
    count = ws.read_exact(1)[0]
    if count == 0:
        (length,) = struct.unpack("!I", ws.read_exact(4))
        raise OpenFailed(f"RFB refused: {ws.read_exact(length)!r}")
    types = ws.read_exact(count)
    if 1 not in types:
        raise NotAvailable(f"the proxy offers the browser security types {list(types)}, not None "
                           "(its RFB security proxy is not in place)")
    ws.send(b"\x01")
    (result,) = struct.unpack("!I", ws.read_exact(4))
    if result != 0:
        raise OpenFailed(f"RFB security result {result}")
    ws.send(b"\x01")  # ClientInit, shared
    width, height = struct.unpack("!HH", ws.read_exact(4))
    ws.read_exact(16)  # pixel format
    (name_length,) = struct.unpack("!I", ws.read_exact(4))
    ws.read_exact(name_length)
    ws.send(struct.pack("!BBHHHH", 3, 0, 0, 0, width, height))
    while True:
        kind = ws.read_exact(1)[0]
        if kind == 0:
            _, rects = struct.unpack("!BH", ws.read_exact(3))
            return time.perf_counter(), rects
        if kind == 2:  # Bell
            continue
        raise OpenFailed(f"server message {kind} before the first FramebufferUpdate")


def open_once(api: Api, uuid: str) -> dict[str, float]:
    """One timed open; stage times in ms."""
    t0 = time.perf_counter()
    url = remote_console(api, uuid)
    t1 = time.perf_counter()
    host, port, resource = websocket_of(url)
    try:
        ws = open_ws(host, port, resource, keep=True)
    except ConnectionRefusedError as error:
        raise NotAvailable(f"no console proxy listens at {host}:{port} (from {url})") from error
    except HandshakeError as error:
        raise OpenFailed(f"proxy refused the WebSocket: {error}") from error
    t2 = time.perf_counter()
    try:
        t3, _ = rfb_until_first_update(ws)
    except (Closed, OSError) as error:
        raise OpenFailed(f"RFB through the proxy failed: {error}") from error
    finally:
        ws.close(wait=0.5)
    return {"api_ms": (t1 - t0) * 1e3, "websocket_ms": (t2 - t1) * 1e3,
            "rfb_ms": (t3 - t2) * 1e3, "total_ms": (t3 - t0) * 1e3}


def run_open_times(repo: Path, workdir: Path, servers: int, opens: int,
                   running: list[Process]) -> dict[str, Any]:
    """The whole part: start the all-in-one, boot, open ``opens`` times, stop."""
    try:
        aio = allinone(repo, workdir)
    except ProcessFailed as error:
        raise OpenFailed(f"the all-in-one did not start: {error}") from error
    running.append(aio)
    try:
        info = aio.info
        api = login(info["api"], "demo", info["demo_password"])
        started = time.perf_counter()
        ids = boot(api, servers)
        boot_s = time.perf_counter() - started
        remote_console(api, ids[0])  # availability check, and the first open's warm-up
        samples = [open_once(api, ids[i % len(ids)]) for i in range(opens)]
        return {"servers": servers, "opens": opens, "boot_s": boot_s,
                "proxy_url": info.get("novncproxy_base_url"), "samples": samples}
    except (TimeoutError, ConnectionError) as error:
        raise OpenFailed(f"{type(error).__name__}: {error}") from error
    finally:
        aio.stop()
        running.remove(aio)
