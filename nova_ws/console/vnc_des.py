"""VNC authentication's DES: the key a password makes and the response to a challenge.

RFB security type 2 (RFC 6143 section 7.2.2) encrypts the server's 16-byte
challenge with single DES in ECB mode. The key is the password's first 8
bytes, zero-padded, with the bits of every byte reversed -- a quirk of the
original VNC code that every server and client keeps. ``cryptography`` has no
single DES, but three-key Triple DES with the same key three times is
single DES (encrypt, decrypt, encrypt under one key), so that is used here.

The console proxy answers a guest's challenge with this (``rfb_security``);
the fake driver's VNC server checks its clients' answers with it.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, modes

try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # cryptography < 43
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

#: Bytes in a VNC-auth challenge and in its response.
CHALLENGE_SIZE = 16


def vnc_des_key(password: str) -> bytes:
    """The DES key VNC derives from a password: 8 bytes, zero-padded, bits reversed.

    Only the first 8 bytes of the UTF-8 password count, as in every VNC server.
    """
    raw = password.encode("utf-8")[:8].ljust(8, b"\0")
    return bytes(int(f"{byte:08b}"[::-1], 2) for byte in raw)


def vnc_auth_response(password: str, challenge: bytes) -> bytes:
    """The client's answer to a 16-byte challenge: DES-ECB of it under the VNC key."""
    if len(challenge) != CHALLENGE_SIZE:
        raise ValueError(f"a VNC challenge is {CHALLENGE_SIZE} bytes, not {len(challenge)}")
    key = vnc_des_key(password)
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()
