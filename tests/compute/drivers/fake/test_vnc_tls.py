"""Fake guests serve VeNCrypt x509 with our CA's certificates, as nova.conf says.

The compute side (the fake driver from ``[vnc] server_tls*``, a QEMU-style
certificate directory) and the proxy side (the RFB security proxy from
``[vnc] auth_schemes, vencrypt_*``) are built from one nova.conf, with
certificates that nova-cert's authority issued. The console works over TLS;
a proxy certificate from another CA or a revoked one, and a guest
certificate from another CA, are refused.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted

from nova_ws.auth.ca import authority
from nova_ws.auth.ca.authority import CaPaths, CertificateAuthority
from nova_ws.compute.drivers.fake.driver import FakeDriver
from nova_ws.compute.drivers.interfaces import InstanceSpec
from nova_ws.compute.service import make_driver
from nova_ws.config import NovaConfig, parse_config
from nova_ws.console.proxy import CloseCode
from nova_ws.console.rfb_security import RFBSecurityConfig
from tests.console.rfb_support import LogCapture, handshake, make_rig, refused_after_offer

AUTH_FAILED = (CloseCode.GUEST_AUTH_FAILED, "console authentication to the guest failed")


@dataclass
class Site:
    """Our CA and a foreign one; the guests' certificate directory; the proxy's files."""

    ca: CertificateAuthority
    paths: CaPaths
    foreign: CertificateAuthority
    vnc_dir: Path
    proxy_dir: Path

    def config(self, proxy_dir: Path | None = None) -> NovaConfig:
        """nova.conf for a compute host and a noVNC proxy trusting our CA."""
        proxy = proxy_dir or self.proxy_dir
        return parse_config(f"""
[vnc]
server_listen = 127.0.0.1
server_tls = true
server_tls_x509_cert_dir = {self.vnc_dir}
server_tls_x509_verify = true
auth_schemes = vencrypt
vencrypt_ca_certs = {self.paths.cert}
vencrypt_client_cert = {proxy}/nova-novncproxy-cert.pem
vencrypt_client_key = {proxy}/nova-novncproxy-key.pem
""")


def _ca(directory: Path, name: str) -> tuple[CertificateAuthority, CaPaths]:
    paths = CaPaths(directory / "cacert.pem", directory / "private" / "cakey.pem",
                    directory / "crl.pem", directory / "keys")
    return authority.create(paths, name), paths


def _guest_dir(ca: CertificateAuthority, directory: Path, trusted: CertificateAuthority,
               revoked: list[tuple[str, datetime.datetime]] | None = None) -> Path:
    """QEMU's layout: our server certificate and key, the CA its clients need, its CRL."""
    authority.write_issued(directory, "server", ca.issue_server("127.0.0.1"))
    authority.write_public(directory / "ca-cert.pem", trusted.cert_pem)
    authority.write_crl(directory / "ca-crl.pem", trusted.crl(revoked or []))
    return directory


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """Our CA, a foreign one, the guests' directory and the proxy's certificate."""
    ca, paths = _ca(tmp_path / "CA", "Cloud CA")
    foreign, _ = _ca(tmp_path / "foreign", "Foreign CA")
    proxy_dir = tmp_path / "proxy"
    authority.write_issued(proxy_dir, "nova-novncproxy",
                           ca.issue_service("nova-novncproxy", "console"))
    return Site(ca, paths, foreign, _guest_dir(ca, tmp_path / "vnc", ca), proxy_dir)


@pytest_twisted.async_yield_fixture
async def world() -> AsyncIterator[Any]:
    """Drivers and proxies made in a test, all stopped afterwards."""
    from twisted.internet import reactor

    drivers: list[FakeDriver] = []
    rigs: list[Any] = []

    class World:
        async def guest(self, config: NovaConfig) -> tuple[FakeDriver, int]:
            driver = make_driver(config, reactor)
            assert isinstance(driver, FakeDriver)
            drivers.append(driver)
            await driver.spawn(InstanceSpec("u-1", "tls-guest", 1, 64, 1))
            endpoint = await driver.get_console("u-1", "vnc")
            assert (endpoint.host, endpoint.tls) == ("127.0.0.1", False)  # VeNCrypt upgrades
            return driver, endpoint.port

        def proxy(self, config: NovaConfig) -> Any:
            v = config.vnc
            rig = make_rig(reactor, RFBSecurityConfig(
                auth_schemes=v.auth_schemes, vencrypt_ca_certs=v.vencrypt_ca_certs,
                vencrypt_client_cert=v.vencrypt_client_cert,
                vencrypt_client_key=v.vencrypt_client_key))
            rigs.append(rig)
            return rig

    yield World()
    for rig in rigs:
        await rig.stop()
    for driver in drivers:
        await driver.destroy("u-1")


