"""The console benchmark's one client: a lean WebSocket client on raw sockets.

The same code drives every proxy, so differences are the proxies':

* ``open_ws`` does the opening handshake (subprotocol ``binary``, an
  ``Origin`` matching the ``Host``, as a browser sends) on a blocking socket;
* ``FrameReader`` walks server frames as they arrive, counting payload bytes
  (and keeping them only when asked, for RFB), so reading costs one pass over
  the headers and none over the payload;
* ``WebSocket.send`` sends one binary frame with a fresh random mask, masked
  by Autobahn's native (NVX) XOR masker -- several GB/s -- when it is
  there, else by one big-integer XOR; header and payload go out in one
  ``sendmsg`` with no copy;
* ``receive_for`` / ``send_for`` measure one connection's throughput over a
  window after a warm-up, with or without WebSocket framing (plain TCP);
* ``Fleet`` holds many non-blocking connections on one epoll loop.

Every socket gets kernel send and receive timeouts, so a stalled proxy
raises ``OSError`` instead of hanging the benchmark.
"""

from __future__ import annotations

import base64
import hashlib
import os
import selectors
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

try:
    from autobahn.websocket import USES_NVX
    from autobahn.websocket.xormasker import create_xor_masker
except ImportError:  # pragma: no cover - Autobahn is a dependency of nova_ws
    USES_NVX = False
    create_xor_masker = None  # type: ignore[assignment]

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
RECV_BUFFER = 1 << 20
STALL_TIMEOUT = 15.0


class HandshakeError(Exception):
    """The server refused the WebSocket or answered something else."""


class Closed(Exception):
    """The connection ended (close frame or EOF) while the client still wanted bytes."""


def mask_payload(mask: bytes, payload: bytes) -> bytes:
    """``payload`` XOR the repeated 4-byte ``mask`` (RFC 6455 section 5.3)."""
    if USES_NVX and create_xor_masker is not None:
        return bytes(create_xor_masker(mask, len(payload)).process(payload))
    n = len(payload)
    key = int.from_bytes(mask * (n // 4 + 1), "little") & ((1 << (8 * n)) - 1)
    return (int.from_bytes(payload, "little") ^ key).to_bytes(n, "little")


def frame_header(length: int, mask: bytes, opcode: int = 2) -> bytes:
    """A final, masked client frame's header for ``length`` payload bytes."""
    if length < 126:
        return struct.pack("!BB", 0x80 | opcode, 0x80 | length) + mask
    if length < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length) + mask
    return struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length) + mask


