"""Bad input against a live router process: it aborts that session only, and lives on.

The router runs as a real ``twistd nova-router`` subprocess; a byte-level
client sends malformed and out-of-order messages, and hypothesis throws
random message sequences and garbage frames at it. After every example a
fresh client must still be welcomed and served, and the router's log must
hold no traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from autobahn.wamp import message
from autobahn.wamp.exception import InvalidUriError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.router.rawclient import HELLO_ANON, RawSocketClient, WebSocketClient
from tests.router.wamp_strategies import raw_calls, raw_yields

ROOT = Path(__file__).resolve().parents[2]
CONF = """
[router]
listen_host = 127.0.0.1
websocket_port = 0
rawsocket_port = 0
auth_methods = anonymous
anonymous_role = admin
"""


class RouterProcess:
    """A ``twistd -n nova-router`` subprocess and the ports it listens on."""

    def __init__(self, tmp: Path) -> None:
        conf = tmp / "nova.conf"
        conf.write_text(CONF)
        self.log = tmp / "router.log"
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "twisted", "--log-format=text", f"--log-file={self.log}",
             "nova-router", "--config", str(conf)],
            cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.ports = self._wait_for_ports()

    def _wait_for_ports(self) -> dict[str, int]:
        ports: dict[str, int] = {}
        pattern = re.compile(r"nova-router: (\w+) on \w+://[\d.]+:(\d+)")
        while len(ports) < 2:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.stderr else b""
                raise AssertionError(f"router exited: {err!r}")
            if self.log.exists():
                for m in pattern.finditer(self.log.read_text()):
                    ports[m.group(1)] = int(m.group(2))
            if len(ports) < 2:
                # the log is written as the router starts; poll it through the process
                try:
                    self.proc.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    pass
        return ports

    def alive_and_serving(self) -> None:
        """A fresh client is welcomed and can call the meta API."""
        assert self.proc.poll() is None, "the router process died"
        c = RawSocketClient(self.ports["rawsocket"])
        c.send(HELLO_ANON)
        assert c.recv()[0] == 2  # WELCOME
        c.send([48, 1, {}, "wamp.session.count"])
        result = c.recv()
        assert result[0] == 50 and result[1] == 1 and isinstance(result[3][0], int)
        c.send([6, {}, "wamp.close.close_realm"])
        assert c.recv()[0] == 6
        c.close()

    def tracebacks(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if "Traceback" in line]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def router_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RouterProcess]:
    proc = RouterProcess(tmp_path_factory.mktemp("router"))
    try:
        yield proc
    finally:
        proc.stop()


def _abort_reason(messages: list[list[object]]) -> str:
    aborts = [m for m in messages if m and m[0] == 3]
    assert aborts, f"expected ABORT, got {messages}"
    return str(aborts[0][2])


@pytest.mark.parametrize("first", [
    [48, 1, {}, "com.x"],                     # CALL before HELLO
    [2, 1, {}],                               # WELCOME from a client
    [5, "sig", {}],                           # AUTHENTICATE without CHALLENGE
    [99, 1, 2, 3],                            # unknown message type
    ["hello"],                                # not a message type
    [],                                       # empty message
])
def test_out_of_order_or_malformed_first_message(router_process: RouterProcess,
                                                 first: list[object]) -> None:
    """When the first message is not a valid HELLO, the session is aborted with a reason."""
    c = RawSocketClient(router_process.ports["rawsocket"])
    c.send(first)
    assert _abort_reason(c.drain()) == "wamp.error.protocol_violation"
    router_process.alive_and_serving()


def test_unknown_realm(router_process: RouterProcess) -> None:
    """When HELLO names a realm the router lacks, it answers ABORT no_such_realm."""
    c = WebSocketClient(router_process.ports["websocket"])
    c.send([1, "nope", {"roles": {"caller": {}}}])
    assert _abort_reason(c.drain()) == "wamp.error.no_such_realm"


def test_second_hello_after_welcome(router_process: RouterProcess) -> None:
    """When a joined session sends HELLO again, only that session is aborted."""
    other = RawSocketClient(router_process.ports["rawsocket"])
    other.send(HELLO_ANON)
    assert other.recv()[0] == 2
    c = WebSocketClient(router_process.ports["websocket"])
    c.send(HELLO_ANON)
    assert c.recv()[0] == 2
    c.send(HELLO_ANON)
    assert _abort_reason(c.drain()) == "wamp.error.protocol_violation"
    other.send([48, 7, {}, "wamp.session.count"])
    assert other.recv()[:2] == [50, 7]


def test_invalid_json_and_binary_frames(router_process: RouterProcess) -> None:
    """When a frame is not JSON, or binary on a JSON session, the session is aborted."""
    c = WebSocketClient(router_process.ports["websocket"])
    c.send_frame(b"{not json")
    assert _abort_reason(c.drain()) == "wamp.error.protocol_violation"
    c = WebSocketClient(router_process.ports["websocket"])
    c.send(HELLO_ANON)
    c.recv()
    c.send_frame(b"\x00\x01", opcode=2)
    assert _abort_reason(c.drain()) == "wamp.error.protocol_violation"


def test_wrong_path_and_subprotocol(router_process: RouterProcess) -> None:
    """When a WebSocket asks for another path or no WAMP subprotocol, it is refused."""
    assert WebSocketClient(router_process.ports["websocket"], path="/other").status == 404
    assert WebSocketClient(router_process.ports["websocket"], protocol="chat").status == 400


def test_bad_uris_get_errors_not_crashes(router_process: RouterProcess) -> None:
    """When a joined session sends invalid URIs, it gets an ABORT, never a crash."""
    c = RawSocketClient(router_process.ports["rawsocket"])
    c.send(HELLO_ANON)
    c.recv()
    c.send([32, 1, {"match": "regex"}, "com.x"])
    reply = c.drain()
    assert reply and reply[0][0] in (3, 8)
    router_process.alive_and_serving()
    assert router_process.tracebacks() == []


# -- random input ----------------------------------------------------------

uri = st.one_of(st.sampled_from(["com.a", "com.a.b", "wamp.session.count", "nova.x", ""]),
                st.text(max_size=12))
ident = st.one_of(st.integers(min_value=-5, max_value=2**60), st.sampled_from([1, 2, 3]))
junk = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8)
                    | st.floats(allow_nan=False), lambda c: st.lists(c, max_size=3)
                    | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=6)
opts = st.one_of(st.just({}), st.dictionaries(
    st.sampled_from(["match", "acknowledge", "exclude_me", "receive_progress", "timeout",
                     "invoke", "progress", "mode", "exclude", "eligible"]),
    junk, max_size=3))
messages = st.one_of(
    st.just(HELLO_ANON),
    st.tuples(st.just(1), uri, st.just({"roles": {"caller": {}}})).map(list),
    st.tuples(st.just(32), ident, opts, uri).map(list),                # SUBSCRIBE
    st.tuples(st.just(34), ident, ident).map(list),                    # UNSUBSCRIBE
    st.tuples(st.just(16), ident, opts, uri, st.lists(junk, max_size=2)).map(list),
    st.tuples(st.just(48), ident, opts, uri, st.lists(junk, max_size=2)).map(list),
    st.tuples(st.just(49), ident, opts).map(list),                     # CANCEL
    st.tuples(st.just(64), ident, opts, uri).map(list),                # REGISTER
    st.tuples(st.just(66), ident, ident).map(list),                    # UNREGISTER
    st.tuples(st.just(70), ident, opts, st.lists(junk, max_size=2)).map(list),   # YIELD
    st.tuples(st.just(8), st.sampled_from([68, 48, 1]), ident, opts, uri).map(list),
    st.tuples(st.just(5), st.text(max_size=5), opts).map(list),       # AUTHENTICATE
    st.lists(junk, max_size=5),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(messages, min_size=1, max_size=12), st.booleans())
def test_random_message_sequences(router_process: RouterProcess, msgs: list[object],
                                  websocket: bool) -> None:
    """For any message sequence, the router answers or aborts that session, and lives on."""
    c = (WebSocketClient(router_process.ports["websocket"]) if websocket
         else RawSocketClient(router_process.ports["rawsocket"]))
    try:
        for m in msgs:
            c.send(m)  # type: ignore[arg-type]
        c.send([6, {}, "wamp.close.close_realm"])
        c.drain()
    except (ConnectionError, OSError):
        pass  # the router may close while we are still sending
    finally:
        c.close()
    router_process.alive_and_serving()
    assert router_process.tracebacks() == []


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200), st.booleans())
def test_garbage_frames(router_process: RouterProcess, payload: bytes, joined: bool) -> None:
    """For any garbage payload, the router drops that session at most, and lives on."""
    c = RawSocketClient(router_process.ports["rawsocket"])
    try:
        if joined:
            c.send(HELLO_ANON)
            c.recv()
        c.send_bytes(payload)
        c.send_bytes(json.dumps([6, {}, "wamp.close.close_realm"]).encode())
        c.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        c.close()
    router_process.alive_and_serving()
    assert router_process.tracebacks() == []


# -- the CALL/YIELD fast path on a live router -------------------------------------------

def _joined_callee(router_process: RouterProcess, websocket: bool = False) -> Any:
    """A client that is joined and has registered ``com.echo``."""
    c = (WebSocketClient(router_process.ports["websocket"]) if websocket
         else RawSocketClient(router_process.ports["rawsocket"]))
    c.send(HELLO_ANON)
    assert c.recv()[0] == 2
    c.send([64, 1, {}, "com.echo"])
    assert c.recv()[0] == 65
    return c


@pytest.mark.parametrize("bad,reason", [
    ([48, -1, {}, "com.echo"], "wamp.error.protocol_violation"),
    ([48, 2**53 + 1, {}, "com.echo"], "wamp.error.protocol_violation"),
    ([48, 1, {"timeout": -5}, "com.echo"], "wamp.error.protocol_violation"),
    ([48, 1, {"receive_progress": "yes"}, "com.echo"], "wamp.error.protocol_violation"),
    ([48, 1, {}, "com..echo"], "wamp.error.invalid_uri"),
    ([48, 1, {}, 7], "wamp.error.invalid_uri"),
    ([48, 1, {}, "com.echo", {"not": "a list"}], "wamp.error.protocol_violation"),
    ([48, 1, {}, "com.echo", [], ["not a dict"]], "wamp.error.protocol_violation"),
    ([48, 1, []], "wamp.error.protocol_violation"),
    ([70, 1, {"progress": 1}], "wamp.error.protocol_violation"),
    ([70, "1", {}], "wamp.error.protocol_violation"),
    ([70, 1, {}, "not a list"], "wamp.error.protocol_violation"),
    ([70, 1, {}, [], 5], "wamp.error.protocol_violation"),
])
@pytest.mark.parametrize("websocket", [False, True])
def test_malformed_call_or_yield_aborts(router_process: RouterProcess, bad: list[Any],
                                        reason: str, websocket: bool) -> None:
    """When a joined session sends a malformed CALL or YIELD, it is aborted with the reason."""
    c = _joined_callee(router_process, websocket)
    c.send(bad)
    assert _abort_reason(c.drain()) == reason
    router_process.alive_and_serving()
    assert router_process.tracebacks() == []


def _json_roundtrip(raw: list[Any]) -> list[Any] | None:
    """*raw* as the router gets it from a JSON client (None if JSON cannot carry it)."""
    try:
        out: list[Any] = json.loads(json.dumps(raw))
        return out
    except (TypeError, ValueError):
        return None


def _reference(parse: Any, raw: list[Any]) -> Any:
    try:
        return parse(raw)
    except InvalidUriError:
        return "wamp.error.invalid_uri"
    except Exception:
        return "wamp.error.protocol_violation"


VALID_URIS = {"com.a", "com.a.b", "x", "nova.compute.h1.spawn", "com.ü"}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw_calls(), st.booleans())
def test_random_calls_routed_or_refused_as_autobahn_would(router_process: RouterProcess,
                                                          raw: list[Any],
                                                          websocket: bool) -> None:
    """For any CALL, the callee gets Autobahn's INVOCATION, or the caller Autobahn's refusal."""
    if len(raw) > 3 and raw[3] in VALID_URIS:
        raw[3] = "com.echo"
    options = raw[2] if len(raw) > 2 else None
    if isinstance(options, dict) and type(options.get("timeout")) is int and options["timeout"]:
        options["timeout"] = 3_600_000  # still a valid timeout, but one that never fires here
    sent = _json_roundtrip(raw)
    assume(sent is not None)
    assert sent is not None  # for the type checker
    expected = _reference(message.Call.parse, sent)
    assume(isinstance(expected, str) or not expected.procedure.startswith("wamp."))
    c = _joined_callee(router_process, websocket)
    try:
        c.send(sent)
        if isinstance(expected, str):
            assert _abort_reason(c.drain()) == expected
        elif expected.procedure != "com.echo":
            assert c.recv()[:5] == [8, 48, expected.request, {}, "wamp.error.no_such_procedure"]
        else:
            invocation = c.recv()
            assert invocation[0] == 68
            assert invocation[4:] == message.Invocation(
                1, 1, args=expected.args, kwargs=expected.kwargs).marshal()[4:]
            c.send([70, invocation[1], {}, ["done"]])
            assert c.recv() == [50, expected.request, {}, ["done"]]
    finally:
        c.close()
    router_process.alive_and_serving()
    assert router_process.tracebacks() == []


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw_yields(), st.booleans())
def test_random_yields_routed_or_refused_as_autobahn_would(router_process: RouterProcess,
                                                           raw: list[Any],
                                                           websocket: bool) -> None:
    """For any YIELD, the caller gets Autobahn's RESULT, or the callee Autobahn's refusal."""
    c = _joined_callee(router_process, websocket)
    try:
        c.send([48, 5, {}, "com.echo", [1]])
        invocation = c.recv()
        if raw[1:2] and isinstance(raw[1], int) and 0 <= raw[1] <= 2**53:
            raw[1] = invocation[1]
        sent = _json_roundtrip(raw)
        assume(sent is not None)
        assert sent is not None  # for the type checker
        expected = _reference(message.Yield.parse, sent)
        c.send(sent)
        if isinstance(expected, str):
            assert _abort_reason(c.drain()) == expected
        elif expected.request != invocation[1]:
            c.send([70, invocation[1], {}])  # an unknown invocation is ignored
            assert c.recv() == [50, 5, {}]
        elif expected.progress:
            c.send([70, invocation[1], {}])  # progress the caller did not ask for is dropped
            assert c.recv() == [50, 5, {}]
        else:
            assert c.recv() == message.Result(5, args=expected.args,
                                              kwargs=expected.kwargs).marshal()
    finally:
        c.close()
    router_process.alive_and_serving()
    assert router_process.tracebacks() == []


# -- plain WebSocket frames mixed with those Autobahn handles ------------------------------

def test_frames_for_autobahn_between_plain_frames(router_process: RouterProcess) -> None:
    """When ping and fragmented frames sit between plain ones, all are handled in order."""
    c = _joined_callee(router_process, websocket=True)

    def frame(payload: bytes, opcode: int = 1, fin: bool = True) -> bytes:
        head = bytes([(0x80 if fin else 0) | opcode, 0x80 | len(payload)])
        return head + b"\x00\x00\x00\x00" + payload  # the zero mask leaves payloads as they are

    session_count = b'[48,%d,{},"wamp.session.count"]'
    burst = (frame(session_count % 1) + frame(b"ping!", opcode=9)
             + frame((session_count % 2)[:10], fin=False)
             + frame((session_count % 2)[10:], opcode=0)
             + frame(session_count % 3))
    c.sock.sendall(burst)  # one write: the router reads the burst at once, or nearly
    opcode, payload = c.recv_frame()
    assert opcode == 1 and json.loads(payload)[:2] == [50, 1]
    assert c.recv_frame() == (10, b"ping!")
    assert json.loads(c.recv_frame()[1])[:2] == [50, 2]
    assert json.loads(c.recv_frame()[1])[:2] == [50, 3]
    c.close()


def test_invalid_utf8_text_fails_the_connection(router_process: RouterProcess) -> None:
    """When a text frame is not UTF-8, Autobahn drops the connection before any WAMP reply."""
    c = _joined_callee(router_process, websocket=True)
    c.send_frame(b'[48,1,{},"com.echo",["\xff"]]')
    assert c.drain() == []
    router_process.alive_and_serving()


def test_empty_uris_and_wrong_meta_arguments_are_errors(router_process: RouterProcess) -> None:
    """When a session subscribes or registers '' with a match policy that cannot take it,
    or calls a meta procedure with arguments it does not take, it gets a WAMP ERROR,
    stays joined, and the router logs no traceback."""
    c = RawSocketClient(router_process.ports["rawsocket"])
    c.send(HELLO_ANON)
    assert c.recv()[0] == 2
    c.send([32, 1, {}, ""])  # SUBSCRIBE '' (exact)
    assert c.recv()[:5] == [8, 32, 1, {}, "wamp.error.invalid_uri"]
    c.send([64, 2, {"match": "wildcard"}, ""])  # REGISTER '' (wildcard)
    assert c.recv()[:5] == [8, 64, 2, {}, "wamp.error.invalid_uri"]
    c.send([48, 3, {}, "wamp.session.count", [["member"], "extra"]])
    assert c.recv()[:5] == [8, 48, 3, {}, "wamp.error.invalid_argument"]
    c.send([48, 4, {}, "wamp.session.count"])
    assert c.recv()[:2] == [50, 4]
    c.close()
    assert router_process.tracebacks() == []
