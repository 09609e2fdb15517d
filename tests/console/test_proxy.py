"""The console proxy on real sockets: handshakes, refusals, piping, closing."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.task import Clock

from nova_ws.compute.drivers.fake.rfb import GuestConsole
from nova_ws.console.memory import MemoryTokenValidator
from nova_ws.console.proxy import CloseCode, ConsoleProxyFactory, ProxyConfig
from tests.console.support import listen_echo, open_browser, raw_handshake, until

pytestmark = pytest.mark.integration

INSTANCE = "9b1a4c1e-0000-4000-8000-000000000001"


@dataclass
class Rig:
    """A proxy on port 0 with its validator and clock."""

    reactor: Any
    clock: Any
    validator: MemoryTokenValidator
    factory: ConsoleProxyFactory
    port: int


@pytest_twisted.async_yield_fixture
async def rig_factory() -> AsyncIterator[Any]:
    from twisted.internet import reactor

    listening: list[Any] = []

    def make(clock: Any = None, **options: Any) -> Rig:
        clock = clock or reactor
        validator = MemoryTokenValidator(clock)
        config = ProxyConfig("novnc", **options)
        factory = ConsoleProxyFactory(validator, config, reactor, clock=clock)
        port: Any = reactor.listenTCP(0, factory, interface="127.0.0.1")
        listening.append(port)
        return Rig(reactor, clock, validator, factory, port.getHost().port)

    yield make
    for port in listening:
        await port.stopListening()


async def rfb_handshake(rig: Rig, browser: Any) -> bytes:
    """Complete the RFB 3.8 None handshake through the proxy; return ServerInit."""
    assert await browser.read(rig.reactor, 12) == b"RFB 003.008\n"
    browser.sendMessage(b"RFB 003.008\n", isBinary=True)
    count = (await browser.read(rig.reactor, 1))[0]
    assert 1 in await browser.read(rig.reactor, count)
    browser.sendMessage(b"\x01", isBinary=True)
    assert await browser.read(rig.reactor, 4) == b"\0\0\0\0"
    browser.sendMessage(b"\x01", isBinary=True)
    head = await browser.read(rig.reactor, 20)
    (name_length,) = struct.unpack("!I", await browser.read(rig.reactor, 4))
    return head + await browser.read(rig.reactor, name_length)


async def framebuffer_update(rig: Rig, browser: Any, width: int, height: int) -> int:
    """Ask for a full update; return how many rectangles came back."""
    browser.sendMessage(struct.pack("!BBHHHH", 3, 0, 0, 0, width, height), isBinary=True)
    kind, _, rects = struct.unpack("!BBH", await browser.read(rig.reactor, 4))
    assert kind == 0
    return int(rects)


@pytest_twisted.ensureDeferred
async def test_vnc_through_the_proxy(rig_factory: Any) -> None:
    """When noVNC connects with a valid token, it handshakes with the guest and gets updates."""
    rig = rig_factory()
    console = GuestConsole("instance-0001", width=320, height=96)
    console.listen(rig.reactor)
    token, _ = rig.validator.issue_for(port=console.port, instance_uuid=INSTANCE)
    browser = await open_browser(rig.reactor, rig.port, token)
    server_init = await rfb_handshake(rig, browser)
    assert struct.unpack("!HH", server_init[:4]) == (320, 96)
    assert server_init.endswith(b"instance-0001")
    assert await framebuffer_update(rig, browser, 320, 96) >= 1
    assert rig.factory.metrics.open_sessions == 1
    browser.sendClose()
    await browser.closed
    await console.stop()
    await until(rig.reactor, lambda: rig.factory.metrics.open_sessions == 0)
    assert rig.factory.metrics.total_sessions == 1
    assert rig.factory.metrics.bytes_to_browser > 12


@pytest_twisted.ensureDeferred
async def test_token_in_noVNC_path_form(rig_factory: Any) -> None:
    """When the token comes as noVNC's ``/?token=`` path, the proxy accepts it."""
    rig = rig_factory()
    echo = listen_echo(rig.reactor)
    token, _ = rig.validator.issue_for(port=echo.getHost().port)
    browser = await open_browser(rig.reactor, rig.port, token, path="/")
    browser.sendMessage(b"ping", isBinary=True)
    assert await browser.read(rig.reactor, 4) == b"ping"
    browser.sendClose()
    await browser.closed
    await echo.stopListening()


