"""RFB security types: a table from type number to the handler that runs it.

After the client picks a security type (RFC 6143 section 7.1.2), the server
protocol builds that type's handler from ``SECURITY_TYPES`` and feeds it the
bytes the client sends until it returns an ``AuthResult``. A new type (such as
VeNCrypt, 19) is one more handler class and one more table entry; a handler
gets the transport in ``begin`` so it can also start TLS there.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from cryptography.hazmat.primitives.ciphers import Cipher, modes
from twisted.internet.interfaces import ITransport

try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # cryptography < 43
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

RandomBytes = Callable[[int], bytes]


class SecurityType(IntEnum):
    """Security type numbers from the RFB registry."""

    INVALID = 0
    NONE = 1
    VNC_AUTH = 2
    VENCRYPT = 19


@dataclass(frozen=True)
class AuthResult:
    """How a security exchange ended; ``reason`` goes to 3.8 clients on failure."""

    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class SecurityConfig:
    """What a server's security handlers need: the password and a random source.

    ``types`` fixes the offered security types in order of preference; by
    default it is VNC authentication when there is a password, else None.
    """

    password: str | None = None
    random_bytes: RandomBytes = os.urandom
    types: tuple[int, ...] | None = None

    def offered(self) -> tuple[int, ...]:
        """The security types to offer, most preferred first."""
        if self.types is not None:
            return tuple(t for t in self.types if t in SECURITY_TYPES)
        if self.password is not None:
            return (SecurityType.VNC_AUTH,)
        return (SecurityType.NONE,)


class SecurityHandler(Protocol):
    """One client's run of one security type."""

    def begin(self, transport: ITransport) -> None:
        """Start the exchange: send what the server sends first, if anything."""

    def receive(self, buffer: bytearray) -> AuthResult | None:
        """Consume client bytes from the front of ``buffer``.

        Returns None while more bytes are needed; an ``AuthResult`` once the
        exchange is over. Bytes after the exchange stay in ``buffer``.
        """


class NoneSecurity:
    """Security type 1: nothing to exchange, always succeeds."""

    def __init__(self, config: SecurityConfig) -> None:
        self._config = config

    def begin(self, transport: ITransport) -> None:
        """Nothing is sent."""

    def receive(self, buffer: bytearray) -> AuthResult | None:
        """Succeeds at once without consuming anything."""
        return AuthResult(True)


def vnc_des_key(password: str) -> bytes:
    """The DES key VNC derives from a password: 8 bytes, zero-padded, bits reversed.

    Only the first 8 bytes of the UTF-8 password count, as in every VNC server.
    """
    raw = password.encode("utf-8")[:8].ljust(8, b"\0")
    return bytes(int(f"{byte:08b}"[::-1], 2) for byte in raw)


def vnc_auth_response(password: str, challenge: bytes) -> bytes:
    """The client's answer to a 16-byte challenge: DES-ECB of it under the VNC key.

    Single DES is TripleDES with the 8-byte key repeated three times.
    """
    key = vnc_des_key(password)
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


class VncAuthSecurity:
    """Security type 2: DES challenge and response with the configured password."""

    CHALLENGE_SIZE = 16

    def __init__(self, config: SecurityConfig) -> None:
        if config.password is None:
            raise ValueError("VNC authentication needs a password")
        self._password = config.password
        self._challenge = config.random_bytes(self.CHALLENGE_SIZE)
        if len(self._challenge) != self.CHALLENGE_SIZE:
            raise ValueError("the random source gave a short challenge")

    def begin(self, transport: ITransport) -> None:
        """Send the 16-byte challenge."""
        transport.write(self._challenge)

    def receive(self, buffer: bytearray) -> AuthResult | None:
        """Check the 16-byte response against the password."""
        if len(buffer) < self.CHALLENGE_SIZE:
            return None
        response = bytes(buffer[: self.CHALLENGE_SIZE])
        del buffer[: self.CHALLENGE_SIZE]
        expected = vnc_auth_response(self._password, self._challenge)
        if hmac.compare_digest(response, expected):
            return AuthResult(True)
        return AuthResult(False, "Authentication failed: wrong password")


HandlerFactory = Callable[[SecurityConfig], SecurityHandler]

#: Security type -> handler class. Add VeNCrypt here.
SECURITY_TYPES: dict[int, HandlerFactory] = {
    SecurityType.NONE: NoneSecurity,
    SecurityType.VNC_AUTH: VncAuthSecurity,
}

#: The types a 3.3 client can be told to use (the server picks for it).
RFB33_TYPES = frozenset({SecurityType.NONE, SecurityType.VNC_AUTH})
