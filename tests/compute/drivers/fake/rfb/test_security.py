"""VNC authentication: the DES key, the response, the handler table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vncdotool.rfb import _vnc_des, des_encrypt

from nova_ws.compute.drivers.fake.rfb.security import (
    SECURITY_TYPES,
    NoneSecurity,
    SecurityConfig,
    SecurityType,
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
    """When the table is read, None and VNC auth have handlers and VeNCrypt not yet."""
    assert SECURITY_TYPES[SecurityType.NONE] is NoneSecurity
    assert SECURITY_TYPES[SecurityType.VNC_AUTH] is VncAuthSecurity
    assert SecurityType.VENCRYPT not in SECURITY_TYPES


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
