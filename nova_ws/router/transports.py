"""WebSocket and RawSocket listeners that feed the router's sessions.

Autobahn does the wire work (WebSocket, RawSocket framing, serializers); these
subclasses add what a router needs from its transports:

* a message that cannot be parsed aborts that session with a reason
  (``wamp.error.protocol_violation``), logged once, and closes the connection;
* backpressure: when the kernel stops taking a peer's bytes, the router stops
  reading from that peer, and once more than ``max_outgoing_buffer`` bytes
  have queued for it the session is dropped and this is logged;
* the peer's address and TLS client certificate reach the session;
* received payloads are decoded by :func:`nova_ws.router.wire.decode` (the
  CALL/YIELD fast path), and the dealer's INVOCATION and RESULT lists are
  serialized as they are (:meth:`send_wire`);
* fewer system calls per message: what the router writes while it handles
  received data waits in a per-connection list until that data is handled
  (:class:`Outbox`), then goes out in one write per connection, straight to
  the socket when nothing is buffered before it (:func:`write_now`); only
  what the kernel does not take at once goes through Twisted's write buffer.
  Twisted's own buffering would cost two ``epoll_ctl`` calls and an extra
  reactor turn for every write.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from autobahn.twisted.rawsocket import WampRawSocketServerFactory, WampRawSocketServerProtocol
from autobahn.twisted.websocket import WampWebSocketServerFactory, WampWebSocketServerProtocol
from autobahn.wamp.exception import InvalidUriError, SerializationError, TransportLost
from autobahn.wamp.message import Event
from autobahn.websocket.types import ConnectionDeny
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from zope.interface import implementer

from nova_ws.netio import write_now
from nova_ws.router.auth.interfaces import TransportInfo
from nova_ws.router.serializers import make_serializers
from nova_ws.router.wire import decode

log = Logger()


def transport_info(transport: Any) -> TransportInfo:
    """Peer address, TLS state and client certificate of a connection."""
    from nova_ws.router import tls

    return tls.transport_info(transport)


_RAWSOCKET_HEADER = struct.Struct("!I").pack  # first byte 0: a regular message
_WS_SHORT = struct.Struct("!BB").pack
_WS_MEDIUM = struct.Struct("!BBH").pack
_WS_LONG = struct.Struct("!BBQ").pack


def websocket_frame(payload: bytes, is_binary: bool) -> bytes:
    """A final, unmasked WebSocket data frame holding *payload* (RFC 6455 5.2)."""
    opcode = 0x82 if is_binary else 0x81
    n = len(payload)
    if n < 126:
        return _WS_SHORT(opcode, n) + payload
    if n < 65536:
        return _WS_MEDIUM(opcode, 126, n) + payload
    return _WS_LONG(opcode, 127, n) + payload


class Outbox:
    """Connections with frames waiting until the received data at hand is handled.

    :meth:`reading` wraps every ``dataReceived`` of the router's protocols;
    when the outermost one returns, every waiting connection is flushed.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.waiting: list[_RouterTransportMixin] = []

    def reading(self, receive: Callable[[bytes], None], data: bytes) -> None:
        """Call ``receive(data)``, then flush what it wrote (if outermost)."""
        self.depth += 1
        try:
            receive(data)
        finally:
            self.depth -= 1
            if not self.depth:
                self.flush()

    def flush(self) -> None:
        """Write out every waiting connection's frames (one failing never stops the others)."""
        while self.waiting:
            waiting, self.waiting = self.waiting, []
            for proto in waiting:
                try:
                    proto._flush()
                except Exception:
                    log.failure("could not write to {peer}",
                                peer=getattr(proto, "peer", "a connection"))


OUTBOX = Outbox()


def unmask(mask: bytes, payload: bytes) -> bytes:
    """*payload* XOR the repeated 4-byte *mask* (RFC 6455 5.3), as one big-integer XOR."""
    n = len(payload)
    if not n:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
        n, "little")


