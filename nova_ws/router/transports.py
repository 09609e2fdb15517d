"""WebSocket and RawSocket listeners that feed the router's sessions.

Autobahn does the wire work (WebSocket, RawSocket framing, serializers); these
subclasses add what a router needs from its transports:

* a message that cannot be parsed aborts that session with a reason
  (``wamp.error.protocol_violation``), logged once, and closes the connection;
* backpressure: when the kernel stops taking a peer's bytes, the router stops
  reading from that peer, and once more than ``max_outgoing_buffer`` bytes
  have queued for it the session is dropped and this is logged;
* the peer's address and TLS client certificate reach the session.
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

from nova_ws.router.auth.interfaces import TransportInfo
from nova_ws.router.serializers import make_serializers

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
            msgs = self._serializer.unserialize(payload, is_binary)
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
        """Serialize, frame and send one WAMP message (ITransport).

        An EVENT goes to many subscribers: its frame is built once per
        serializer and framing and kept on the message, so fan-out costs one
        write per subscriber.
        """
        if self._session is None or self._dropped:
            raise TransportLost()
        ser = self._serializer._serializer  # the object serializer, shared by connections
        frame = None
        cache = msg._router_internal if type(msg) is Event else None
        if cache is not None:
            frame = cache.get((ser, self._framing))
        if frame is None:
            try:
                payload = msg.serialize(ser)
            except Exception as exc:
                raise SerializationError(
                    f"cannot serialize {type(msg).__name__}: {exc}") from exc
            frame = self._frame(payload, ser.BINARY)
            if type(msg) is Event:
                if cache is None:
                    msg._router_internal = cache = {}
                cache[(ser, self._framing)] = frame
        pressure = self._pressure
        if pressure is not None and not pressure.account(len(frame)):
            self._drop_slow_peer()
            raise TransportLost()
        self._write_frame(frame)

    def _drop_slow_peer(self) -> None:
        self._dropped = True
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

    def connectionMade(self) -> None:
        super().connectionMade()
        self._watch()

    def dataReceived(self, data: bytes) -> None:
        self._dataReceived(data)  # skip per-chunk debug formatting

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
        # The common case without Autobahn's per-write debug formatting.
        if sync or chopsize or self.send_queue or self.state != self.STATE_OPEN:
            return super().sendData(data, sync, chopsize)
        self.transport.write(data)
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

    def stringReceived(self, payload: bytes) -> None:
        self._deliver(payload, None)

    _framing = "rawsocket"

    def _frame(self, payload: bytes, is_binary: bool) -> bytes:
        if 0 < (self._max_len_send or 0) < len(payload):
            raise SerializationError(f"message of {len(payload)} bytes exceeds the peer's limit")
        return _RAWSOCKET_HEADER(len(payload)) + payload

    def _write_frame(self, frame: bytes) -> None:
        self.transport.write(frame)


class RouterRawSocketFactory(WampRawSocketServerFactory):
    """Builds :class:`RouterRawSocketProtocol` for one listener."""

    protocol = RouterRawSocketProtocol

    def __init__(self, session_factory: Callable[[], Any], *, serializers: Sequence[str],
                 max_message_size: int, max_outgoing_buffer: int) -> None:
        super().__init__(session_factory,
                         serializers=make_serializers(serializers, batched=False))
        self.max_outgoing_buffer = max_outgoing_buffer
        self.setProtocolOptions(maxMessagePayloadSize=min(max_message_size, 2**24))
