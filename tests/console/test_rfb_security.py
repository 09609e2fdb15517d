"""The RFB security proxy against the fake driver's VNC servers, through the real proxy.

The guests are ``GuestConsole`` servers secured with a VNC password and/or
VeNCrypt x509; the browser is a WebSocket client speaking RFB 3.8.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.testing import StringTransport

from nova_ws.compute.drivers.fake.rfb import (
    Framebuffer,
    GuestConsole,
    RFBServerFactory,
    RFBServerProtocol,
    SecurityConfig,
    vencrypt_server_tls,
)
from nova_ws.console.interfaces import ConsoleTarget
from nova_ws.console.proxy import CloseCode
from nova_ws.console.rfb_filter import ViewOnlyFilter
from nova_ws.console.rfb_security import (
    RFBSecurityConfig,
    RFBSecurityProxy,
    RFBSecurityShims,
    SecurityType,
    VeNCryptSubtype,
)
from nova_ws.console.shims import GuestAuthError, ShimError, ViewOnlyShim, shim_for
from tests.console.rfb_support import (
    BROWSER_REASON,
    V38,
    LogCapture,
    Pki,
    SecureRig,
    handshake,
    make_rig,
    refusals,
    refused_after_offer,
)

pytestmark = pytest.mark.integration

PASSWORD = "s3cret"
CHALLENGE = bytes(range(100, 116))
AUTH_FAILED = (CloseCode.GUEST_AUTH_FAILED, "console authentication to the guest failed")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """The guests' CA, their certificates and the proxy's client certificate."""
    return Pki.create(tmp_path_factory.mktemp("pki"))


@pytest_twisted.async_yield_fixture
async def world() -> AsyncIterator[Any]:
    """Makes guests and proxies on 127.0.0.1; stops them all afterwards."""
    from twisted.internet import reactor

    guests: list[GuestConsole] = []
    rigs: list[SecureRig] = []

    class World:
        def guest(self, password: str | None = None, tls: Any = None,
                  name: str = "secure-guest") -> GuestConsole:
            console = GuestConsole(name, password=password, width=240, height=64,
                                   random_bytes=lambda n: CHALLENGE[:n], tls=tls)
            console.log("Welcome to the secured guest")
            console.listen(reactor)
            guests.append(console)
            return console

        def rig(self, security: RFBSecurityConfig | None = None,
                default_shims: bool = False) -> SecureRig:
            made = make_rig(reactor, security, default_shims)
            rigs.append(made)
            return made

    yield World()
    for rig in rigs:
        await rig.stop()
    for console in guests:
        await console.stop()


def only_client(console: GuestConsole) -> RFBServerProtocol:
    """The guest's one VNC connection (the proxy's)."""
    (client,) = console.factory.clients
    return client


# --- VNC password ---------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_password_guest_with_the_default_shims(world: Any) -> None:
    """When a guest asks for its VNC password, the browser is offered None and gets ServerInit.

    This is the proxy's default shim factory: a target with a password goes
    through the security proxy, which answers the guest's challenge itself.
    """
    console = world.guest(password=PASSWORD)
    rig = world.rig(default_shims=True)
    browser = await rig.connect(port=console.port, password=PASSWORD)
    init = await handshake(browser)
    assert (init.width, init.height, init.name) == (240, 64, "secure-guest")
    guest_side = only_client(console)
    assert guest_side.security_type == SecurityType.VNC_AUTH
    assert guest_side.ready
    assert isinstance(rig.shims[0], RFBSecurityProxy)
    assert rig.shims[0].security_type == SecurityType.VNC_AUTH
    # the browser saw the two versions' worth of RFB, None, OK and ServerInit -- no challenge
    assert CHALLENGE not in bytes(browser.transcript)
    assert PASSWORD.encode() not in bytes(browser.transcript)
    browser.sendClose()
    await browser.closed


@pytest_twisted.ensureDeferred
async def test_updates_flow_after_authentication(world: Any) -> None:
    """When authenticated, the session is a plain pipe: an update request gets pixels."""
    console = world.guest(password=PASSWORD)
    rig = world.rig(RFBSecurityConfig(auth_schemes=("vnc",)))
    browser = await rig.connect(port=console.port, password=PASSWORD)
    await handshake(browser)
    browser.send(struct.pack("!BBHHHH", 3, 0, 0, 0, 240, 64))
    kind, _, rects = struct.unpack("!BBH", await browser.read(4))
    assert (kind, rects) == (0, 1)
    x, y, w, h, encoding = struct.unpack("!HHHHi", await browser.read(12))
    assert (x, y, w, h, encoding) == (0, 0, 240, 64, 0)
    pixels = await browser.read(240 * 64 * 4)
    assert len(set(pixels)) > 2  # a title bar and text, not a blank screen
    browser.sendClose()
    await browser.closed


@pytest_twisted.ensureDeferred
async def test_wrong_password_ends_the_session(world: Any) -> None:
    """When the password is wrong, the browser gets a generic failure and close code 4007."""
    console = world.guest(password=PASSWORD)
    rig = world.rig()
    browser = await rig.connect(port=console.port, password="guess")
    with LogCapture() as logs:
        after_choice = await refused_after_offer(browser)
        assert await browser.closed == AUTH_FAILED
    assert bytes(browser.transcript) in refusals(after_choice)
    assert "wrong password" in logs.text()  # the guest's own reason is logged, not sent
    assert not any(client.ready for client in console.factory.clients)


@pytest_twisted.ensureDeferred
async def test_password_guest_without_a_password_is_refused(world: Any) -> None:
    """When the guest offers only VNC auth and the console has no password, it is refused."""
    console = world.guest(password=PASSWORD)
    rig = world.rig()
    browser = await rig.connect(port=console.port)
    await refused_after_offer(browser)
    assert await browser.closed == AUTH_FAILED
    assert BROWSER_REASON in bytes(browser.transcript)


@pytest.mark.parametrize(("view_only", "typed"), [(True, ""), (False, "ab")])
@pytest_twisted.ensureDeferred
async def test_view_only_behind_the_security_proxy(world: Any, view_only: bool,
                                                   typed: str) -> None:
    """When the session is view-only, keys never reach the guest; without it, they do."""
    console = world.guest(password=PASSWORD)
    rig = world.rig()
    browser = await rig.connect(port=console.port, password=PASSWORD, view_only=view_only)
    await handshake(browser)
    for key in b"ab":
        browser.send(struct.pack("!BBxxI", 4, 1, key) + struct.pack("!BBxxI", 4, 0, key))
    browser.send(struct.pack("!BBHHHH", 3, 0, 0, 0, 240, 64))
    kind, _, rects = struct.unpack("!BBH", await browser.read(4))  # keys came before this
    assert kind == 0 and rects >= 1
    assert console.framebuffer.screen.input == typed
    shim = rig.shims[0]
    assert isinstance(shim, RFBSecurityProxy)
    assert (shim.filter.dropped if shim.filter else 0) == (4 if view_only else 0)
    browser.sendClose()
    await browser.closed


# --- choosing the scheme ----------------------------------------------------


def typed_guest(reactor: Any, types: tuple[int, ...], password: str | None) -> RFBServerFactory:
    """A VNC server offering exactly ``types``, listening on 127.0.0.1."""
    factory = RFBServerFactory(
        Framebuffer("typed", 160, 64), SecurityConfig(password=password, types=types))
    factory.listen(reactor)
    return factory


@pytest.mark.parametrize(("schemes", "expected"), [
    (("none", "vnc"), SecurityType.NONE),
    (("vnc", "none"), SecurityType.VNC_AUTH),
])
@pytest_twisted.ensureDeferred
async def test_first_allowed_scheme_wins(world: Any, schemes: tuple[str, ...],
                                         expected: SecurityType) -> None:
    """When the guest offers VNC auth and None, the first allowed in auth_schemes is used."""
    from twisted.internet import reactor

    guest = typed_guest(reactor, (2, 1), PASSWORD)
    try:
        rig = world.rig(RFBSecurityConfig(auth_schemes=schemes))
        browser = await rig.connect(port=guest.port, password=PASSWORD)
        await handshake(browser)
        (client,) = guest.clients
        assert client.security_type == expected
        browser.sendClose()
        await browser.closed
    finally:
        await guest.stop()


@pytest.mark.parametrize(("types", "schemes"), [
    ((1,), ("vnc",)),  # only None offered, None not allowed
    ((2,), ("none",)),  # only VNC auth offered, not allowed
])
@pytest_twisted.ensureDeferred
async def test_guest_offering_only_disallowed_schemes_is_refused(
        world: Any, types: tuple[int, ...], schemes: tuple[str, ...]) -> None:
    """When the guest offers nothing auth_schemes allows, the session ends before any auth."""
    from twisted.internet import reactor

    guest = typed_guest(reactor, types, PASSWORD)
    try:
        rig = world.rig(RFBSecurityConfig(auth_schemes=schemes))
        browser = await rig.connect(port=guest.port, password=PASSWORD)
        with LogCapture() as logs:
            await refused_after_offer(browser)
            assert await browser.closed == AUTH_FAILED
        assert "no allowed security type" in logs.text()
        assert BROWSER_REASON in bytes(browser.transcript)
        assert not any(client.ready for client in guest.clients)
    finally:
        await guest.stop()


@pytest_twisted.ensureDeferred
async def test_browser_must_take_none(world: Any) -> None:
    """When the browser picks VNC auth although only None was offered, it is a protocol error."""
    console = world.guest(password=PASSWORD)
    rig = world.rig()
    browser = await rig.connect(port=console.port, password=PASSWORD)
    assert await browser.read(12) == V38
    browser.send(V38)
    assert await browser.read(2) == b"\x01\x01"
    browser.send(b"\x02")
    assert await browser.read_u32() == 1
    assert await browser.closed == (CloseCode.PROTOCOL_ERROR, "console protocol error")


# --- VeNCrypt x509 ----------------------------------------------------------


@pytest.mark.parametrize(("password", "subtype"), [
    (PASSWORD, VeNCryptSubtype.X509_VNC),
    (None, VeNCryptSubtype.X509_NONE),
])
@pytest_twisted.ensureDeferred
async def test_vencrypt_x509(world: Any, pki: Pki, password: str | None,
                             subtype: VeNCryptSubtype) -> None:
    """When the guest wants VeNCrypt x509 and a client certificate, the proxy gets in over TLS."""
    tls = vencrypt_server_tls(pki.server.cert_file, pki.server.key_file, pki.ca.cert_file)
    console = world.guest(password=password, tls=tls)
    rig = world.rig(pki.proxy_config("vencrypt", "vnc"))
    browser = await rig.connect(port=console.port, password=password)
    init = await handshake(browser)
    assert init.name == "secure-guest"
    shim = rig.shims[0]
    assert isinstance(shim, RFBSecurityProxy)
    assert (shim.security_type, shim.vencrypt_subtype) == (SecurityType.VENCRYPT, subtype)
    guest_side = only_client(console)
    assert guest_side.security_type == SecurityType.VENCRYPT
    peer = guest_side.transport.getPeerCertificate()  # type: ignore[union-attr]
    assert peer is not None
    assert peer.to_cryptography().subject.rfc4514_string() == "CN=nova-novncproxy"
    assert b"CERTIFICATE" not in bytes(browser.transcript)
    browser.sendClose()
    await browser.closed


@pytest.mark.parametrize(("server_cert", "client_cert", "why"), [
    ("misnamed", True, "IPAddressMismatch"),  # the certificate names another host
    ("stranger", True, "certificate verify failed"),  # signed by an authority not trusted
    ("server", False, "TLS with the guest failed"),  # the guest wants a client certificate
])
@pytest_twisted.ensureDeferred
async def test_vencrypt_refusals(world: Any, pki: Pki, server_cert: str, client_cert: bool,
                                 why: str) -> None:
    """When TLS with the guest cannot be trusted (or trust us), the session ends with 4007."""
    cert = getattr(pki, server_cert)
    tls = vencrypt_server_tls(cert.cert_file, cert.key_file, pki.ca.cert_file)
    console = world.guest(password=PASSWORD, tls=tls)
    rig = world.rig(pki.proxy_config("vencrypt", client_cert=client_cert))
    browser = await rig.connect(port=console.port, password=PASSWORD)
    with LogCapture() as logs:
        await refused_after_offer(browser)
        assert await browser.closed == AUTH_FAILED
    assert why in logs.text()
    assert BROWSER_REASON in bytes(browser.transcript)
    assert not any(client.ready for client in console.factory.clients)


@pytest_twisted.ensureDeferred
async def test_vencrypt_guest_refused_when_not_allowed(world: Any, pki: Pki) -> None:
    """When the guest offers only VeNCrypt and auth_schemes lacks it, the session is refused."""
    tls = vencrypt_server_tls(pki.server.cert_file, pki.server.key_file)
    console = world.guest(password=PASSWORD, tls=tls)
    rig = world.rig(RFBSecurityConfig(auth_schemes=("vnc", "none")))
    browser = await rig.connect(port=console.port, password=PASSWORD)
    await refused_after_offer(browser)
    assert await browser.closed == AUTH_FAILED


# --- the shim on its own, against the real server in memory ------------------


Pumped = tuple[RFBSecurityProxy, RFBServerProtocol, bytearray, Callable[[], None]]


def pump_pair(target: ConsoleTarget, server_config: SecurityConfig, chunk: int) -> Pumped:
    """The shim wired to a guest server over in-memory transports, ``chunk`` bytes at a time."""
    factory = RFBServerFactory(Framebuffer("memory", 160, 64), server_config)
    server = factory.buildProtocol(None)
    wire = StringTransport()
    to_browser = bytearray()
    to_guest = bytearray()
    shim = RFBSecurityProxy(target, to_guest.extend, to_browser.extend)
    server.makeConnection(wire)

    def pump() -> None:
        moved = True
        while moved:
            moved = False
            out = wire.value()
            wire.clear()
            for i in range(0, len(out), chunk):
                shim.from_guest(out[i:i + chunk])
                moved = True
            pending, to_guest[:] = bytes(to_guest), b""
            for i in range(0, len(pending), chunk):
                server.dataReceived(pending[i:i + chunk])
                moved = True

    return shim, server, to_browser, pump


def target_for(**fields: Any) -> ConsoleTarget:
    """A novnc target on 127.0.0.1."""
    return ConsoleTarget(**{
        "instance_uuid": "i", "console_type": "novnc", "host": "127.0.0.1", "port": 5900,
        "expires_at": 1e12, "token_id": "t", "user_id": "u", "project_id": "p", **fields})


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_handshake_in_any_pieces(chunk: int) -> None:
    """When bytes arrive one, three or all at a time from both sides, the result is the same."""
    shim, server, to_browser, pump = pump_pair(
        target_for(password=PASSWORD), SecurityConfig(password=PASSWORD), chunk)
    pump()
    assert bytes(to_browser) == V38  # the guest's version came; now the browser's turn
    for piece in (V38, b"\x01", b"\x01"):  # version, None, ClientInit (shared)
        for i in range(0, len(piece), chunk):
            shim.from_browser(piece[i:i + chunk])
        pump()
    assert server.security_type == SecurityType.VNC_AUTH
    assert server.ready
    assert shim.piping
    assert bytes(to_browser[:12 + 2 + 4]) == V38 + b"\x01\x01" + b"\0\0\0\0"
    (width, height) = struct.unpack("!HH", to_browser[18:22])
    assert (width, height) == (160, 64)


def test_early_browser_bytes_wait_for_the_guest() -> None:
    """When the browser sends its whole handshake and a request at once, they wait their turn."""
    shim, server, to_browser, pump = pump_pair(
        target_for(password=PASSWORD), SecurityConfig(password=PASSWORD), 1000)
    shim.from_guest(b"")  # nothing yet
    request = struct.pack("!BBHHHH", 3, 0, 0, 0, 160, 64)
    shim.from_browser(V38 + b"\x01" + b"\x01" + request)  # before even the guest's version
    assert not server.ready and to_browser == b""
    pump()
    assert server.ready and shim.piping
    init_end = 12 + 2 + 4 + 24 + len("memory")
    assert bytes(to_browser[:18]) == V38 + b"\x01\x01\0\0\0\0"
    kind, _, rects = struct.unpack("!BBH", to_browser[init_end:init_end + 4])
    assert (kind, rects) == (0, 1)  # the held request reached the guest and was answered


def test_browser_too_old_is_a_protocol_error() -> None:
    """When the browser answers with RFB 3.3, the proxy refuses it (3.8 only)."""
    shim, _, _, pump = pump_pair(target_for(), SecurityConfig(), 1000)
    pump()
    with pytest.raises(ShimError) as raised:
        shim.from_browser(b"RFB 003.003\n")
    assert not isinstance(raised.value, GuestAuthError)


def test_guest_not_rfb_is_a_protocol_error() -> None:
    """When the guest is not an RFB server, the proxy says so before the browser sees anything."""
    to_browser = bytearray()
    shim = RFBSecurityProxy(target_for(), bytearray().extend, to_browser.extend)
    with pytest.raises(ShimError):
        shim.from_guest(b"SSH-2.0-OpenSSH_9.2\r\n")
    assert to_browser == b""


def test_view_only_shim_inside() -> None:
    """When the target is view-only, the security proxy filters input like ``ViewOnlyShim``."""
    shim, server, _, pump = pump_pair(
        target_for(password=PASSWORD, view_only=True), SecurityConfig(password=PASSWORD), 1000)
    pump()
    shim.from_browser(V38 + b"\x01\x01")
    pump()
    shim.from_browser(struct.pack("!BBxxI", 4, 1, ord("x")))
    pump()
    assert server.ready and server.framebuffer.screen.input == ""
    assert isinstance(shim.filter, ViewOnlyFilter) and shim.filter.dropped == 1


# --- configuration and the default shims --------------------------------------


def test_default_shims_choice() -> None:
    """When no factory is configured, only VNC targets with a password get the security proxy."""
    sink = bytearray().extend
    assert isinstance(shim_for(target_for(password="pw"), sink, sink), RFBSecurityProxy)
    assert shim_for(target_for(), sink, sink) is None
    assert isinstance(shim_for(target_for(view_only=True), sink, sink), ViewOnlyShim)
    assert shim_for(target_for(console_type="serial", password="pw"), sink, sink) is None


def test_security_shims_for_every_vnc_session(pki: Pki) -> None:
    """When ``RFBSecurityShims`` is the factory, every VNC session gets the proxy, others not."""
    shims = RFBSecurityShims(pki.proxy_config("vencrypt", "none"))
    sink = bytearray().extend
    assert isinstance(shims(target_for(), sink, sink), RFBSecurityProxy)
    assert shims(target_for(console_type="spice-html5"), sink, sink) is None
    assert shims.tls is not None and len(shims.tls.authorities) == 1
    assert shims.tls.client_key is not None and len(shims.tls.client_chain) == 1


@pytest.mark.parametrize(("options", "message"), [
    ({"auth_schemes": ()}, "at least one"),
    ({"auth_schemes": ("vnc", "sasl")}, "unknown sasl"),
    ({"auth_schemes": ("vencrypt",)}, "vencrypt_ca_certs"),
    ({"vencrypt_client_key": "/k.pem"}, "go together"),
])
def test_config_errors(options: dict[str, Any], message: str) -> None:
    """When [vnc] options cannot work, the config says which at once."""
    with pytest.raises(ValueError, match=message):
        RFBSecurityConfig(**options)


def test_unreadable_ca_file(tmp_path: Path) -> None:
    """When the CA bundle holds no certificate, building the shims fails with the path."""
    empty = tmp_path / "ca.pem"
    empty.write_text("not a certificate\n")
    with pytest.raises(ValueError, match="no PEM certificate"):
        RFBSecurityShims(RFBSecurityConfig(auth_schemes=("vencrypt",),
                                           vencrypt_ca_certs=str(empty)))


def test_client_key_must_match_its_certificate(pki: Pki) -> None:
    """When the client key belongs to another certificate, building the shims says so."""
    config = RFBSecurityConfig(auth_schemes=("vencrypt",), vencrypt_ca_certs=str(pki.ca.cert_file),
                               vencrypt_client_cert=str(pki.client.cert_file),
                               vencrypt_client_key=str(pki.server.key_file))
    with pytest.raises(ValueError, match="is not the key of"):
        RFBSecurityShims(config)
