"""A lean, blocking WAMP client for load generation.

A benchmark client must cost far less CPU than the router it drives, or it
measures itself. Autobahn's client parses every message into objects and runs
a reactor; this one does only what a benchmark needs:

* WebSocket (RFC 6455) client framing: every client frame is masked, with the
  all-zero mask key, which is valid and leaves the payload bytes unchanged, so
  masking costs nothing; pings are answered;
* RawSocket framing and handshake (serializer IDs json=1, msgpack=2);
* HELLO/WELCOME with ``anonymous`` authentication;
* :class:`Template`: a message serialized once, with only its request ID
  spliced in per send.

Received messages come back as raw payloads; :meth:`Codec.loads` and
:meth:`Codec.msg_type` decode as much as the caller needs.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgpack

HELLO, WELCOME, ABORT, GOODBYE, ERROR = 1, 2, 3, 6, 8
PUBLISH, PUBLISHED, SUBSCRIBE, SUBSCRIBED, EVENT = 16, 17, 32, 33, 36
CALL, RESULT, REGISTER, REGISTERED, INVOCATION, YIELD = 48, 50, 64, 65, 68, 70

_SENTINEL = 1234567  # a request ID whose encoding occurs once in a template
_JOIN_TIMEOUT = 10.0


class WampError(Exception):
    """The router refused, aborted or closed, or the handshake failed."""


def _json_dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _json_type(payload: bytes) -> int:
    return int(payload[1:payload.index(b",")])


def _msgpack_type(payload: bytes) -> int:
    return payload[1]  # fixarray header, then a positive fixint: every WAMP type < 128


@dataclass(frozen=True)
class Codec:
    """One WAMP serializer, as seen by both transports."""

    name: str
    rawsocket_id: int
    binary: bool
    dumps: Callable[[Any], bytes]
    loads: Callable[[bytes], Any]
    msg_type: Callable[[bytes], int]
    encode_id: Callable[[int], bytes]

    @property
    def subprotocol(self) -> str:
        """The WebSocket subprotocol name."""
        return f"wamp.2.{self.name}"


JSON = Codec("json", 1, False, _json_dumps, json.loads, _json_type, lambda i: b"%d" % i)
MSGPACK = Codec("msgpack", 2, True, msgpack.packb, msgpack.unpackb, _msgpack_type, msgpack.packb)
CODECS = {c.name: c for c in (JSON, MSGPACK)}


class Template:
    """A message serialized once; :meth:`render` splices in a request ID.

    ``msg`` is a WAMP message whose request ID (element 1) is a placeholder.
    """

    def __init__(self, codec: Codec, msg: list[Any]) -> None:
        whole = codec.dumps([msg[0], _SENTINEL, *msg[2:]])
        marker = codec.encode_id(_SENTINEL)
        if whole.count(marker) != 1:
            raise ValueError(f"cannot make a template of {msg!r}")
        self.prefix, self.suffix = whole.split(marker)
        self._encode_id = codec.encode_id

    def render(self, request: int) -> bytes:
        """The serialized message with *request* as its request ID."""
        return self.prefix + self._encode_id(request) + self.suffix


class Connection:
    """One WAMP connection over WebSocket or RawSocket, with blocking I/O.

    :meth:`receive` waits at most ``poll`` seconds and returns the payloads
    of the complete messages that arrived, possibly none.
    """

    def __init__(self, transport: str, host: str, port: int, codec: Codec, *,
                 path: str = "/ws", poll: float = 0.2) -> None:
        if transport not in ("websocket", "rawsocket"):
            raise ValueError(f"unknown transport {transport!r}")
        self.codec = codec
        self.websocket = transport == "websocket"
        self.sock = socket.create_connection((host, port), timeout=_JOIN_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = b""
        self._opcode = 0x82 if codec.binary else 0x81
        if self.websocket:
            self._websocket_handshake(host, port, path)
        else:
            self._rawsocket_handshake()
        self.sock.settimeout(poll)

    # -- handshakes ----------------------------------------------------------

    def _recv_some(self) -> bytes:
        data = self.sock.recv(262144)
        if not data:
            raise WampError("router closed the connection")
        return data

    def _websocket_handshake(self, host: str, port: int, path: str) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\n"
                   f"Sec-WebSocket-Protocol: {self.codec.subprotocol}\r\n\r\n")
        self.sock.sendall(request.encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self._recv_some()
        head, _, self._buf = buf.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise WampError(f"WebSocket upgrade refused: {status.decode(errors='replace')}")
        if self.codec.subprotocol.encode() not in head:
            raise WampError(f"router did not accept subprotocol {self.codec.subprotocol}")

    def _rawsocket_handshake(self) -> None:
        self.sock.sendall(bytes([0x7F, 0xF0 | self.codec.rawsocket_id, 0, 0]))
        buf = b""
        while len(buf) < 4:
            buf += self._recv_some()
        reply, self._buf = buf[:4], buf[4:]
        if reply[0] != 0x7F or reply[1] & 0x0F != self.codec.rawsocket_id:
            raise WampError(f"RawSocket handshake refused: {reply.hex()}")

    # -- framing -------------------------------------------------------------

    def frame(self, payload: bytes) -> bytes:
        """*payload* framed for this transport (masked with a zero key on WebSocket)."""
        n = len(payload)
        if not self.websocket:
            return struct.pack(">I", n) + payload
        if n < 126:
            return bytes((self._opcode, 0x80 | n, 0, 0, 0, 0)) + payload
        if n < 65536:
            return struct.pack(">BBHI", self._opcode, 0xFE, n, 0) + payload
        return struct.pack(">BBQI", self._opcode, 0xFF, n, 0) + payload

    def send(self, payloads: Iterable[bytes]) -> None:
        """Frame and send several messages with one system call."""
        frame = self.frame
        data = b"".join([frame(p) for p in payloads])
        if data:
            self.sock.sendall(data)

    def receive(self) -> list[bytes]:
        """The payloads of the complete messages received (waits up to ``poll`` s)."""
        try:
            data = self.sock.recv(262144)
        except TimeoutError:
            return []
        if not data:
            raise WampError("router closed the connection")
        buf = self._buf + data if self._buf else data
        out: list[bytes] = []
        if self.websocket:
            pos = self._parse_websocket(buf, out)
        else:
            pos = self._parse_rawsocket(buf, out)
        self._buf = buf[pos:]
        return out

    def _parse_rawsocket(self, buf: bytes, out: list[bytes]) -> int:
        pos, end = 0, len(buf)
        while end - pos >= 4:
            kind = buf[pos] & 0x07
            n = int.from_bytes(buf[pos + 1:pos + 4], "big")
            stop = pos + 4 + n
            if stop > end:
                break
            if kind == 0:
                out.append(buf[pos + 4:stop])
            elif kind == 1:  # ping: answer with a pong carrying the same payload
                self.sock.sendall(b"\x02" + buf[pos + 1:stop])
            pos = stop
        return pos

    def _parse_websocket(self, buf: bytes, out: list[bytes]) -> int:
        pos, end = 0, len(buf)
        while end - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n, head = b1 & 0x7F, 2
            if n == 126:
                if end - pos < 4:
                    break
                n, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif n == 127:
                if end - pos < 10:
                    break
                n, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            if b1 & 0x80:
                raise WampError("server sent a masked frame")
            stop = pos + head + n
            if stop > end:
                break
            opcode = b0 & 0x0F
            if not b0 & 0x80 or opcode == 0:
                raise WampError("fragmented WebSocket messages are not supported")
            if opcode in (1, 2):
                out.append(buf[pos + head:stop])
            elif opcode == 9:  # ping
                payload = buf[pos + head:stop]
                self.sock.sendall(bytes((0x8A, 0x80 | len(payload), 0, 0, 0, 0)) + payload)
            elif opcode == 8:
                raise WampError(f"router closed the WebSocket: {buf[pos + head:stop]!r}")
            pos = stop
        return pos

    # -- WAMP ----------------------------------------------------------------

    def request(self, msg: list[Any], reply_type: int) -> list[Any]:
        """Send *msg* and wait for the reply of type *reply_type* (the handshake phase)."""
        self.send([self.codec.dumps(msg)])
        deadline = time.monotonic() + _JOIN_TIMEOUT
        while time.monotonic() < deadline:
            for payload in self.receive():
                reply = self.codec.loads(payload)
                if reply[0] == reply_type:
                    return list(reply)
                if reply[0] in (ABORT, GOODBYE, ERROR):
                    raise WampError(f"router answered {msg[:2]!r} with {reply!r}")
        raise WampError(f"no answer to {msg[:2]!r} within {_JOIN_TIMEOUT} s")

    def join(self, realm: str) -> int:
        """HELLO with anonymous authentication; the session ID from WELCOME."""
        roles: dict[str, dict[str, Any]] = {
            r: {} for r in ("caller", "callee", "publisher", "subscriber")}
        welcome = self.request([HELLO, realm, {"roles": roles, "authmethods": ["anonymous"]}],
                               WELCOME)
        return int(welcome[1])

    def close(self) -> None:
        """Drop the connection (the router sees the transport go)."""
        try:
            self.sock.close()
        except OSError:
            pass
