"""The console proxy: a browser's WebSocket piped to a guest's console port.

``ConsoleProxyFactory`` is an Autobahn (Twisted) WebSocket server factory;
each connection is one ``ConsoleProxyProtocol`` -- no process or thread per
connection. A connection's life:

1. Handshake (``onConnect``, asynchronous): subprotocol ``binary`` or none;
   the Origin check (``origin``); the token (``tokens``) validated by the
   ``ITokenValidator``; the per-token and per-user caps. Any refusal is an
   HTTP error with its reason (403 origin, 401/403 token, 429 caps).
2. Open: TCP (TLS when ``target.tls``) to the guest; guest bytes go to the
   browser as binary messages, the browser's frame payloads go to the guest
   raw, through the target's shim (``shims``) if any. Each side's transport
   is the other's push producer, so a full write buffer on one side pauses
   reading on the other and no buffer grows without bound.
3. Close, with a WebSocket close code: ``CloseCode``. Token expiry, idle
   timeout and ``close_sessions`` (revocation, instance deletion) end live
   sessions from the proxy's side. Each session is logged once when it ends.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.endpoints import HostnameEndpoint, connectProtocol, wrapClientTLS
from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.ssl import optionsForClientTLS
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from nova_ws.console.interfaces import ConsoleTarget, InvalidToken, ITokenValidator
from nova_ws.console.metrics import ProxyMetrics, SessionRecord
from nova_ws.console.origin import OriginPolicy, origin_refusal
from nova_ws.console.ratelimit import FailureLimiter, peer_host
from nova_ws.console.shims import GuestAuthError, ShimError, ShimFactory, StreamShim, shim_for
from nova_ws.console.tokens import token_from_request
from nova_ws.netio import write_now, write_parts

log = Logger()

SUBPROTOCOL = "binary"
#: Bytes read from either side per reactor turn (Twisted's default is 64 KiB).
READ_SIZE = 128 * 1024


def binary_frame_header(length: int) -> bytes:
    """The header of one final, unmasked binary WebSocket frame of ``length`` bytes."""
    if length < 126:
        return struct.pack("!BB", 0x82, length)
    if length < 65536:
        return struct.pack("!BBH", 0x82, 126, length)
    return struct.pack("!BBQ", 0x82, 127, length)


class CloseCode(IntEnum):
    """WebSocket close codes the proxy sends (4000-4999 are the application's)."""

    NORMAL = 1000
    TOKEN_EXPIRED = 4001
    IDLE_TIMEOUT = 4002
    ORIGIN_NOT_ALLOWED = 4003
    TARGET_UNREACHABLE = 4004
    REVOKED = 4005
    PROTOCOL_ERROR = 4006
    GUEST_AUTH_FAILED = 4007


@dataclass(frozen=True)
class ProxyConfig:
    """How one proxy behaves; ``None`` turns a limit off.

    ``secure`` says whether browsers reach this proxy over TLS (wss), for the
    Origin scheme check. ``idle_timeout`` closes sessions with no traffic
    either way for that many seconds. ``failed_auth_limit`` failed token
    checks from one address within ``failed_auth_window`` seconds make it
    wait (429). When the guest closes its end, the browser's closes
    ``guest_close_grace`` seconds later, unless a revocation (whose reason
    the browser should see) ends it first.

    ``channels_per_console`` is how many WebSockets one console opens: 1 for
    noVNC and serial; SPICE opens one per channel (main, display, inputs,
    cursor, sound...), each with the same token. With more than 1, a token
    that an open session of this proxy has already validated admits the
    console's further channels without being validated (consumed) again, as
    long as that session is open, not ending and the token not expired; a
    token seen by no open session is validated as always. ``max_per_token``
    then counts consoles: up to ``max_per_token * channels_per_console``
    connections.
    """

    console_type: str
    secure: bool = False
    origin_policy: OriginPolicy = field(default_factory=OriginPolicy)
    idle_timeout: float | None = 600.0
    max_per_token: int | None = 4
    max_per_user: int | None = 32
    connect_timeout: float = 10.0
    failed_auth_limit: int | None = 10
    guest_close_grace: float = 1.0
    failed_auth_window: float = 60.0
    channels_per_console: int = 1


#: Opens the guest connection: (target, protocol) -> fires with the connected protocol.
Connector = Callable[[ConsoleTarget, Protocol], "Deferred[Protocol]"]


@implementer(IPushProducer)
class _Valve:
    """One side's transport as the other side's producer, counting pauses.

    ``stopProducing`` does not close the transport (a TCP transport would):
    the session closes each side itself, with a reason.
    """

    def __init__(self, transport: Any, on_pause: Callable[[], None]) -> None:
        self._transport = transport
        self._on_pause = on_pause

    def pauseProducing(self) -> None:
        self._on_pause()
        self._transport.pauseProducing()

    def resumeProducing(self) -> None:
        self._transport.resumeProducing()

    def stopProducing(self) -> None:
        pass


class _GuestProtocol(Protocol):
    """The proxy's TCP connection to the guest's console port."""

    def __init__(self, session: ConsoleProxyProtocol) -> None:
        self.session = session

    def dataReceived(self, data: bytes) -> None:
        self.session.from_guest(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.session.guest_lost(reason)


class ConsoleProxyProtocol(WebSocketServerProtocol):
    """One browser's console session."""

    factory: ConsoleProxyFactory

    def __init__(self) -> None:
        super().__init__()
        self.target: ConsoleTarget | None = None
        self.record: SessionRecord | None = None
        self.guest: _GuestProtocol | None = None
        self._shim: StreamShim | None = None
        self._connecting: Deferred[Protocol] | None = None
        self._pending: list[bytes] = []
        self._timers: list[IDelayedCall] = []
        self._last_activity = 0.0
        self._ending: tuple[int, str] | None = None
        self._finished = False
        #: sha256 of the token this session came with (never the token itself)
        self.token_digest: bytes | None = None

    @property
    def _browser(self) -> Any:
        """The browser's TCP (or TLS) transport."""
        return self.transport

    # handshake

    def onConnect(  # type: ignore[override]  # Autobahn accepts a Deferred here
        self, request: ConnectionRequest
    ) -> Deferred[str | None]:
        factory = self.factory
        subprotocol: str | None = None
        if request.protocols:
            if SUBPROTOCOL not in request.protocols:
                raise factory.refuse("unsupported subprotocol", 400)
            subprotocol = SUBPROTOCOL
        headers = request.headers
        refusal = origin_refusal(
            headers.get("origin"),
            headers.get("host"),
            secure=factory.config.secure,
            policy=factory.config.origin_policy,
            forwarded_host=headers.get("x-forwarded-host"),
            forwarded_proto=headers.get("x-forwarded-proto"),
        )
        if refusal is not None:
            raise factory.refuse(refusal, 403, "origin not allowed")
        token = token_from_request(request.params, headers.get("cookie"))
        if token is None:
            raise factory.refuse("missing token", 401)
        address = peer_host(request.peer)
        limiter = factory.limiter
        if limiter is not None and limiter.blocked(address):
            raise factory.refuse("too many failed token checks; retry in "
                                 f"{limiter.retry_after(address):.0f} s", 429,
                                 "too many failed token checks")
        self.record = SessionRecord(peer=request.peer, opened_at=factory.clock.seconds())
        self.token_digest = hashlib.sha256(token.encode("utf-8", "replace")).digest()

        def validated(target: ConsoleTarget) -> str | None:
            factory.admit(self, target)
            return subprotocol

        joined = factory.open_console(self.token_digest)
        if joined is not None:  # another channel of a console this token opened
            factory.metrics.channels_joined += 1
            return maybeDeferred(validated, joined)
        validating = factory.validator.validate(token, factory.config.console_type)

        def refused(failure: Failure) -> Failure:
            if failure.check(ConnectionDeny):
                return failure
            if failure.check(InvalidToken):
                error = failure.value
                assert isinstance(error, InvalidToken)
                if limiter is not None:
                    limiter.failed(address)
                raise factory.refuse(error.reason, error.status, "invalid token")
            log.failure("console token validation failed", failure)
            raise factory.refuse("console authentication unavailable", 503)

        return validating.addCallbacks(validated, refused)

    def onOpen(self) -> None:
        target = self.target
        if target is None or self._ending is not None:
            code, reason = self._ending or (CloseCode.REVOKED, "console access revoked")
            self._ending = None
            self.end(code, reason)
            return
        clock = self.factory.clock
        self._last_activity = clock.seconds()
        self._timers.append(clock.callLater(
            max(0.0, target.expires_at - clock.seconds()),
            self.end, CloseCode.TOKEN_EXPIRED, "token expired"))
        idle = self.factory.config.idle_timeout
        if idle is not None:
            self._timers.append(clock.callLater(idle, self._check_idle))
        self._shim = self.factory.shims(target, self._to_guest, self._to_browser)
        self._browser.pauseProducing()
        self._connecting = self.factory.connect(target, _GuestProtocol(self))
        self._connecting.addCallbacks(self._guest_connected, self._guest_unreachable)

    # the guest side

    def _guest_connected(self, proto: Protocol) -> None:
        self._connecting = None
        assert isinstance(proto, _GuestProtocol)
        if self._ending is not None:
            proto.transport.abortConnection()  # type: ignore[union-attr]
            return
        self.guest = proto
        metrics = self.factory.metrics
        guest_transport: Any = proto.transport

        def browser_paused() -> None:
            metrics.browser_reads_paused += 1

        def guest_paused() -> None:
            metrics.guest_reads_paused += 1

        for transport in (guest_transport, self.transport):
            # bigger reads: fewer reactor turns per MB each way (memory: 2 x this per console)
            if isinstance(getattr(transport, "bufferSize", None), int):
                transport.bufferSize = READ_SIZE  # type: ignore[union-attr]
        guest_transport.registerProducer(_Valve(self.transport, browser_paused), True)
        self._browser.registerProducer(_Valve(guest_transport, guest_paused), True)
        connected = getattr(self._shim, "guest_connected", None)
        if connected is not None:  # shims.GuestHooks: e.g. VeNCrypt's TLS upgrade
            connected(getattr(guest_transport, "startTLS", None))
        pending, self._pending = self._pending, []
        for data in pending:
            self._from_browser(data)
        self._browser.resumeProducing()

    def _guest_unreachable(self, failure: Failure) -> None:
        self._connecting = None
        if self._ending is None:
            log.info("console target {host}:{port} unreachable: {error}",
                     host=self.target.host if self.target else "?",
                     port=self.target.port if self.target else "?",
                     error=failure.getErrorMessage())
            self.end(CloseCode.TARGET_UNREACHABLE, "console target unreachable")

    def from_guest(self, data: bytes) -> None:
        """Bytes from the guest, on their way to the browser."""
        self._last_activity = self.factory.clock.seconds()
        if self._shim is None:
            self._to_browser(data)
        else:
            self._run_shim(self._shim.from_guest, data)

    def guest_lost(self, reason: Failure) -> None:
        """The guest connection closed: end the session (unless it is already ending)."""
        self.guest = None
        if self._ending is None and self.state == self.STATE_OPEN:
            lost = getattr(self._shim, "guest_lost", None)
            if lost is not None:  # shims.GuestHooks: may end the session with a reason
                self._run_shim(lost, reason)
            if self._ending is not None:
                return
            grace = self.factory.config.guest_close_grace
            if grace > 0:
                # A guest's console usually closes because its instance is being
                # deleted or stopped; the revocation that says so may arrive just
                # after, and its reason is the one the browser should see.
                self._timers.append(self.factory.clock.callLater(
                    grace, self.end, CloseCode.NORMAL, "console connection closed"))
            else:
                self.end(CloseCode.NORMAL, "console connection closed")

    def _to_browser(self, data: bytes) -> None:
        if self.state != self.STATE_OPEN or self._ending is not None:
            return
        self.factory.metrics.bytes_to_browser += len(data)
        if self.record is not None:
            self.record.bytes_to_browser += len(data)
        if type(data) is not bytes:  # a shim's buffer may change after this call
            data = bytes(data)
        # one unmasked binary frame, written as header + payload without a copy
        # (what sendMessage would send, minus its per-call logging and joins)
        write_parts(self.transport, (binary_frame_header(len(data)), data))

    # the browser side: frame payloads stream straight on, never assembled

    def dataReceived(self, data: bytes) -> None:
        self._dataReceived(data)  # Autobahn's, without its per-chunk debug-log arguments

    def onMessageBegin(self, isBinary: bool) -> None:
        pass

    def onMessageFrameBegin(self, length: int) -> None:
        pass

    def onMessageFrameData(self, payload: bytes) -> None:
        if self._ending is not None:
            return
        self._last_activity = self.factory.clock.seconds()
        if self.guest is None:
            self._pending.append(bytes(payload))
        else:
            self._from_browser(bytes(payload))

    def onMessageFrameEnd(self) -> None:
        pass

    def onMessageEnd(self) -> None:
        pass

    def _from_browser(self, data: bytes) -> None:
        if self._shim is None:
            self._to_guest(data)
        else:
            self._run_shim(self._shim.from_browser, data)

    def _to_guest(self, data: bytes) -> None:
        if self.guest is None or self.guest.transport is None or self._ending is not None:
            return
        self.factory.metrics.bytes_to_guest += len(data)
        if self.record is not None:
            self.record.bytes_to_guest += len(data)
        write_now(self.guest.transport, data if type(data) is bytes else bytes(data))

    def _run_shim(self, step: Callable[[Any], None], data: Any) -> None:
        try:
            step(data)
        except GuestAuthError as error:
            log.info("console session {peer}: {error}", peer=self.peer, error=str(error))
            self.end(CloseCode.GUEST_AUTH_FAILED, "console authentication to the guest failed")
        except ShimError as error:
            log.info("console session {peer}: {error}", peer=self.peer, error=str(error))
            self.end(CloseCode.PROTOCOL_ERROR, "console protocol error")

    # closing

    def _check_idle(self) -> None:
        idle = self.factory.config.idle_timeout
        assert idle is not None
        quiet = self.factory.clock.seconds() - self._last_activity
        if quiet >= idle:
            self.end(CloseCode.IDLE_TIMEOUT, "idle timeout")
        else:
            self._timers.append(self.factory.clock.callLater(idle - quiet, self._check_idle))

    def end(self, code: int, reason: str) -> None:
        """Close the session from the proxy's side with ``code`` and ``reason`` (once)."""
        if self._ending is not None:
            return
        self._ending = (code, reason)
        if self.state == self.STATE_CONNECTING:
            return  # onOpen closes it as soon as the handshake completes
        if self.record is not None:
            self.record.close_code, self.record.close_reason = code, reason
        self._cancel_guest()
        if self.state == self.STATE_OPEN:
            self._browser.resumeProducing()  # read the browser's close reply
            self.sendClose(code=int(code), reason=reason)

    def _cancel_guest(self, abort: bool = True) -> None:
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        self._timers.clear()
        if self._connecting is not None:
            self._connecting.cancel()
        if self.guest is not None and self.guest.transport is not None:
            if abort:
                self.guest.transport.abortConnection()  # type: ignore[attr-defined]
            else:  # the browser left: what it sent last (keys) still reaches the guest
                self.guest.transport.loseConnection()

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if self.record is not None and self.record.close_code is None:
            self.record.close_code = code
            self.record.close_reason = reason or ("browser closed" if wasClean else "dropped")

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        super().connectionLost(reason)
        if self._finished:
            return
        self._finished = True
        self._ending = self._ending or (CloseCode.NORMAL, "browser closed")
        self._cancel_guest(abort=False)
        self.factory.release(self)


class ConsoleProxyFactory(WebSocketServerFactory):
    """Serves one console type's WebSocket; holds the live sessions and counters.

    ``validator`` checks tokens; ``reactor`` connects to guests (unless
    ``connect`` is given) and ``clock`` (default: ``reactor``) times expiry
    and idleness. ``shims`` picks a session's protocol stage (default:
    ``shims.shim_for``); ``tls_options`` makes the client TLS options for
    ``target.tls`` guests.
    """

    protocol = ConsoleProxyProtocol  # type: ignore[assignment]

    def __init__(
        self,
        validator: ITokenValidator,
        config: ProxyConfig,
        reactor: Any,
        *,
        clock: IReactorTime | None = None,
        connect: Connector | None = None,
        shims: ShimFactory = shim_for,
        tls_options: Callable[[ConsoleTarget], Any] | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(url=url or ("wss://localhost" if config.secure else "ws://localhost"))
        # Autobahn rounds its timers down to whole seconds, so its default
        # 1 s close timeout can fire at once and drop a browser that is about
        # to answer the close; these leave at least 4 s and 14 s.
        self.setProtocolOptions(maxFramePayloadSize=0, maxMessagePayloadSize=0,
                                openHandshakeTimeout=15, closeHandshakeTimeout=5)
        self.validator = validator
        self.config = config
        self.reactor = reactor
        self.clock: IReactorTime = clock if clock is not None else reactor
        self.connect: Connector = connect or self._connect
        self.shims = shims
        self._tls_options = tls_options or (lambda target: optionsForClientTLS(target.host))
        self.sessions: set[ConsoleProxyProtocol] = set()
        self.metrics = ProxyMetrics()
        self.limiter = (FailureLimiter(config.failed_auth_limit, config.failed_auth_window,
                                       self.clock)
                        if config.failed_auth_limit is not None else None)

    def _connect(self, target: ConsoleTarget, proto: Protocol) -> Deferred[Protocol]:
        endpoint: Any = HostnameEndpoint(
            self.reactor, target.host, target.port, timeout=self.config.connect_timeout)
        if target.tls:
            endpoint = wrapClientTLS(self._tls_options(target), endpoint)
        return connectProtocol(endpoint, proto)

    def refuse(self, reason: str, status: int, kind: str | None = None) -> ConnectionDeny:
        """Count a refused handshake (under ``kind``, default ``reason``) and build its error."""
        self.metrics.refusals[kind or reason] += 1
        log.info("console handshake refused ({status}): {reason}", status=status, reason=reason)
        return ConnectionDeny(status, reason)

    def open_console(self, token_digest: bytes) -> ConsoleTarget | None:
        """Where an open session that came with this token leads, when the
        console may open more channels (``channels_per_console`` > 1)."""
        if self.config.channels_per_console <= 1:
            return None
        now = self.clock.seconds()
        for session in self.sessions:
            target = session.target
            if (target is not None and session._ending is None and not session._finished
                    and session.state == session.STATE_OPEN and target.expires_at > now
                    and hmac.compare_digest(session.token_digest or b"", token_digest)):
                return target
        return None

    def admit(self, session: ConsoleProxyProtocol, target: ConsoleTarget) -> None:
        """Take a validated session in, or raise the refusal when a cap is reached."""
        config = self.config
        per_token = sum(
            1 for s in self.sessions if s.target and s.target.token_id == target.token_id)
        if config.max_per_token is not None and \
                per_token >= config.max_per_token * config.channels_per_console:
            raise self.refuse("too many connections for this token", 429)
        per_user = sum(1 for s in self.sessions if s.target and s.target.user_id == target.user_id)
        if config.max_per_user is not None and per_user >= config.max_per_user:
            raise self.refuse("too many connections for this user", 429)
        session.target = target
        if session.record is not None:
            record = session.record
            record.user_id, record.project_id = target.user_id, target.project_id
            record.instance_uuid, record.console_type = target.instance_uuid, target.console_type
        self.sessions.add(session)
        self.metrics.open_sessions = len(self.sessions)
        self.metrics.total_sessions += 1

    def release(self, session: ConsoleProxyProtocol) -> None:
        """A session's connection is gone: count it and log it once."""
        if session not in self.sessions:
            return
        self.sessions.discard(session)
        self.metrics.open_sessions = len(self.sessions)
        record = session.record
        if record is None:
            return
        self.metrics.closes[record.close_reason] += 1
        log.info(
            "console session closed: user {user} project {project} instance {instance} "
            "({console_type}) from {peer}, opened at {opened:.3f} for {duration:.1f}s, "
            "{to_guest} bytes to guest, {to_browser} bytes to browser, "
            "closed {code} {reason}",
            user=record.user_id, project=record.project_id, instance=record.instance_uuid,
            console_type=record.console_type, peer=record.peer, opened=record.opened_at,
            duration=self.clock.seconds() - record.opened_at,
            to_guest=record.bytes_to_guest, to_browser=record.bytes_to_browser,
            code=record.close_code, reason=record.close_reason, session=record,
        )

    def close_sessions(
        self,
        token_id: str | None = None,
        instance_uuid: str | None = None,
        reason: str = "console access revoked",
        code: int = CloseCode.REVOKED,
    ) -> int:
        """Close, at once, the live sessions of ``token_id`` and/or ``instance_uuid``.

        A session matches when every given criterion matches (none given: no
        session). Returns how many sessions were told to close.
        """
        if token_id is None and instance_uuid is None:
            return 0
        matched = [
            session for session in self.sessions
            if session.target is not None
            and (token_id is None or session.target.token_id == token_id)
            and (instance_uuid is None or session.target.instance_uuid == instance_uuid)
        ]
        for session in matched:
            session.end(code, reason)
        return len(matched)
