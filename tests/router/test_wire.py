"""The CALL/YIELD fast path against Autobahn's own parsing and marshalling.

Whatever the fast path accepts must be exactly what Autobahn's ``parse``
makes of the same list; what it does not accept goes to Autobahn, so
:func:`decode` must answer every payload as Autobahn's serializer does (the
same messages, or the same exception). The dealer's INVOCATION and RESULT
lists must be what Autobahn's ``marshal`` writes for the same message.
"""

from __future__ import annotations

from typing import Any

import pytest
from autobahn.wamp import message, role
from autobahn.wamp.exception import ProtocolError
from autobahn.wamp.serializer import (
    CBORSerializer,
    JsonSerializer,
    MsgPackSerializer,
    Serializer,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock
from zope.interface import implementer

from nova_ws.router.auth.interfaces import Accept, IAuthenticator
from nova_ws.router.policy import builtin_roles
from nova_ws.router.router import Router
from nova_ws.router.serializers import FastJsonSerializer
from nova_ws.router.wire import (
    MESSAGE_TYPES,
    CallIn,
    YieldIn,
    app_tail,
    decode,
    fast_call,
    fast_yield,
)
from tests.router.wamp_strategies import (
    app_args,
    bad_ids,
    bad_options,
    bad_uris,
    call_options,
    ids,
    junk,
    raw_calls,
    raw_yields,
    texts,
    uris,
)


def _reference(parse: Any, raw: list[Any]) -> Any:
    """What Autobahn makes of *raw*: its message, or the exception type it raises."""
    try:
        return parse(raw)
    except Exception as exc:
        return type(exc)


def _call_fields(c: CallIn) -> tuple[Any, ...]:
    return (c.request, c.procedure, c.timeout, c.receive_progress, c.tail, c.enc)


def _yield_fields(y: YieldIn) -> tuple[Any, ...]:
    return (y.request, y.progress, y.tail, y.enc)


# -- the fast path is Autobahn's parse, where it answers at all ----------------------

@settings(max_examples=400)
@given(raw_calls())
def test_fast_call_agrees_with_autobahn(raw: list[Any]) -> None:
    """For any CALL-like list, the fast path declines or gives exactly Autobahn's call."""
    fast = fast_call(raw)
    ref = _reference(message.Call.parse, raw)
    if fast is None:
        return
    assert isinstance(ref, message.Call), f"fast path accepted what Autobahn refuses: {ref}"
    assert _call_fields(fast) == _call_fields(CallIn.from_message(ref))


@settings(max_examples=400)
@given(raw_yields())
def test_fast_yield_agrees_with_autobahn(raw: list[Any]) -> None:
    """For any YIELD-like list, the fast path declines or gives exactly Autobahn's result."""
    fast = fast_yield(raw)
    ref = _reference(message.Yield.parse, raw)
    if fast is None:
        return
    assert isinstance(ref, message.Yield), f"fast path accepted what Autobahn refuses: {ref}"
    assert _yield_fields(fast) == _yield_fields(YieldIn.from_message(ref))


plain_args = st.one_of(st.none(), st.lists(junk, max_size=3))
plain_kwargs = st.one_of(st.none(), st.dictionaries(texts, junk, max_size=3))


@given(st.integers(min_value=0, max_value=2**53), st.sampled_from(["com.a", "a.b.c"]),
       plain_args, plain_kwargs, st.none() | st.integers(min_value=0, max_value=10**6),
       st.none() | st.booleans())
def test_common_calls_take_the_fast_path(request: int, procedure: str, args: Any, kwargs: Any,
                                         timeout: Any, receive_progress: Any) -> None:
    """When a client library writes a CALL without payload transparency, the fast path takes it."""
    raw = message.Call(request, procedure, args=args, kwargs=kwargs, timeout=timeout,
                       receive_progress=receive_progress).marshal()
    fast = fast_call(raw)
    assert fast is not None
    assert _call_fields(fast) == _call_fields(CallIn.from_message(message.Call.parse(raw)))


@given(st.integers(min_value=0, max_value=2**53), plain_args, plain_kwargs,
       st.none() | st.booleans())
def test_common_yields_take_the_fast_path(request: int, args: Any, kwargs: Any,
                                          progress: Any) -> None:
    """When a client library writes a YIELD without payload transparency, the fast path takes it."""
    raw = message.Yield(request, args=args, kwargs=kwargs, progress=progress).marshal()
    fast = fast_yield(raw)
    assert fast is not None
    assert _yield_fields(fast) == _yield_fields(YieldIn.from_message(message.Yield.parse(raw)))


def test_payload_transparency_is_left_to_autobahn() -> None:
    """When a CALL or YIELD carries a transparent payload, the fast path declines it."""
    assert fast_call([48, 1, {"enc_algo": "cryptobox"}, "com.a", b"secret"]) is None
    assert fast_call([48, 1, {}, "com.a", b"secret"]) is None
    assert fast_yield([70, 1, {}, b"secret"]) is None


# -- decode: every payload answered as Autobahn's serializer answers it -------------

def test_message_types_are_autobahns() -> None:
    """The message type table is Autobahn's serializer's table."""
    assert MESSAGE_TYPES == Serializer.MESSAGE_TYPE_MAP


options = st.one_of(call_options, bad_options)
other_messages = st.one_of(
    st.tuples(st.just(16), ids, options, uris, app_args).map(list),   # PUBLISH
    st.tuples(st.just(32), ids, options, bad_uris).map(list),         # SUBSCRIBE
    st.tuples(st.just(49), ids, options).map(list),                   # CANCEL
    st.tuples(st.just(64), bad_ids, options, uris).map(list),         # REGISTER
    st.tuples(st.just(8), st.sampled_from([68, 48, 1]), ids, options, uris).map(list),
    st.lists(junk, max_size=4),
    junk,
)
SERIALIZER_CLASSES = {"json": FastJsonSerializer, "autobahn-json": JsonSerializer,
                      "msgpack": MsgPackSerializer, "cbor": CBORSerializer}


def _comparable(msg: Any) -> Any:
    if isinstance(msg, message.Call):
        msg = CallIn.from_message(msg)
    if isinstance(msg, message.Yield):
        msg = YieldIn.from_message(msg)
    if isinstance(msg, CallIn):
        return ("CALL", *_call_fields(msg))
    if isinstance(msg, YieldIn):
        return ("YIELD", *_yield_fields(msg))
    return (type(msg).__name__, msg.marshal())


def _outcome(unserialize: Any) -> Any:
    try:
        return [_comparable(m) for m in unserialize()]
    except Exception as exc:
        return type(exc)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SERIALIZER_CLASSES)), st.booleans(),
       st.lists(st.one_of(raw_calls(), raw_yields(), other_messages), min_size=1, max_size=3))
