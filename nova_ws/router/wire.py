"""WAMP messages as the wire has them: decoding, the CALL/YIELD fast path, encoding.

Autobahn turns every received message into an object (``Call.parse``) and
every sent one back into a list (``Invocation.marshal``) before serializing
it. For the two messages that carry every routed call, CALL and YIELD, the
router skips that round trip when it safely can:

* :func:`decode` unserializes a payload into lists with the transport's own
  serializer, checks what Autobahn's ``Serializer.unserialize`` checks, and
  turns a CALL or YIELD of a joined session whose fields are all of the
  common, valid kinds into a :class:`CallIn` or :class:`YieldIn` directly.
  Anything else (an option the fast path does not know, payload
  transparency, a value of a wrong type, an invalid URI) goes through
  Autobahn's own ``parse``, so it is accepted, refused or reported exactly as
  before. The fast path never refuses anything itself.
* The dealer builds INVOCATION and RESULT as lists (:func:`app_tail`,
  :func:`enc_details`), exactly as Autobahn's ``marshal`` would, and the
  transport serializes the list as it is.

This module is pure: it imports nothing from Twisted.
"""

from __future__ import annotations

import re
from typing import Any

from autobahn.wamp import message
from autobahn.wamp.exception import ProtocolError

CALL = message.Call.MESSAGE_TYPE
YIELD = message.Yield.MESSAGE_TYPE
INVOCATION = message.Invocation.MESSAGE_TYPE
RESULT = message.Result.MESSAGE_TYPE
ERROR = message.Error.MESSAGE_TYPE

MAX_ID = 2**53
# Autobahn's Serializer.MESSAGE_TYPE_MAP, built from the message classes (importing
# the serializer module before Twisted is chosen for txaio would break its clock)
MESSAGE_TYPES: dict[int, Any] = {
    cls.MESSAGE_TYPE: cls for cls in vars(message).values()
    if isinstance(cls, type) and issubclass(cls, message.Message)
    and cls.MESSAGE_TYPE is not None}

# The URI rule Autobahn's parse applies to a CALL's procedure (loose, no empty
# component); URIs that passed are remembered, a bounded number of them.
_URI = re.compile(r"^([^\s\.#]+\.)*([^\s\.#]+)$")
_VALID_URIS: set[str] = set()
_URI_CACHE_LIMIT = 4096
_CALL_OPTIONS = frozenset({"timeout", "receive_progress"})
_YIELD_OPTIONS = frozenset({"progress"})


class CallIn:
    """A validated CALL, from the fast path or from Autobahn's ``Call``.

    ``tail`` is what follows the details in the INVOCATION to build: ``[]``,
    ``[args]``, ``[args, kwargs]`` or ``[payload]``; ``enc`` holds the payload
    transparency details (``enc_algo``...) when there is a payload.
    """

    __slots__ = ("request", "procedure", "timeout", "receive_progress", "tail", "enc")

    def __init__(self, request: int, procedure: str, timeout: int | None,
                 receive_progress: bool | None, tail: list[Any],
                 enc: dict[str, Any] | None = None) -> None:
        self.request = request
        self.procedure = procedure
        self.timeout = timeout
        self.receive_progress = receive_progress
        self.tail = tail
        self.enc = enc

    @classmethod
    def from_message(cls, msg: message.Call) -> CallIn:
        """The same call, from an Autobahn message object."""
        return cls(msg.request, msg.procedure, msg.timeout, msg.receive_progress,
                   app_tail(msg.args, msg.kwargs, msg.payload), enc_details(msg))


class YieldIn:
    """A validated YIELD, from the fast path or from Autobahn's ``Yield``."""

    __slots__ = ("request", "progress", "tail", "enc")

    def __init__(self, request: int, progress: bool | None, tail: list[Any],
                 enc: dict[str, Any] | None = None) -> None:
        self.request = request
        self.progress = progress
        self.tail = tail
        self.enc = enc

    @classmethod
    def from_message(cls, msg: message.Yield) -> YieldIn:
        """The same result, from an Autobahn message object."""
        return cls(msg.request, msg.progress, app_tail(msg.args, msg.kwargs, msg.payload),
                   enc_details(msg))


def app_tail(args: Any, kwargs: Any, payload: Any) -> list[Any]:
    """The application payload part of a message, as Autobahn's ``marshal`` writes it."""
    if payload:
        return [payload]
    if kwargs:
        return [args, kwargs]
    if args:
        return [args]
    return []


def enc_details(msg: Any) -> dict[str, Any] | None:
    """The payload transparency details of *msg* (None without a payload)."""
    if not msg.payload:
        return None
    enc = {}
    for key in ("enc_algo", "enc_key", "enc_serializer"):
        value = getattr(msg, key)
        if value is not None:
            enc[key] = value
    return enc


