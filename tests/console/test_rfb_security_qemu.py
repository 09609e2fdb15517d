"""The RFB security proxy against QEMU's own VNC server (``qemu-system-x86_64 -machine none``).

QEMU runs with no machine and no disk, only ``-vnc`` on 127.0.0.1: with a
VNC password (``password-secret``), and with x509 credentials
(``tls-creds-x509``), which make it offer VeNCrypt X509None or, with a
password, X509Vnc -- demanding the proxy's client certificate when
``verify-peer=yes``. The proxy's side is the product's: ``RFBSecurityShims``.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted

from nova_ws.console.proxy import CloseCode
from nova_ws.console.rfb_security import (
    RFBSecurityConfig,
    RFBSecurityProxy,
    SecurityType,
    VeNCryptSubtype,
)
from tests.console.rfb_support import (
    BROWSER_REASON,
    LogCapture,
    Pki,
    Qemu,
    SecureRig,
    handshake,
    make_rig,
    qemu_tls_dir,
    refusals,
    refused_after_offer,
)

pytestmark = pytest.mark.integration

PASSWORD = "qemu-pw"
AUTH_FAILED = (CloseCode.GUEST_AUTH_FAILED, "console authentication to the guest failed")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """The guests' CA, QEMU's certificates and the proxy's client certificate."""
    return Pki.create(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def qemu(tmp_path: Path) -> Iterator[Any]:
    """Starts QEMU VNC servers for one test (``qemu(password=..., tls_dir=...)``)."""
    running: list[Qemu] = []

    def start(**options: Any) -> Qemu:
        workdir = tmp_path / f"qemu-{len(running)}"
        workdir.mkdir()
        server = Qemu(workdir, **options)
        server.start()
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


@pytest_twisted.async_yield_fixture
async def rigs() -> AsyncIterator[Any]:
    """Makes proxies; stops them afterwards."""
    from twisted.internet import reactor

    made: list[SecureRig] = []

    def make(security: RFBSecurityConfig) -> SecureRig:
        rig = make_rig(reactor, security)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await rig.stop()


def shim_of(rig: SecureRig) -> RFBSecurityProxy:
    """The session's security proxy."""
    shim = rig.shims[-1]
    assert isinstance(shim, RFBSecurityProxy)
    return shim


async def assert_screen_flows(browser: Any, width: int, height: int) -> None:
    """A full update request is answered with a FramebufferUpdate."""
    browser.send(struct.pack("!BBHHHH", 3, 0, 0, 0, width, height))
    kind, _, rects = struct.unpack("!BBH", await browser.read(4))
    assert kind == 0 and rects >= 1


@pytest_twisted.ensureDeferred
async def test_qemu_vnc_password(qemu: Any, rigs: Any) -> None:
    """When QEMU asks for its VNC password, the browser is offered None and gets ServerInit."""
    server = qemu(password=PASSWORD)
    rig = rigs(RFBSecurityConfig(auth_schemes=("vnc",)))
    browser = await rig.connect(port=server.port, password=PASSWORD)
    init = await handshake(browser)
    assert init.width > 0 and init.height > 0
    assert "guest-under-test" in init.name
    assert shim_of(rig).security_type == SecurityType.VNC_AUTH
    await assert_screen_flows(browser, init.width, init.height)
    assert PASSWORD.encode() not in bytes(browser.transcript)
    browser.sendClose()
    await browser.closed


@pytest_twisted.ensureDeferred
async def test_qemu_wrong_password(qemu: Any, rigs: Any) -> None:
    """When the password is wrong, the browser sees only None offered, a failure, and 4007."""
    server = qemu(password=PASSWORD)
    rig = rigs(RFBSecurityConfig(auth_schemes=("vnc", "none")))
    browser = await rig.connect(port=server.port, password="nope")
    with LogCapture() as logs:
        after_choice = await refused_after_offer(browser)
        assert await browser.closed == AUTH_FAILED
    # the whole transcript: versions, [None], the generic failure -- no challenge, no password
    assert bytes(browser.transcript) in refusals(after_choice)
    assert "the guest refused authentication" in logs.text()


@pytest.mark.parametrize(("password", "subtype"), [
    (PASSWORD, VeNCryptSubtype.X509_VNC),
    (None, VeNCryptSubtype.X509_NONE),
])
@pytest_twisted.ensureDeferred
async def test_qemu_vencrypt_x509(qemu: Any, rigs: Any, pki: Pki, tmp_path: Path,
                                  password: str | None, subtype: VeNCryptSubtype) -> None:
    """When QEMU has x509 credentials and verifies peers, the proxy gets in over VeNCrypt."""
    tls_dir = qemu_tls_dir(pki, pki.server, tmp_path / "tls")
    server = qemu(password=password, tls_dir=tls_dir, verify_peer=True)
    rig = rigs(pki.proxy_config("vencrypt", "vnc", "none"))
    browser = await rig.connect(port=server.port, password=password)
    init = await handshake(browser)
    assert "guest-under-test" in init.name
    shim = shim_of(rig)
    assert (shim.security_type, shim.vencrypt_subtype) == (SecurityType.VENCRYPT, subtype)
    await assert_screen_flows(browser, init.width, init.height)
    browser.sendClose()
    await browser.closed


@pytest.mark.parametrize(("server_cert", "client_cert", "why"), [
    ("misnamed", True, "IPAddressMismatch"),  # QEMU's certificate names another host
    ("stranger", True, "certificate verify failed"),  # from an authority the proxy distrusts
    ("server", False, "TLS with the guest failed"),  # QEMU wants the proxy's certificate
])
@pytest_twisted.ensureDeferred
async def test_qemu_vencrypt_refusals(qemu: Any, rigs: Any, pki: Pki, tmp_path: Path,
                                      server_cert: str, client_cert: bool, why: str) -> None:
    """When TLS with QEMU cannot be trusted (or QEMU will not trust us), it is 4007."""
    tls_dir = qemu_tls_dir(pki, getattr(pki, server_cert), tmp_path / "tls")
    server = qemu(password=PASSWORD, tls_dir=tls_dir, verify_peer=True)
    rig = rigs(pki.proxy_config("vencrypt", client_cert=client_cert))
    browser = await rig.connect(port=server.port, password=PASSWORD)
    with LogCapture() as logs:
        await refused_after_offer(browser)
        assert await browser.closed == AUTH_FAILED
    assert why in logs.text()
    assert BROWSER_REASON in bytes(browser.transcript)


@pytest_twisted.ensureDeferred
async def test_qemu_offering_only_disallowed_schemes(qemu: Any, rigs: Any, pki: Pki,
                                                     tmp_path: Path) -> None:
    """When QEMU offers only VeNCrypt and auth_schemes does not allow it, it is refused."""
    tls_dir = qemu_tls_dir(pki, pki.server, tmp_path / "tls")
    server = qemu(password=PASSWORD, tls_dir=tls_dir)
    rig = rigs(RFBSecurityConfig(auth_schemes=("vnc", "none")))
    browser = await rig.connect(port=server.port, password=PASSWORD)
    with LogCapture() as logs:
        await refused_after_offer(browser)
        assert await browser.closed == AUTH_FAILED
    assert "no allowed security type: the guest offers VENCRYPT" in logs.text()