def test_decode_answers_as_autobahn(name: str, batched: bool, msgs: list[Any]) -> None:
    """For any payload, decode gives Autobahn's messages or raises what Autobahn raises."""
    ser = SERIALIZER_CLASSES[name](batched=batched)
    try:
        payload = b"".join(ser._serializer.serialize(m) for m in msgs)
    except Exception:
        return  # not representable in this format
    if not batched:
        if len(msgs) > 1:
            return
    expected = _outcome(lambda: ser.unserialize(payload, ser._serializer.BINARY))
    for joined in (False, True):
        got = _outcome(lambda j=joined: decode(ser, payload, ser._serializer.BINARY, j))
        assert got == expected


@given(st.binary(max_size=64), st.sampled_from(sorted(SERIALIZER_CLASSES)))
def test_decode_garbage_like_autobahn(payload: bytes, name: str) -> None:
    """For any bytes, decode raises what Autobahn raises, or gives the same messages."""
    ser = SERIALIZER_CLASSES[name]()
    expected = _outcome(lambda: ser.unserialize(payload, None))
    assert _outcome(lambda: decode(ser, payload, None, True)) == expected


def test_decode_refuses_the_wrong_frame_kind() -> None:
    """When a binary frame arrives on a JSON session (or text on MessagePack), it is refused."""
    with pytest.raises(ProtocolError):
        decode(FastJsonSerializer(), b'[48,1,{},"com.a"]', True, True)
    with pytest.raises(ProtocolError):
        decode(MsgPackSerializer(), b"\x94\x30\x01\x80\xa1a", False, True)


def test_decode_takes_the_fast_path_only_when_joined() -> None:
    """When the session is not joined, CALL comes back as Autobahn's message (for its errors)."""
    payload = b'[48,1,{},"com.a",[1,"x"]]'
    assert isinstance(decode(FastJsonSerializer(), payload, False, True)[0], CallIn)
    assert isinstance(decode(FastJsonSerializer(), payload, False, False)[0], message.Call)


# -- the dealer's lists are Autobahn's marshal ------------------------------------------

class WireTransport:
    """Records what the router sends, as lists, whichever way it sends them."""

    def __init__(self) -> None:
        self.sent: list[list[Any]] = []

    def send(self, msg: Any) -> None:
        self.sent.append(msg.marshal())

    def send_wire(self, wire: list[Any]) -> None:
        self.sent.append(wire)

    def close(self) -> None:
        pass