async def _refused(world: Any, guest_config: NovaConfig, proxy_config: NovaConfig,
                   why: str) -> None:
    driver, port = await world.guest(guest_config)
    rig = world.proxy(proxy_config)
    browser = await rig.connect(port=port, password=driver.vnc_password)
    with LogCapture() as logs:
        await refused_after_offer(browser)
        assert await browser.closed == AUTH_FAILED
    assert why in logs.text()
    assert not any(c.ready for c in driver.guests["u-1"].console.factory.clients)


@pytest_twisted.ensureDeferred
async def test_console_over_tls_with_our_certificates(world: Any, site: Site) -> None:
    """When guest and proxy hold our CA's certificates, the console opens over VeNCrypt
    x509, each side having verified the other."""
    driver, port = await world.guest(site.config())
    rig = world.proxy(site.config())
    browser = await rig.connect(port=port, password=driver.vnc_password)
    init = await handshake(browser)
    assert init.name == "tls-guest"
    (guest_side,) = driver.guests["u-1"].console.factory.clients
    peer = guest_side.transport.getPeerCertificate().to_cryptography()  # type: ignore
    assert peer.subject.rfc4514_string() == "OU=console,CN=nova-novncproxy"
    assert peer.issuer == site.ca.cert.subject
    assert b"CERTIFICATE" not in bytes(browser.transcript)
    browser.sendClose()
    await browser.closed


@pytest_twisted.ensureDeferred
async def test_proxy_certificate_from_another_ca_is_refused(world: Any, site: Site,
                                                            tmp_path: Path) -> None:
    """When the proxy's client certificate comes from another CA, the guest refuses it."""
    stranger = tmp_path / "stranger"
    authority.write_issued(stranger, "nova-novncproxy",
                           site.foreign.issue_service("nova-novncproxy", "console"))
    await _refused(world, site.config(), site.config(stranger), "TLS with the guest failed")


@pytest_twisted.ensureDeferred
async def test_revoked_proxy_certificate_is_refused(world: Any, site: Site,
                                                    tmp_path: Path) -> None:
    """When the proxy's certificate is in the guests' CRL, the guest refuses it."""
    revoked = tmp_path / "revoked"
    issued = site.ca.issue_service("nova-novncproxy", "console")
    authority.write_issued(revoked, "nova-novncproxy", issued)
    authority.write_crl(site.vnc_dir / "ca-crl.pem",
                        site.ca.crl([(issued.serial, site.ca.now())]))
    await _refused(world, site.config(), site.config(revoked), "TLS with the guest failed")


@pytest_twisted.ensureDeferred
async def test_guest_certificate_from_another_ca_is_refused(world: Any, site: Site,
                                                            tmp_path: Path) -> None:
    """When a guest's server certificate comes from another CA, the proxy refuses it."""
    _guest_dir(site.foreign, tmp_path / "vnc-foreign", site.ca)
    config = site.config()
    guest_config = parse_config(f"""
[vnc]
server_tls = true
server_tls_x509_cert_dir = {tmp_path / "vnc-foreign"}
server_tls_x509_verify = true
""")
    await _refused(world, guest_config, config, "certificate verify failed")


def test_server_tls_needs_its_directory() -> None:
    """When [vnc] server_tls is on without a directory, the driver is not built."""
    from twisted.internet import reactor

    with pytest.raises(ValueError, match="server_tls_x509_cert_dir"):
        make_driver(parse_config("[vnc]\nserver_tls = true\n"), reactor)
