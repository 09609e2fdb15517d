"""VNC authentication: the DES key, the response, the handler table."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.testing import StringTransport
from vncdotool.rfb import _vnc_des, des_encrypt

from nova_ws.compute.drivers.fake.rfb.security import (
    SECURITY_TYPES,
    NoneSecurity,
    SecurityConfig,
    SecurityType,
    VeNCryptSecurity,
    VeNCryptSubtype,
    VncAuthSecurity,
    vnc_auth_response,
    vnc_des_key,
)


def test_key_bits_are_reversed() -> None:
    """When a password becomes a key, each byte's bits are mirrored and it is zero-padded."""
    assert vnc_des_key("\x01") == b"\x80" + b"\0" * 7
    assert vnc_des_key("ab") == bytes([0x86, 0x46]) + b"\0" * 6
    assert vnc_des_key("0123456789") == vnc_des_key("01234567")


def test_known_response() -> None:
    """When the challenge is zeros and the password "password", the answer is stable."""
    response = vnc_auth_response("password", bytes(16))
    assert len(response) == 16
    assert response[:8] == response[8:]  # ECB: equal blocks, equal output
    assert response != vnc_auth_response("passwore", bytes(16))


@pytest.mark.filterwarnings("ignore:TripleDES has been moved")
@given(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
    st.binary(min_size=16, max_size=16),
)
def test_agrees_with_vncdotool(password: str, challenge: bytes) -> None:
    """When any ASCII password answers any challenge, vncdotool computes the same bytes."""
    assert vnc_auth_response(password, challenge) == des_encrypt(_vnc_des(password), challenge)


def test_handler_table() -> None:
    """When the table is read, None, VNC auth and VeNCrypt have handlers."""
    assert SECURITY_TYPES[SecurityType.NONE] is NoneSecurity
    assert SECURITY_TYPES[SecurityType.VNC_AUTH] is VncAuthSecurity
    assert SECURITY_TYPES[SecurityType.VENCRYPT] is VeNCryptSecurity


def test_offered_types() -> None:
    """When a password is set, VNC auth is offered; else None; unknown types are left out."""
    assert SecurityConfig().offered() == (1,)
    assert SecurityConfig(password="x").offered() == (2,)
    assert SecurityConfig(types=(19, 2, 1)).offered() == (2, 1)


def test_vnc_auth_waits_for_16_bytes() -> None:
    """When the response arrives in pieces, the handler waits, then decides."""
    config = SecurityConfig(password="pw", random_bytes=lambda n: b"c" * n)
    handler = VncAuthSecurity(config)
    buffer = bytearray(vnc_auth_response("pw", b"c" * 16))
    first = bytearray(buffer[:10])
    assert handler.receive(first) is None
    first += buffer[10:] + b"\x01"
    result = handler.receive(first)
    assert result is not None and result.ok
    assert first == b"\x01"  # ClientInit stays for the protocol


def test_vencrypt_offered_only_with_tls() -> None:
    """When TLS options are set, VeNCrypt is offered, with X509Vnc given a password."""
    tls = object()
    assert SecurityConfig(tls=tls).offered() == (19,)
    assert SecurityConfig(tls=tls).vencrypt_offered() == (VeNCryptSubtype.X509_NONE,)
    assert SecurityConfig(tls=tls, password="x").vencrypt_offered() == (
        VeNCryptSubtype.X509_VNC,)
    assert SecurityConfig(types=(19, 1), tls=tls).offered() == (19, 1)
    assert SecurityConfig(vencrypt_subtypes=(257, 260, 261)).vencrypt_offered() == (260,)


class _TLSRecorder(StringTransport):
    """An in-memory transport that notes the TLS options ``startTLS`` was given."""

    def __init__(self) -> None:
        super().__init__()
        self.tls: object | None = None

    def startTLS(self, options: object) -> None:
        self.tls = options


def _vencrypt(password: str | None = None) -> tuple[VeNCryptSecurity, _TLSRecorder, object]:
    tls = object()
    handler = VeNCryptSecurity(SecurityConfig(password=password, tls=tls,
                                              random_bytes=lambda n: b"c" * n))
    transport = _TLSRecorder()
    handler.begin(transport)
    assert transport.value() == b"\x00\x02"
    transport.clear()
    return handler, transport, tls


def test_vencrypt_x509vnc_exchange() -> None:
    """When the client takes version 0.2 and X509Vnc, TLS starts, then the VNC challenge."""
    handler, transport, tls = _vencrypt("pw")
    assert handler.receive(bytearray(b"\x00\x02")) is None
    assert transport.value() == b"\x00\x01" + struct.pack("!I", 261)  # ok, one subtype
    transport.clear()
    assert handler.receive(bytearray(struct.pack("!I", 261))) is None
    assert transport.tls is tls
    assert transport.value() == b"\x01" + b"c" * 16  # accepted, then (over TLS) the challenge
    result = handler.receive(bytearray(vnc_auth_response("pw", b"c" * 16)))
    assert result is not None and result.ok


@pytest.mark.parametrize(("sent", "reply"), [
    (b"\x00\x01", b"\xff"),  # a VeNCrypt version the server does not speak
    (b"\x00\x02" + struct.pack("!I", 257), b"\x00\x01" + struct.pack("!I", 260) + b"\x00"),
])
def test_vencrypt_refusals_send_no_security_result(sent: bytes, reply: bytes) -> None:
    """When the version or subtype is refused, the server says so its own way and no TLS starts."""
    handler, transport, _ = _vencrypt()
    result = handler.receive(bytearray(sent))
    assert result is not None and not result.ok and not result.send_result
    assert transport.value() == reply
    assert transport.tls is None