def _is_id(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_ID


def _is_kwargs(value: Any) -> bool:
    if type(value) is not dict:
        return False
    for key in value:
        if type(key) is not str:
            return False
    return True


def _is_uri(value: Any) -> bool:
    if type(value) is not str:
        return False
    if value in _VALID_URIS:
        return True
    if not _URI.match(value):
        return False
    if len(_VALID_URIS) >= _URI_CACHE_LIMIT:
        _VALID_URIS.clear()
    _VALID_URIS.add(value)
    return True


def fast_call(raw: list[Any]) -> CallIn | None:
    """*raw* as a :class:`CallIn` if the fast path can take it as it is, else None."""
    n = len(raw)
    if n < 4 or n > 6:
        return None
    request, options, procedure = raw[1], raw[2], raw[3]
    if not _is_id(request) or type(options) is not dict or not _is_uri(procedure):
        return None
    timeout = receive_progress = None
    if options:
        if not _CALL_OPTIONS.issuperset(options):
            return None
        if "timeout" in options:
            timeout = options["timeout"]
            if type(timeout) is not int or timeout < 0:
                return None
        if "receive_progress" in options:
            receive_progress = options["receive_progress"]
            if type(receive_progress) is not bool:
                return None
    if n == 4:
        return CallIn(request, procedure, timeout, receive_progress, [])
    args = raw[4]
    if args is not None and type(args) is not list:
        return None  # payload transparency, or an error Autobahn will name
    if n == 5:
        return CallIn(request, procedure, timeout, receive_progress, [args] if args else [])
    kwargs = raw[5]
    if not _is_kwargs(kwargs):
        return None
    return CallIn(request, procedure, timeout, receive_progress, app_tail(args, kwargs, None))


def fast_yield(raw: list[Any]) -> YieldIn | None:
    """*raw* as a :class:`YieldIn` if the fast path can take it as it is, else None."""
    n = len(raw)
    if n < 3 or n > 5:
        return None
    request, options = raw[1], raw[2]
    if not _is_id(request) or type(options) is not dict:
        return None
    progress = None
    if options:
        if not _YIELD_OPTIONS.issuperset(options):
            return None
        progress = options["progress"]
        if type(progress) is not bool:
            return None
    if n == 3:
        return YieldIn(request, progress, [])
    args = raw[3]
    if args is not None and type(args) is not list:
        return None
    if n == 4:
        return YieldIn(request, progress, [args] if args else [])
    kwargs = raw[4]
    if not _is_kwargs(kwargs):
        return None
    return YieldIn(request, progress, app_tail(args, kwargs, None))


_FAST = {CALL: fast_call, YIELD: fast_yield}


def decode(serializer: Any, payload: bytes, is_binary: bool | None, joined: bool) -> list[Any]:
    """The messages in one received payload, checked as Autobahn checks them.

    *serializer* is an Autobahn ``ISerializer``. Raises ``ProtocolError`` (or
    Autobahn's ``InvalidUriError``, from its ``parse``) for anything invalid;
    nothing of a payload is returned unless all of it is valid. With *joined*,
    a CALL or YIELD of the common shape comes back as :class:`CallIn` or
    :class:`YieldIn`; every other message as Autobahn's message object.
    """
    obj = serializer._serializer
    if is_binary is not None and is_binary != obj.BINARY:
        raise ProtocolError(f"invalid serialization of WAMP message (binary {is_binary}, "
                            f"but expected {obj.BINARY})")
    try:
        raw_msgs = obj.unserialize(payload)
    except Exception as exc:
        raise ProtocolError(f"invalid serialization of WAMP message: "
                            f"{type(exc).__name__} {exc}") from exc
    out = []
    for raw in raw_msgs:
        if type(raw) is not list:
            raise ProtocolError(f"invalid type {type(raw)} for WAMP message")
        if not raw:
            raise ProtocolError("missing message type in WAMP message")
        kind = raw[0]
        if type(kind) is not int:
            raise ProtocolError(f"invalid type {type(kind)} for WAMP message type")
        if joined:
            fast = _FAST.get(kind)
            if fast is not None:
                msg = fast(raw)
                if msg is not None:
                    out.append(msg)
                    continue
        klass = MESSAGE_TYPES.get(kind)
        if klass is None:
            raise ProtocolError(f"invalid WAMP message type {kind}")
        out.append(klass.parse(raw))
    return out


PARSERS: dict[int, Any] = {INVOCATION: message.Invocation.parse,
                           RESULT: message.Result.parse, ERROR: message.Error.parse}


def to_message(raw: list[Any]) -> Any:
    """A message built as a list (INVOCATION, RESULT), as Autobahn's message object."""
    return PARSERS[raw[0]](raw)
