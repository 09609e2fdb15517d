"""A blocking, byte-level WAMP client for throwing bad input at a live router.

It speaks RawSocket (JSON) and WebSocket (``wamp.2.json``) just well enough to
send arbitrary payloads and read what the router answers, so tests can send
what no well-behaved client library would.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from typing import Any

TIMEOUT = 10.0  # a safety net against a hung router, never a measured delay


class Closed(Exception):
    """The router closed the connection."""


class RawSocketClient:
    """WAMP over RawSocket with the JSON serializer."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.sendall(b"\x7f\xf1\x00\x00")  # max length 2^24, serializer json
        reply = self._read_exact(4)
        if reply[0] != 0x7F or reply[1] & 0x0F != 1:
            raise AssertionError(f"bad RawSocket handshake reply {reply!r}")

    def _read_exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise Closed()
            buf += chunk
        return buf

    def send_bytes(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack("!I", len(payload)) + payload)

    def send(self, msg: list[Any]) -> None:
        self.send_bytes(json.dumps(msg).encode())

    def recv(self) -> list[Any]:
        while True:
            header = self._read_exact(4)
            length = struct.unpack("!I", b"\x00" + header[1:])[0]
            payload = self._read_exact(length)
            if header[0] & 0x07 == 0:
                return json.loads(payload)  # type: ignore[no-any-return]
            if header[0] & 0x07 == 1:  # ping: answer pong
                self.sock.sendall(bytes([2]) + header[1:] + payload)

    def drain(self) -> list[list[Any]]:
        """Every message until the router closes the connection."""
        out = []
        try:
            while True:
                out.append(self.recv())
        except (Closed, ConnectionError):
            return out

    def close(self) -> None:
        self.sock.close()


class WebSocketClient:
    """WAMP over WebSocket with ``wamp.2.json`` (client frames masked)."""

    def __init__(self, port: int, path: str = "/ws", protocol: str = "wamp.2.json") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {protocol}\r\n\r\n"
        ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Closed()
            head += chunk
        self.status = int(head.split(b" ", 2)[1])
        self._buf = head.split(b"\r\n\r\n", 1)[1]

    def send_frame(self, payload: bytes, opcode: int = 1) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        self.sock.sendall(header + mask + masked)

    def send(self, msg: list[Any]) -> None:
        self.send_frame(json.dumps(msg).encode())

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed()
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def recv_frame(self) -> tuple[int, bytes]:
        b0, b1 = self._read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        return b0 & 0x0F, self._read_exact(n)

    def recv(self) -> list[Any]:
        while True:
            opcode, payload = self.recv_frame()
            if opcode in (1, 2):
                return json.loads(payload)  # type: ignore[no-any-return]
            if opcode == 8:
                raise Closed(payload[2:].decode(errors="replace"))
            if opcode == 9:
                self.send_frame(payload, opcode=10)

    def drain(self) -> list[list[Any]]:
        out = []
        try:
            while True:
                out.append(self.recv())
        except (Closed, ConnectionError):
            return out

    def close(self) -> None:
        self.sock.close()


HELLO_ANON = [1, "nova", {"roles": {"caller": {}, "callee": {}, "publisher": {},
                                    "subscriber": {}}, "authmethods": ["anonymous"]}]