def client_frames(data: bytes, limit: int) -> list[tuple[int, bytes, bool]]:
    """The plain client frames at the start of *data*: ``(end offset, payload, is_binary)``.

    A plain frame is complete in *data*, final, masked, without RSV bits, a
    text frame (valid UTF-8) or a binary frame, with a minimally encoded
    length of at most *limit* bytes (0: no limit). Parsing stops at the
    first frame that is not plain, so that frame and all after it are left
    to Autobahn's frame parser, which handles or refuses them as always.
    """
    out: list[tuple[int, bytes, bool]] = []
    i, n = 0, len(data)
    while n - i >= 6:
        b0 = data[i]
        if b0 != 0x81 and b0 != 0x82:  # FIN, no RSV, text or binary
            break
        length = data[i + 1]
        if length < 0x80:  # not masked
            break
        length &= 0x7F
        j = i + 2
        if length == 126:
            length = int.from_bytes(data[j:j + 2], "big")
            if length < 126:
                break
            j += 2
        elif length == 127:
            if n - j < 8:
                break
            length = int.from_bytes(data[j:j + 8], "big")
            if length < 65536 or length >= 2**63:
                break
            j += 8
        end = j + 4 + length
        if end > n or 0 < limit < length:
            break
        payload = unmask(data[j:j + 4], data[j + 4:end])
        binary = b0 == 0x82
        if not binary and not payload.isascii():
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError:
                break
        out.append((end, payload, binary))
        i = end
    return out


@implementer(IPushProducer)
class _Backpressure:
    """Watches one connection's write buffer and bounds what may queue."""

    def __init__(self, proto: Any, limit: int) -> None:
        self._proto = proto
        self._limit = limit
        self.congested = False
        self.queued = 0

    def pauseProducing(self) -> None:
        if self.congested:
            return  # Twisted repeats this on every write while the buffer is full
        self.congested = True
        self.queued = 0
        try:
            self._proto.transport.pauseProducing()  # stop reading from this peer
        except Exception:
            pass

    def resumeProducing(self) -> None:
        self.congested = False
        self.queued = 0
        try:
            self._proto.transport.resumeProducing()
        except Exception:
            pass

    def stopProducing(self) -> None:
        self.congested = False

    def account(self, size: int) -> bool:
        """Count bytes sent while congested; False once past the limit."""
        if not self.congested:
            return True
        self.queued += size
        return self.queued <= self._limit


