"""The RFB handshake over an in-memory transport: versions, security types, init."""

from __future__ import annotations

import pytest

from nova_ws.compute.drivers.fake.rfb import (
    SERVER_PIXEL_FORMAT,
    Framebuffer,
    RFBServerFactory,
    SecurityConfig,
)
from nova_ws.compute.drivers.fake.rfb.security import vnc_auth_response
from tests.compute.drivers.fake.rfb.rfbclient import (
    V33,
    V37,
    V38,
    Wire,
    handshake,
    read_server_init,
)

CHALLENGE = bytes(range(16))


@pytest.fixture
def framebuffer() -> Framebuffer:
    """A small console named guest-1."""
    return Framebuffer("guest-1", 320, 96)


def factory_for(framebuffer: Framebuffer, password: str | None = None) -> RFBServerFactory:
    """A server factory with a fixed challenge."""
    return RFBServerFactory(
        framebuffer, SecurityConfig(password=password, random_bytes=lambda n: CHALLENGE[:n])
    )


def test_38_with_no_security(framebuffer: Framebuffer) -> None:
    """When a 3.8 client picks None, it gets SecurityResult OK and ServerInit."""
    wire = Wire(factory_for(framebuffer))
    assert wire.read(12) == b"RFB 003.008\n"
    wire.send(V38)
    assert wire.read(2) == b"\x01\x01"  # one type: None
    wire.send(b"\x01")
    assert wire.read_u32() == 0
    wire.send(b"\x01")  # shared
    init = read_server_init(wire)
    assert (init.width, init.height, init.name) == (320, 96, "guest-1")
    assert init.pixel_format == SERVER_PIXEL_FORMAT
    assert wire.pending() == b""
    assert not wire.closed
    assert wire.proto.ready


def test_38_vnc_auth_right_password(framebuffer: Framebuffer) -> None:
    """When a 3.8 client answers the challenge with the right password, it gets in."""
    wire = Wire(factory_for(framebuffer, "s3cret"))
    wire.read(12)
    wire.send(V38)
    assert wire.read(2) == b"\x01\x02"  # one type: VNC authentication
    wire.send(b"\x02")
    assert wire.read(16) == CHALLENGE
    wire.send(vnc_auth_response("s3cret", CHALLENGE))
    assert wire.read_u32() == 0
    wire.send(b"\x01")
    assert read_server_init(wire).name == "guest-1"


def test_38_vnc_auth_wrong_password(framebuffer: Framebuffer) -> None:
    """When a 3.8 client answers with a wrong password, it gets failed, a reason, a close."""
    wire = Wire(factory_for(framebuffer, "s3cret"))
    wire.read(12)
    wire.send(V38)
    wire.read(2)
    wire.send(b"\x02")
    challenge = wire.read(16)
    wire.send(vnc_auth_response("guess", challenge))
    assert wire.read_u32() == 1
    assert "Authentication failed" in wire.read_string()
    assert wire.pending() == b""
    assert wire.closed
    wire.send(b"\x01")  # anything after is ignored
    assert wire.pending() == b""


def test_33_client_is_told_the_security_type(framebuffer: Framebuffer) -> None:
    """When a 3.3 client connects, the server picks the type and sends it as a u32."""
    wire = Wire(factory_for(framebuffer))
    wire.read(12)
    wire.send(V33)
    assert wire.read_u32() == 1
    wire.send(b"\x00")  # no SecurityResult for None before 3.8: ClientInit at once
    init = read_server_init(wire)
    assert init.name == "guest-1"
    assert wire.proto.version == (3, 3)


def test_33_client_with_vnc_auth(framebuffer: Framebuffer) -> None:
    """When a 3.3 client must authenticate, it gets type 2, the challenge, then OK."""
    wire, init = handshake(factory_for(framebuffer, "pw"), V33, password="pw")
    assert init.name == "guest-1"