@pytest_twisted.ensureDeferred
async def test_large_echo_with_backpressure(rig_factory: Any) -> None:
    """When the browser stops reading, the proxy pauses both ways; 8 MB still round-trips."""
    rig = rig_factory()
    echo = listen_echo(rig.reactor)
    token, _ = rig.validator.issue_for(port=echo.getHost().port)
    browser = await open_browser(rig.reactor, rig.port, token, small_buffers=True)
    payload = bytes(range(256)) * (8 * 1024 * 1024 // 256)
    wire: Any = browser.transport
    wire.pauseProducing()
    for offset in range(0, len(payload), 1024 * 1024):
        browser.sendMessage(payload[offset : offset + 1024 * 1024], isBinary=True)
    metrics = rig.factory.metrics
    await until(rig.reactor, lambda: metrics.guest_reads_paused and metrics.browser_reads_paused)
    (session,) = rig.factory.sessions
    transports: list[Any] = [session.transport, session.guest and session.guest.transport]
    for transport in transports:
        held = len(transport.dataBuffer) - transport.offset + transport._tempDataLen
        assert held < 1024 * 1024
    wire.resumeProducing()
    await until(rig.reactor, lambda: len(browser.received) >= len(payload))
    assert bytes(browser.received) == payload
    assert metrics.bytes_to_guest == metrics.bytes_to_browser == len(payload)
    browser.sendClose()
    await browser.closed
    await echo.stopListening()


@pytest.mark.parametrize(
    ("headers", "token_kind", "status"),
    [
        ({"Origin": "http://127.0.0.1:{port}"}, "unknown", "401 invalid token"),
        ({"Origin": "http://127.0.0.1:{port}"}, "expired", "403 token expired"),
        ({"Origin": "http://127.0.0.1:{port}"}, "spice", "403 token is for a spice-html5"),
        ({"Origin": "http://evil.example:{port}"}, "valid", "403 Origin header does not match"),
        ({"Origin": "https://127.0.0.1:{port}"}, "valid", "403 Origin header protocol"),
        ({}, "valid", "403 missing Origin header"),
        ({"Origin": "http://127.0.0.1:{port}"}, "none", "401 missing token"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_refusals(rig_factory: Any, headers: dict[str, str], token_kind: str,
                        status: str) -> None:
    """When a handshake has a bad token or Origin, it is refused with the right status."""
    rig = rig_factory()
    tokens = {
        "unknown": "no-such-token",
        "expired": rig.validator.issue_for(ttl=-1)[0],
        "spice": rig.validator.issue_for(console_type="spice-html5")[0],
        "valid": rig.validator.issue_for()[0],
    }
    target = "/websockify" if token_kind == "none" else f"/websockify?token={tokens[token_kind]}"
    filled = {name: value.format(port=rig.port) for name, value in headers.items()}
    line = await raw_handshake(rig.reactor, rig.port, target, filled)
    assert line.startswith(f"HTTP/1.1 {status}")
    assert rig.factory.sessions == set()
    assert sum(rig.factory.metrics.refusals.values()) == 1


@pytest_twisted.ensureDeferred
async def test_token_from_cookie(rig_factory: Any) -> None:
    """When the token comes in a ``token`` cookie, the handshake succeeds."""
    rig = rig_factory()
    echo = listen_echo(rig.reactor)
    token, _ = rig.validator.issue_for(port=echo.getHost().port)
    line = await raw_handshake(rig.reactor, rig.port, "/websockify", {
        "Origin": f"http://127.0.0.1:{rig.port}", "Cookie": f"lang=en; token={token}"})
    assert line == "HTTP/1.1 101 Switching Protocols"
    await echo.stopListening()


@pytest_twisted.ensureDeferred
async def test_per_token_cap(rig_factory: Any) -> None:
    """When a token already has its maximum of sessions, one more is refused with 429."""
    rig = rig_factory(max_per_token=1)
    echo = listen_echo(rig.reactor)
    token, _ = rig.validator.issue_for(port=echo.getHost().port)
    browser = await open_browser(rig.reactor, rig.port, token)
    line = await raw_handshake(rig.reactor, rig.port, f"/websockify?token={token}",
                               {"Origin": f"http://127.0.0.1:{rig.port}"})
    assert line.startswith("HTTP/1.1 429 too many connections for this token")
    browser.sendClose()
    await browser.closed
    await echo.stopListening()


@pytest_twisted.ensureDeferred
async def test_channels_of_an_open_console_share_its_token(rig_factory: Any) -> None:
    """When a console opens several channels (SPICE), a used token admits them while it is open.

    The token is gone from the validator after the first connection (used
    up); further channels join the open console, up to the cap; once the
    console ends (revoked), the token opens nothing. With one channel per
    console (noVNC) a used token is refused at once.
    """
    origin = {"Origin": "http://127.0.0.1"}
    for channels, second in ((2, "101 Switching Protocols"), (1, "401 invalid token")):
        rig = rig_factory(channels_per_console=channels, max_per_token=1)
        echo = listen_echo(rig.reactor)
        token, target = rig.validator.issue_for(port=echo.getHost().port)
        origin["Origin"] = f"http://127.0.0.1:{rig.port}"
        browser = await open_browser(rig.reactor, rig.port, token)
        rig.validator.revoke(token)  # used up, as a single-use token is
        path = f"/websockify?token={token}"
        line = await raw_handshake(rig.reactor, rig.port, path, origin)
        assert line == f"HTTP/1.1 {second}"
        if channels == 2:
            assert rig.factory.metrics.channels_joined == 1
            await until(rig.reactor, lambda rig=rig: len(rig.factory.sessions) == 1)
            channel = await open_browser(rig.reactor, rig.port, token)  # stays open
            assert rig.factory.metrics.channels_joined == 2
            line = await raw_handshake(rig.reactor, rig.port, path, origin)
            assert line.startswith("HTTP/1.1 429 too many connections for this token")
            assert rig.factory.close_sessions(token_id=target.token_id) == 2
            assert (await browser.closed)[0] == CloseCode.REVOKED
            assert (await channel.closed)[0] == CloseCode.REVOKED
            await until(rig.reactor, lambda rig=rig: not rig.factory.sessions)
            line = await raw_handshake(rig.reactor, rig.port, path, origin)
            assert line.startswith("HTTP/1.1 401 invalid token")
        else:
            browser.sendClose()
            await browser.closed
        await echo.stopListening()


@pytest_twisted.ensureDeferred
async def test_close_sessions_by_instance(rig_factory: Any) -> None:
    """When an instance's sessions are closed, its live session ends with that reason."""
    rig = rig_factory()
    echo = listen_echo(rig.reactor)
    token, _ = rig.validator.issue_for(port=echo.getHost().port, instance_uuid=INSTANCE)
    other, _ = rig.validator.issue_for(port=echo.getHost().port)
    browser = await open_browser(rig.reactor, rig.port, token)
    bystander = await open_browser(rig.reactor, rig.port, other)
    closed = rig.factory.close_sessions(instance_uuid=INSTANCE, reason="instance deleted")
    assert closed == 1
    assert await browser.closed == (CloseCode.REVOKED, "instance deleted")
    assert not bystander.closed.called
    bystander.sendClose()
    await bystander.closed
    await until(rig.reactor, lambda: not rig.factory.sessions)
    assert rig.factory.metrics.closes["instance deleted"] == 1
    await echo.stopListening()


@pytest_twisted.ensureDeferred
async def test_expiry_closes_live_session(rig_factory: Any) -> None:
    """When the token's expiry time passes, the live session closes with "token expired"."""
    clock = Clock()
    rig = rig_factory(clock=clock, idle_timeout=None)
    echo = listen_echo(rig.reactor)
    token, _ = rig.validator.issue_for(port=echo.getHost().port, ttl=60)
    browser = await open_browser(rig.reactor, rig.port, token)
    clock.advance(59)
    assert not browser.closed.called
    clock.advance(2)
    assert await browser.closed == (CloseCode.TOKEN_EXPIRED, "token expired")
    await echo.stopListening()


@pytest_twisted.ensureDeferred
async def test_idle_timeout(rig_factory: Any) -> None:
    """When no bytes flow for the idle timeout, the session closes with "idle timeout"."""
    clock = Clock()
    rig = rig_factory(clock=clock, idle_timeout=30)
    echo = listen_echo(rig.reactor)
    token, _ = rig.validator.issue_for(port=echo.getHost().port, ttl=3600)
    browser = await open_browser(rig.reactor, rig.port, token)
    clock.advance(20)
    browser.sendMessage(b"hi", isBinary=True)
    assert await browser.read(rig.reactor, 2) == b"hi"
    clock.advance(20)
    assert not browser.closed.called
    clock.advance(11)
    assert await browser.closed == (CloseCode.IDLE_TIMEOUT, "idle timeout")
    await echo.stopListening()


@pytest_twisted.ensureDeferred
async def test_unreachable_target(rig_factory: Any) -> None:
    """When the guest's port refuses the connection, the session closes with 4004."""
    rig = rig_factory()
    echo = listen_echo(rig.reactor)
    port = echo.getHost().port
    await echo.stopListening()
    token, _ = rig.validator.issue_for(port=port)
    browser = await open_browser(rig.reactor, rig.port, token)
    assert await browser.closed == (CloseCode.TARGET_UNREACHABLE, "console target unreachable")


@pytest_twisted.ensureDeferred
async def test_view_only_drops_input(rig_factory: Any) -> None:
    """When the token is view-only, key events never reach the guest but updates still flow."""
    rig = rig_factory()
    console = GuestConsole("instance-0002", width=320, height=96)
    console.listen(rig.reactor)
    token, _ = rig.validator.issue_for(port=console.port, view_only=True)
    browser = await open_browser(rig.reactor, rig.port, token)
    await rfb_handshake(rig, browser)
    before = console.text()
    for char in "xyz":
        key = ord(char)
        browser.sendMessage(struct.pack("!BBxxI", 4, 1, key) + struct.pack("!BBxxI", 4, 0, key),
                            isBinary=True)
    browser.sendMessage(struct.pack("!BBHH", 5, 1, 10, 10), isBinary=True)
    assert await framebuffer_update(rig, browser, 320, 96) >= 1
    assert console.text() == before
    (session,) = rig.factory.sessions
    shim: Any = session._shim
    assert shim.filter.dropped == 7
    browser.sendClose()
    await browser.closed
    await console.stop()


@pytest_twisted.ensureDeferred
async def test_keys_reach_the_guest_without_view_only(rig_factory: Any) -> None:
    """When the token is not view-only, the same key events change the guest's screen."""
    rig = rig_factory()
    console = GuestConsole("instance-0003", width=320, height=96)
    console.listen(rig.reactor)
    token, _ = rig.validator.issue_for(port=console.port)
    browser = await open_browser(rig.reactor, rig.port, token)
    await rfb_handshake(rig, browser)
    before = console.text()
    for char in "xyz":
        key = ord(char)
        browser.sendMessage(struct.pack("!BBxxI", 4, 1, key) + struct.pack("!BBxxI", 4, 0, key),
                            isBinary=True)
    assert await framebuffer_update(rig, browser, 320, 96) >= 1
    assert console.text() != before and "xyz" in console.text()
    browser.sendClose()
    await browser.closed
    await console.stop()


@pytest_twisted.ensureDeferred
async def test_guest_close_waits_for_a_revocation_reason(rig_factory: Any) -> None:
    """When the guest closes, the browser's close waits the grace; a revocation's reason wins."""
    clock = Clock()
    rig = rig_factory(clock=clock, idle_timeout=None, guest_close_grace=1.0)
    for revoke in (False, True):
        console = GuestConsole("instance-0001", width=320, height=96)
        console.listen(rig.reactor)
        token, _ = rig.validator.issue_for(port=console.port, instance_uuid=INSTANCE)
        browser = await open_browser(rig.reactor, rig.port, token)
        await rfb_handshake(rig, browser)
        await console.stop()
        await until(rig.reactor, lambda: all(s.guest is None for s in rig.factory.sessions))
        assert not browser.closed.called
        if revoke:
            rig.factory.close_sessions(instance_uuid=INSTANCE, reason="instance deleted")
            assert await browser.closed == (CloseCode.REVOKED, "instance deleted")
        else:
            clock.advance(1.0)
            assert await browser.closed == (CloseCode.NORMAL, "console connection closed")