class _RouterTransportMixin:
    """What both router transports share: parsing, sending, backpressure."""

    _session: Any
    _serializer: Any
    transport: Any
    factory: Any
    _pressure: _Backpressure | None = None
    _framing: str  # each transport class defines these three
    _frame: Callable[[bytes, bool], bytes]
    _write_frame: Callable[[bytes], None]
    _dropped = False
    _out: list[bytes] | None = None  # frames waiting for the end of the current read

    def _watch(self) -> None:
        self._pressure = _Backpressure(self, self.factory.max_outgoing_buffer)
        try:
            self.transport.registerProducer(self._pressure, True)
        except Exception:
            self._pressure = None

    def nova_transport_info(self) -> TransportInfo:
        """Called by the session when it opens."""
        return transport_info(self.transport)

    def _deliver(self, payload: bytes, is_binary: bool | None) -> None:
        session = self._session
        if session is None:
            return
        try:
            msgs = decode(self._serializer, payload, is_binary, session.joined)
        except InvalidUriError as exc:
            session.abort("wamp.error.invalid_uri", str(exc))
            return
        except Exception as exc:  # ProtocolError, or anything a parser may raise
            session.protocol_violation(f"malformed message: {exc}")
            return
        for msg in msgs:
            if self._session is None:
                return
            session.onMessage(msg)

    def send(self, msg: Any) -> None:
        """Serialize, frame and send one WAMP message object (ITransport).

        An EVENT goes to many subscribers: its frame is built once per
        serializer and framing and kept on the message, so fan-out costs one
        write per subscriber.
        """
        if self._session is None or self._dropped:
            raise TransportLost()
        ser = self._serializer._serializer  # the object serializer, shared by connections
        if type(msg) is Event:
            cache = msg._router_internal
            if cache is None:
                msg._router_internal = cache = {}
            key = (ser, self._framing)
            frame = cache.get(key)
            if frame is None:
                frame = cache[key] = self._serialize(msg, ser)
        else:
            frame = self._serialize(msg, ser)
        pressure = self._pressure
        if pressure is not None and pressure.congested and not pressure.account(len(frame)):
            self._drop_slow_peer()
            raise TransportLost()
        self._write_frame(frame)

    def _serialize(self, msg: Any, ser: Any) -> bytes:
        try:
            payload = msg.serialize(ser)
        except Exception as exc:
            raise SerializationError(f"cannot serialize {type(msg).__name__}: {exc}") from exc
        return self._frame(payload, ser.BINARY)

    def send_wire(self, wire: list[Any]) -> None:
        """Serialize, frame and send one WAMP message given as its list."""
        if self._session is None or self._dropped:
            raise TransportLost()
        ser = self._serializer._serializer
        try:
            payload = ser.serialize(wire)
        except Exception as exc:
            raise SerializationError(f"cannot serialize message type {wire[0]}: {exc}") from exc
        frame = self._frame(payload, ser.BINARY)
        pressure = self._pressure
        if pressure is not None and pressure.congested and not pressure.account(len(frame)):
            self._drop_slow_peer()
            raise TransportLost()
        self._write_frame(frame)

    def _queue(self, data: bytes) -> None:
        """Write *data* after the received data at hand is handled (now if none is)."""
        if not OUTBOX.depth:
            write_now(self.transport, data)
            return
        out = self._out
        if out is None:
            self._out = [data]
            OUTBOX.waiting.append(self)
        else:
            out.append(data)

    def _flush(self) -> None:
        """Write out the frames waiting for this connection, in one write."""
        out, self._out = self._out, None
        if out and not self._dropped:
            write_now(self.transport, out[0] if len(out) == 1 else b"".join(out))

    def _drop_slow_peer(self) -> None:
        self._dropped = True
        self._out = None
        session = self._session
        log.warn("dropping session {sid} ({peer}): more than {limit} bytes queued for a peer "
                 "that is not reading", sid=getattr(session, "session_id", None),
                 peer=getattr(getattr(session, "transport_info", None), "peer", "?"),
                 limit=self.factory.max_outgoing_buffer)
        self.transport.abortConnection()