def set_stall_timeout(sock: socket.socket, seconds: float = STALL_TIMEOUT) -> None:
    """Kernel timeouts on a blocking socket: a stalled recv/send fails with EAGAIN."""
    whole = int(seconds)
    timeval = struct.pack("ll", whole, int((seconds - whole) * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


class FrameReader:
    """Server-to-client frames, fed in whatever pieces the socket gives.

    ``feed`` returns how many data-frame payload bytes the piece held; with
    ``keep`` those bytes also collect in ``data``. A close frame sets
    ``closed`` to (code, reason); pings wait in ``pings`` for a pong.
    """

    def __init__(self, keep: bool = False) -> None:
        self.keep = keep
        self.data = bytearray()
        self.frames = 0
        self.closed: tuple[int | None, str] | None = None
        self.pings: list[bytes] = []
        self._head = b""
        self._remaining = 0
        self._control: bytearray | None = None
        self._control_op = 0

    def feed(self, piece: bytes | bytearray | memoryview) -> int:
        view = memoryview(piece)
        end, pos, got = len(view), 0, 0
        while pos < end:
            remaining = self._remaining
            if remaining:
                take = remaining if remaining < end - pos else end - pos
                if self._control is not None:
                    self._control += view[pos:pos + take]
                else:
                    got += take
                    if self.keep:
                        self.data += view[pos:pos + take]
                pos += take
                self._remaining = remaining - take
                if self._remaining == 0 and self._control is not None:
                    self._control_done()
                continue
            start = self._head + bytes(view[pos:pos + 14])
            size = _header_size(start)
            if size is None or len(start) < size:
                self._head = start
                return got
            pos += size - len(self._head)
            self._head = b""
            self._start_frame(start[:size])
        return got

    def _start_frame(self, header: bytes) -> None:
        b0, b1 = header[0], header[1]
        if b1 & 0x80:
            raise HandshakeError("the server masked a frame")
        length = b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack_from("!H", header, 2)
        elif length == 127:
            (length,) = struct.unpack_from("!Q", header, 2)
        opcode = b0 & 0x0F
        self.frames += 1
        if opcode >= 8:
            self._control, self._control_op = bytearray(), opcode
            self._remaining = length
            if length == 0:
                self._control_done()
        else:
            self._remaining = length

    def _control_done(self) -> None:
        payload, op = bytes(self._control or b""), self._control_op
        self._control = None
        if op == 8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            self.closed = (code, payload[2:].decode("utf-8", "replace"))
        elif op == 9:
            self.pings.append(payload)


def _header_size(start: bytes) -> int | None:
    if len(start) < 2:
        return None
    length = start[1] & 0x7F
    size = 2 + (2 if length == 126 else 8 if length == 127 else 0)
    return size + (4 if start[1] & 0x80 else 0)


@dataclass
class WebSocket:
    """One open client WebSocket on a blocking socket."""

    sock: socket.socket
    reader: FrameReader
    subprotocol: str | None
    buffer: bytearray = field(default_factory=lambda: bytearray(RECV_BUFFER))

    def send(self, payload: bytes, opcode: int = 2) -> None:
        """One final frame with a fresh random mask."""
        mask = os.urandom(4)
        parts = [frame_header(len(payload), mask, opcode), mask_payload(mask, payload)]
        total = len(parts[0]) + len(parts[1])
        sent = self.sock.sendmsg(parts)
        if sent < total:
            self.sock.sendall(b"".join(parts)[sent:])

    def read_some(self) -> int:
        """One recv into the reader; the payload bytes it held. Raises Closed at the end."""
        n = self.sock.recv_into(self.buffer)
        if n == 0:
            raise Closed("connection closed by the server")
        got = self.reader.feed(memoryview(self.buffer)[:n])
        if self.reader.pings:
            for ping in self.reader.pings:
                self.send(ping, opcode=10)
            self.reader.pings.clear()
        return got

    def read_exact(self, n: int) -> bytes:
        """The next ``n`` payload bytes (the reader must keep data)."""
        data = self.reader.data
        while len(data) < n:
            if self.reader.closed is not None:
                raise Closed(f"closed by the server: {self.reader.closed}")
            self.read_some()
        out = bytes(data[:n])
        del data[:n]
        return out

    def close(self, wait: float = 1.0) -> tuple[int | None, str] | None:
        """Send a close frame, wait up to ``wait`` s for the server's, close the socket."""
        try:
            self.send(struct.pack("!H", 1000), opcode=8)
            self.sock.settimeout(wait)
            deadline = time.monotonic() + wait
            while self.reader.closed is None and time.monotonic() < deadline:
                self.read_some()
        except (OSError, Closed):
            pass
        finally:
            self.sock.close()
        return self.reader.closed


def connect_tcp(host: str, port: int, timeout: float = 10.0) -> socket.socket:
    """A blocking TCP connection with NODELAY and stall timeouts."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(None)
    set_stall_timeout(sock)
    return sock


def open_ws(host: str, port: int, resource: str, *, subprotocol: str | None = "binary",
            origin: str | None = "", keep: bool = False, timeout: float = 10.0) -> WebSocket:
    """Open a WebSocket to ``ws://host:port<resource>``; ``origin=""`` means the host's own."""
    sock = connect_tcp(host, port, timeout)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {resource} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if subprotocol:
            lines.append(f"Sec-WebSocket-Protocol: {subprotocol}")
        if origin is not None:
            lines.append(f"Origin: {origin or f'http://{host}:{port}'}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.settimeout(timeout)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                raise HandshakeError(f"connection closed during the handshake: {answer[:200]!r}")
            answer += chunk
            if len(answer) > 65536:
                raise HandshakeError("handshake answer too long")
        sock.settimeout(None)
        head, rest = answer.split(b"\r\n\r\n", 1)
        status, *header_lines = head.decode("latin-1").split("\r\n")
        if status.split(" ", 2)[1:2] != ["101"]:
            raise HandshakeError(f"refused: {status} {rest[:200]!r}")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise HandshakeError("bad Sec-WebSocket-Accept")
        ws = WebSocket(sock, FrameReader(keep), headers.get("sec-websocket-protocol"))
        if rest:
            ws.reader.feed(rest)
        return ws
    except BaseException:
        sock.close()
        raise


# -- one connection's throughput ----------------------------------------------------

#: Called at the start and at the end of the measured window.
Mark = Callable[[], None]


@dataclass
class Window:
    """Bytes moved and time taken in a measured window, and the client's CPU."""

    bytes: int
    seconds: float
    client_cpu: float

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e6


def receive_for(source: WebSocket | socket.socket, warmup: float, seconds: float,
                mark: Mark) -> Window:
    """Read as fast as possible; count payload (WebSocket) or bytes (plain TCP)."""
    if isinstance(source, WebSocket):
        read: Callable[[], int] = source.read_some
    else:
        buffer = bytearray(RECV_BUFFER)
        sock = source

        def read() -> int:
            n = sock.recv_into(buffer)
            if n == 0:
                raise Closed("connection closed by the server")
            return n

    return _timed(read, warmup, seconds, mark)


def send_for(sink: WebSocket | socket.socket, frame_size: int, warmup: float, seconds: float,
             mark: Mark) -> Window:
    """Send ``frame_size``-byte binary messages (plain TCP: chunks) as fast as possible."""
    payload = os.urandom(frame_size)
    if isinstance(sink, WebSocket):
        ws = sink

        def write() -> int:
            ws.send(payload)
            return frame_size
    else:
        sock = sink

        def write() -> int:
            sock.sendall(payload)
            return frame_size

    return _timed(write, warmup, seconds, mark)


def _timed(step: Callable[[], int], warmup: float, seconds: float, mark: Mark) -> Window:
    clock = time.monotonic
    start = clock()
    while clock() - start < warmup:
        step()
    mark()
    cpu0, t0, moved = time.process_time(), clock(), 0
    end = t0 + seconds
    while True:
        moved += step()
        now = clock()
        if now >= end:
            break
    cpu = time.process_time() - cpu0
    mark()
    return Window(moved, now - t0, cpu)


# -- many connections -------------------------------------------------------------


class Fleet:
    """Many open WebSockets read on one epoll loop."""

    def __init__(self) -> None:
        self.sockets: list[WebSocket] = []
        self.counts: list[int] = []

    def add(self, ws: WebSocket) -> None:
        self.sockets.append(ws)
        self.counts.append(0)

    def pump(self, seconds: float, mark: Mark | None = None) -> Window:
        """Read every connection for ``seconds``; payload bytes read, per connection too."""
        sel = selectors.DefaultSelector()
        for index, ws in enumerate(self.sockets):
            ws.sock.setblocking(False)
            sel.register(ws.sock, selectors.EVENT_READ, index)
        buffer = bytearray(1 << 18)
        view = memoryview(buffer)
        counts, sockets = self.counts, self.sockets
        if mark is not None:
            mark()
        clock = time.monotonic
        cpu0, t0 = time.process_time(), clock()
        end, moved = t0 + seconds, 0
        try:
            while clock() < end:
                for key, _ in sel.select(0.5):
                    index = key.data
                    ws = sockets[index]
                    try:
                        n = ws.sock.recv_into(buffer)
                    except (BlockingIOError, InterruptedError):
                        continue
                    if n == 0:
                        raise Closed(f"console {index} closed by the proxy: {ws.reader.closed}")
                    got = ws.reader.feed(view[:n])
                    counts[index] += got
                    moved += got
        finally:
            elapsed, cpu = clock() - t0, time.process_time() - cpu0
            if mark is not None:
                mark()
            sel.close()
            for ws in self.sockets:
                ws.sock.setblocking(True)
                set_stall_timeout(ws.sock)
        return Window(moved, elapsed, cpu)

    def close(self) -> None:
        """Drop every connection (no close handshake: a thousand would take a while)."""
        for ws in self.sockets:
            try:
                ws.sock.close()
            except OSError:
                pass
        self.sockets.clear()
        self.counts.clear()


def describe_masking() -> str:
    """How this client masks its frames."""
    return "Autobahn's native XOR masker" if USES_NVX else "a big-integer XOR"

