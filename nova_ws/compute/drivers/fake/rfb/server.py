"""An RFB (VNC) server on Twisted that shows one ``Framebuffer`` to its clients.

``RFBServerProtocol`` runs RFC 6143: ProtocolVersion 3.8 (3.3 and 3.7 clients
get their own handshake), the security types of ``security.SECURITY_TYPES``,
ClientInit/ServerInit, then client messages dispatched by a table from
message type to handler. Updates use the Raw encoding in the client's pixel
format (``pixelformat``).

Flow control: a client gets at most one FramebufferUpdate per
FramebufferUpdateRequest, none while the transport's write buffer is full
(the protocol is the transport's streaming producer), and changes made in
between are coalesced in its dirty region. Malformed input drops that one
connection with a log line; no exception reaches the reactor.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import cast

from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from nova_ws.compute.drivers.fake.rfb import messages
from nova_ws.compute.drivers.fake.rfb.framebuffer import Framebuffer
from nova_ws.compute.drivers.fake.rfb.messages import ProtocolError, Wire, reason_string
from nova_ws.compute.drivers.fake.rfb.pixelformat import SERVER_PIXEL_FORMAT, PixelEncoder
from nova_ws.compute.drivers.fake.rfb.region import Rect
from nova_ws.compute.drivers.fake.rfb.security import (
    RFB33_TYPES,
    SECURITY_TYPES,
    SecurityConfig,
    SecurityHandler,
    SecurityType,
)
from nova_ws.compute.drivers.fake.rfb.updates import UpdateScheduler

log = Logger()

SERVER_VERSION = b"RFB 003.008\n"
_VERSION_RE = re.compile(rb"RFB (\d{3})\.(\d{3})\n")
#: Unparsed client bytes beyond this drop the connection.
MAX_BUFFER = 2 * 1024 * 1024

Version = tuple[int, int]


@implementer(IPushProducer)
class RFBServerProtocol(Protocol):
    """One client connection to a guest's VNC screen."""

    def __init__(self, framebuffer: Framebuffer, security: SecurityConfig) -> None:
        self.framebuffer = framebuffer
        self.security = security
        self.version: Version | None = None
        self.security_type: int | None = None
        self.encodings: tuple[int, ...] = ()
        self.encoder = PixelEncoder(SERVER_PIXEL_FORMAT)
        self.ready = False
        self.closed = False
        self._buffer = bytearray()
        self._step: Callable[[], bool] = self._read_version
        self._handler: SecurityHandler | None = None
        self._updates = UpdateScheduler(framebuffer.bounds, self._send_update)
        self._producing = False
        self.on_lost: Callable[[RFBServerProtocol], None] = lambda proto: None
        self.on_exclusive: Callable[[RFBServerProtocol], None] = lambda proto: None

    # Twisted protocol

    def connectionMade(self) -> None:
        self._wire.registerProducer(self, True)
        self._producing = True
        self._wire.write(SERVER_VERSION)

    def dataReceived(self, data: bytes) -> None:
        if self.closed:
            return
        self._buffer += data
        try:
            if len(self._buffer) > MAX_BUFFER:
                raise ProtocolError(f"more than {MAX_BUFFER} unparsed bytes")
            while not self.closed and self._step():
                pass
        except ProtocolError as error:
            self.drop(str(error))
        except Exception:
            log.failure("RFB server error with {peer}", peer=self._peer())
            self.drop("internal error")

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.closed = True
        self.ready = False
        self.framebuffer.remove_damage_listener(self._damaged)
        self.on_lost(self)

    # IPushProducer: the transport's write buffer is full / drained

    def pauseProducing(self) -> None:
        self._updates.pause()

    def resumeProducing(self) -> None:
        self._updates.resume()

    def stopProducing(self) -> None:
        self.closed = True

    # closing

    def drop(self, reason: str) -> None:
        """Close this connection because of ``reason``, with a log line."""
        log.warn("RFB client {peer} dropped: {reason}", peer=self._peer(), reason=reason)
        self.close()

    def close(self, abort: bool = False) -> None:
        """Stop reading and close; ``abort`` discards unsent data."""
        if self.closed and not abort:
            return
        self.closed = True
        self._buffer.clear()
        if self._producing:
            self._producing = False
            self._wire.unregisterProducer()
        if abort:
            self._wire.abortConnection()
        else:
            self._wire.loseConnection()

    @property
    def _wire(self) -> Wire:
        assert self.transport is not None, "not connected"
        return cast(Wire, self.transport)

    def _peer(self) -> str:
        transport = self.transport
        return str(transport.getPeer()) if transport is not None else "?"

    # handshake steps: each returns True when it consumed input and may go on

    def _read_version(self) -> bool:
        if len(self._buffer) < 12:
            return False
        found = _VERSION_RE.fullmatch(bytes(self._buffer[:12]))
        if found is None or int(found[1]) != 3:
            raise ProtocolError(f"bad ProtocolVersion {bytes(self._buffer[:12])!r}")
        del self._buffer[:12]
        minor = int(found[2])
        self.version = (3, 8) if minor >= 8 else (3, 7) if minor == 7 else (3, 3)
        offered = self.security.offered()
        if self.version == (3, 3):
            usable = [kind for kind in offered if kind in RFB33_TYPES]
            if not usable:
                self._wire.write(struct.pack("!I", 0) + reason_string("no security type usable"))
                self.drop("no security type for an RFB 3.3 client")
                return False
            self._wire.write(struct.pack("!I", usable[0]))
            self._start_security(usable[0])
            return True
        if not offered:
            self._wire.write(b"\0" + reason_string("no security type configured"))
            self.drop("no security type configured")
            return False
        self._wire.write(bytes([len(offered), *offered]))
        self._step = self._read_security_type
        return True

    def _read_security_type(self) -> bool:
        if not self._buffer:
            return False
        chosen = self._buffer[0]
        del self._buffer[:1]
        if chosen not in self.security.offered():
            self._send_security_failure(f"security type {chosen} was not offered")
            raise ProtocolError(f"client chose security type {chosen}, not offered")
        self._start_security(chosen)
        return True

    def _start_security(self, kind: int) -> None:
        self.security_type = kind
        self._handler = SECURITY_TYPES[kind](self.security)
        assert self.transport is not None
        self._handler.begin(self.transport)
        self._step = self._run_security

    def _run_security(self) -> bool:
        assert self._handler is not None
        result = self._handler.receive(self._buffer)
        if result is None:
            return False
        if not result.ok:
            if result.send_result:
                self._send_security_failure(result.reason)
            log.info(
                "RFB client {peer} failed security: {reason}",
                peer=self._peer(),
                reason=result.reason,
            )
            self.close()
            return False
        if self.version == (3, 8) or self.security_type != SecurityType.NONE:
            self._wire.write(struct.pack("!I", 0))
        self._handler = None
        self._step = self._read_client_init
        return True

    def _send_security_failure(self, reason: str) -> None:
        """SecurityResult "failed", with the reason string for 3.8 clients."""
        extra = reason_string(reason) if self.version == (3, 8) else b""
        self._wire.write(struct.pack("!I", 1) + extra)

    def _read_client_init(self) -> bool:
        if not self._buffer:
            return False
        shared = self._buffer[0] != 0
        del self._buffer[:1]
        if not shared:
            self.on_exclusive(self)
        name = self.framebuffer.name.encode("utf-8")
        self._wire.write(
            struct.pack("!HH", self.framebuffer.width, self.framebuffer.height)
            + SERVER_PIXEL_FORMAT.to_bytes()
            + struct.pack("!I", len(name))
            + name
        )
        self.framebuffer.add_damage_listener(self._damaged)
        self.ready = True
        self._updates.activate()
        self._step = self._read_message
        return True

    def _read_message(self) -> bool:
        if not self._buffer:
            return False
        return messages.dispatch(self, self._buffer)

    # updates

    @property
    def updates(self) -> UpdateScheduler:
        """This client's dirty region and outstanding update request."""
        return self._updates

    def request_update(self, incremental: bool, area: Rect) -> None:
        """Note a FramebufferUpdateRequest; answer it now if there is something to send."""
        self._updates.request(incremental, area)

    def _damaged(self, rect: Rect) -> None:
        if self.closed:
            return
        try:
            self._updates.damaged(rect)
        except Exception:
            log.failure("RFB update to {peer} failed", peer=self._peer())
            self.close(abort=True)

    def _send_update(self, rects: list[Rect]) -> None:
        if not self.closed:
            self._wire.write(messages.framebuffer_update(self.framebuffer, self.encoder, rects))