class RouterWebSocketProtocol(  # type: ignore[misc]  # Autobahn's own bases disagree
    _RouterTransportMixin, WampWebSocketServerProtocol
):
    """WAMP over WebSocket, for the router."""

    maxFramePayloadSize: int  # Autobahn copies these options from the factory
    maxMessagePayloadSize: int

    def connectionMade(self) -> None:
        super().connectionMade()
        self._watch()

    def dataReceived(self, data: bytes) -> None:
        OUTBOX.reading(self._receive, data)

    def _plain_frames_ok(self) -> bool:
        """True when received frames may skip Autobahn's frame parser."""
        return (self.state == self.STATE_OPEN and self.current_frame is None
                and not self.inside_message and not self.data and not self.failedByMe
                and self._perMessageCompress is None and self.applyMask
                and not self.logFrames and not self.logOctets and self.trackedTimings is None)

    def _receive(self, data: bytes) -> None:
        """Deliver the plain frames at the start of *data* at once; Autobahn parses the rest.

        Autobahn's parser costs more than routing a call; the common frame
        (see :func:`client_frames`) gets the same checks here for less.
        """
        if self._plain_frames_ok():
            limits = [m for m in (self.maxFramePayloadSize, self.maxMessagePayloadSize) if m > 0]
            frames = client_frames(data, min(limits) if limits else 0)
            if frames:
                consumed = delivered = 0
                for end, payload, is_binary in frames:
                    consumed, delivered = end, delivered + 1
                    self._deliver(payload, is_binary)
                    if self.state != self.STATE_OPEN or self.failedByMe:
                        break
                stats = self.trafficStats
                if stats is not None:
                    stats.incomingOctetsWireLevel += consumed
                    stats.incomingWebSocketFrames += delivered
                    stats.incomingWebSocketMessages += delivered
                if self.autoPingTimeoutCall and self.autoPingRestartOnAnyTraffic:
                    self._cancelAutoPingTimeoutCall()
                data = data[consumed:]
                if not data:
                    return
        self._dataReceived(data)  # Autobahn's parser, without per-chunk debug formatting

    def onConnect(self, request: Any) -> Any:
        if request.path != self.factory.path:
            raise ConnectionDeny(404, f"no WAMP endpoint at {request.path}")
        return super().onConnect(request)

    def onMessageEnd(self) -> None:
        # Autobahn's version also fires a "message" event for observers, which
        # costs a Deferred per message; the router has no observers.
        if not self.failedByMe:
            self._deliver(b"".join(self.message_data), self.message_is_binary)
        self.message_data = None  # type: ignore[assignment]

    def sendData(self, data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
        # Every frame Autobahn or the router sends passes here. The common case
        # waits in the outbox, without Autobahn's per-write debug formatting;
        # the others first write out what waits, so the order holds.
        if sync or chopsize or self.send_queue or self.state != self.STATE_OPEN:
            self._flush()
            return super().sendData(data, sync, chopsize)
        self._queue(data)
        self.trafficStats.outgoingOctetsWireLevel += len(data)
        if getattr(self, "logOctets", False):
            self.logTxOctets(data, False)

    _framing = "websocket"

    def _frame(self, payload: bytes, is_binary: bool) -> bytes:
        """One unfragmented, unmasked server frame (no compression is negotiated)."""
        return websocket_frame(payload, is_binary)

    def _write_frame(self, frame: bytes) -> None:
        if self.state == self.STATE_OPEN:
            self.sendData(frame)


class RouterWebSocketFactory(WampWebSocketServerFactory):
    """Builds :class:`RouterWebSocketProtocol` for one listener."""

    protocol = RouterWebSocketProtocol

    def __init__(self, session_factory: Callable[[], Any], *, url: str, path: str,
                 serializers: Sequence[str], max_message_size: int,
                 max_outgoing_buffer: int) -> None:
        super().__init__(session_factory, url=url, serializers=make_serializers(serializers))
        self.path = path
        self.max_outgoing_buffer = max_outgoing_buffer
        self.setProtocolOptions(maxMessagePayloadSize=max_message_size,
                                maxFramePayloadSize=max_message_size,
                                autoPingInterval=30, autoPingTimeout=20,
                                openHandshakeTimeout=15, closeHandshakeTimeout=5)


class RouterRawSocketProtocol(_RouterTransportMixin, WampRawSocketServerProtocol):
    """WAMP over RawSocket (TCP or Unix socket), for the router."""

    def connectionMade(self) -> None:
        super().connectionMade()
        self._watch()
        # as Autobahn does for WebSocket: each write is a whole batch of
        # messages already (see Outbox), so Nagle's algorithm would only delay
        try:
            self.transport.setTcpNoDelay(True)
        except (AttributeError, OSError):
            pass  # not TCP (a Unix socket)

    def dataReceived(self, data: bytes) -> None:
        OUTBOX.reading(super().dataReceived, data)

    def stringReceived(self, payload: bytes) -> None:
        self._deliver(payload, None)

    _framing = "rawsocket"

    def _frame(self, payload: bytes, is_binary: bool) -> bytes:
        if 0 < (self._max_len_send or 0) < len(payload):
            raise SerializationError(f"message of {len(payload)} bytes exceeds the peer's limit")
        return _RAWSOCKET_HEADER(len(payload)) + payload

    _write_frame = _RouterTransportMixin._queue


class RouterRawSocketFactory(WampRawSocketServerFactory):
    """Builds :class:`RouterRawSocketProtocol` for one listener."""

    protocol = RouterRawSocketProtocol

    def __init__(self, session_factory: Callable[[], Any], *, serializers: Sequence[str],
                 max_message_size: int, max_outgoing_buffer: int) -> None:
        super().__init__(session_factory,
                         serializers=make_serializers(serializers, batched=False))
        self.max_outgoing_buffer = max_outgoing_buffer
        self.setProtocolOptions(maxMessagePayloadSize=min(max_message_size, 2**24))