@implementer(IAuthenticator)
class Anonymous:
    """Welcomes everybody as ``admin`` (whose calls are disclosed)."""

    authmethod = "anonymous"

    def hello(self, info: Any) -> Accept:
        return Accept("someone", "admin", "anonymous", "static")


PROGRESS_HELLO = message.Hello("nova", {
    "caller": role.RoleCallerFeatures(progressive_call_results=True),
    "callee": role.RoleCalleeFeatures(progressive_call_results=True)})


def _joined(router: Router) -> tuple[Any, WireTransport]:
    session = router.session_factory()
    transport = WireTransport()
    session.onOpen(transport)
    session.onMessage(PROGRESS_HELLO)
    assert transport.sent[-1][0] == message.Welcome.MESSAGE_TYPE
    return session, transport


def _decoded(session: Any, raw: list[Any]) -> Any:
    """*raw* as the transport would hand it to the session (fast path when it applies)."""
    ser = MsgPackSerializer()
    return decode(ser, ser._serializer.serialize(raw), True, session.joined)[0]


@settings(max_examples=150, deadline=None)
@given(plain_args, plain_kwargs, st.none() | st.booleans(),
       st.none() | st.integers(min_value=0, max_value=10**6), st.booleans(),
       plain_args, plain_kwargs, st.booleans())
def test_invocation_and_result_are_autobahns_marshal(
        args: Any, kwargs: Any, receive_progress: Any, timeout: Any, prefix: bool,
        r_args: Any, r_kwargs: Any, progressive: bool) -> None:
    """For any call and answer, INVOCATION and RESULT are what Autobahn's marshal writes."""
    router = Router({"nova": builtin_roles()}, Clock())
    router.authenticators = {"anonymous": Anonymous()}
    callee, callee_t = _joined(router)
    caller, caller_t = _joined(router)
    pattern = "com.wire." if prefix else "com.wire.echo"
    callee.onMessage(message.Register(1, pattern, match="prefix" if prefix else None))
    registration = callee_t.sent[-1][2]
    raw_call = message.Call(9, "com.wire.echo", args=args, kwargs=kwargs, timeout=timeout,
                            receive_progress=receive_progress).marshal()
    caller.onMessage(_decoded(caller, raw_call))
    invocation = callee_t.sent[-1]
    assert invocation == message.Invocation(
        invocation[1], registration, args=args, kwargs=kwargs,
        receive_progress=True if receive_progress else None, caller=caller.session_id,
        caller_authid="someone", caller_authrole="admin",
        procedure="com.wire.echo" if prefix else None).marshal()
    if progressive:
        callee.onMessage(_decoded(callee, message.Yield(
            invocation[1], args=r_args, kwargs=r_kwargs, progress=True).marshal()))
        if receive_progress:
            assert caller_t.sent[-1] == message.Result(
                9, args=r_args, kwargs=r_kwargs, progress=True).marshal()
    callee.onMessage(_decoded(callee, message.Yield(
        invocation[1], args=r_args, kwargs=r_kwargs).marshal()))
    assert caller_t.sent[-1] == message.Result(9, args=r_args, kwargs=r_kwargs).marshal()
    assert router.realms["nova"].dealer.pending_count() == 0


def test_transparent_payload_is_routed_as_autobahn_would() -> None:
    """When a call and its answer carry transparent payloads, both pass through unchanged."""
    router = Router({"nova": builtin_roles()}, Clock())
    router.authenticators = {"anonymous": Anonymous()}
    callee, callee_t = _joined(router)
    caller, caller_t = _joined(router)
    callee.onMessage(message.Register(1, "com.sealed"))
    enc = {"enc_algo": "cryptobox", "enc_key": "k1", "enc_serializer": "cbor"}
    caller.onMessage(_decoded(caller, [48, 3, enc, "com.sealed", b"sealed-call"]))
    invocation = callee_t.sent[-1]
    assert invocation[4] == b"sealed-call"
    assert {k: invocation[3][k] for k in enc} == enc
    callee.onMessage(_decoded(callee, [70, invocation[1], enc, b"sealed-result"]))
    assert caller_t.sent[-1] == message.Result(3, payload=b"sealed-result", **enc).marshal()


def test_app_tail_is_autobahns_order() -> None:
    """The payload part follows Autobahn's rule: payload, else kwargs with args, else args."""
    assert app_tail(None, None, None) == []
    assert app_tail([], {}, None) == []
    assert app_tail([1], None, None) == [[1]]
    assert app_tail(None, {"a": 1}, None) == [None, {"a": 1}]
    assert app_tail([1], {"a": 1}, b"p") == [b"p"]