def test_33_wrong_password_has_no_reason(framebuffer: Framebuffer) -> None:
    """When a 3.3 client fails VNC auth, it gets SecurityResult failed and no reason."""
    wire = Wire(factory_for(framebuffer, "pw"))
    wire.read(12)
    wire.send(V33)
    assert wire.read_u32() == 2
    wire.send(vnc_auth_response("nope", wire.read(16)))
    assert wire.read_u32() == 1
    assert wire.pending() == b""
    assert wire.closed


def test_37_none_has_no_security_result(framebuffer: Framebuffer) -> None:
    """When a 3.7 client picks None, ServerInit follows ClientInit with no SecurityResult."""
    wire, init = handshake(factory_for(framebuffer), V37)
    assert init.width == 320
    assert wire.proto.version == (3, 7)


@pytest.mark.parametrize(
    ("sent", "version"),
    [(b"RFB 003.889\n", (3, 8)), (b"RFB 003.005\n", (3, 3)), (b"RFB 003.006\n", (3, 3))],
)
def test_other_minor_versions(framebuffer: Framebuffer, sent: bytes, version: tuple) -> None:
    """When a client sends another 3.x version, the server uses the nearest it knows."""
    wire = Wire(factory_for(framebuffer))
    wire.read(12)
    wire.send(sent)
    assert wire.proto.version == version
    assert not wire.closed


@pytest.mark.parametrize("sent", [b"RFB 004.001\n", b"GET / HTTP/1", b"RFB 003.00x\n"])
def test_bad_version_closes(framebuffer: Framebuffer, sent: bytes) -> None:
    """When the ProtocolVersion is not RFB 3.x, the connection closes."""
    wire = Wire(factory_for(framebuffer))
    wire.read(12)
    wire.send(sent)
    assert wire.closed
    assert wire.pending() == b""


def test_version_in_pieces(framebuffer: Framebuffer) -> None:
    """When the version arrives a byte at a time, the handshake goes on the same."""
    wire = Wire(factory_for(framebuffer))
    wire.read(12)
    for byte in V38:
        wire.send(bytes([byte]))
    assert wire.read(2) == b"\x01\x01"


def test_unoffered_security_type_fails_with_reason(framebuffer: Framebuffer) -> None:
    """When a 3.8 client picks a type that was not offered, it gets failed and a reason."""
    wire = Wire(factory_for(framebuffer, "pw"))
    wire.read(12)
    wire.send(V38)
    wire.read(2)
    wire.send(b"\x01")  # None, but only VNC auth was offered
    assert wire.read_u32() == 1
    assert "not offered" in wire.read_string()
    assert wire.closed


def test_no_usable_type_for_33(framebuffer: Framebuffer) -> None:
    """When no offered type works for 3.3 (VeNCrypt only), a 3.3 client gets 0 and a reason."""
    factory = RFBServerFactory(framebuffer, SecurityConfig(types=(19,)))
    wire = Wire(factory)
    wire.read(12)
    wire.send(V33)
    assert wire.read_u32() == 0
    assert wire.read_string()
    assert wire.closed


def test_exclusive_client_drops_the_others(framebuffer: Framebuffer) -> None:
    """When a client asks for exclusive access (shared-flag 0), the others are dropped."""
    factory = factory_for(framebuffer)
    first, _ = handshake(factory)
    second, _ = handshake(factory, shared=False)
    assert first.closed
    assert not second.closed


def test_shared_clients_stay(framebuffer: Framebuffer) -> None:
    """When clients share, both stay connected and both are counted."""
    factory = factory_for(framebuffer)
    first, _ = handshake(factory)
    second, _ = handshake(factory)
    assert not first.closed and not second.closed
    assert len(factory.clients) == 2
    first.close()
    assert factory.clients == {second.proto}


def test_name_is_utf8(framebuffer: Framebuffer) -> None:
    """When the guest name is not ASCII, ServerInit carries it as UTF-8."""
    factory = factory_for(Framebuffer("gäst-ü", 320, 96))
    _, init = handshake(factory)
    assert init.name == "gäst-ü"
