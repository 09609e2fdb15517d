"""The benchmark's client processes and the two workloads they make up.

Every client is its own OS process (forked), so the router is measured on its
own. The parent and its clients share a small array of counters: slot 0 is
the phase (warm-up, measure, stop) that clients poll between reads, and each
client has one slot where it keeps its running count (calls answered, events
received). A pipe per client carries ``ready``, ``go`` and the final result.

* RPC: one callee registers ``bench.echo`` and returns its argument; one
  caller keeps ``outstanding`` calls in flight and records round trips while
  the phase is *measure*.
* Pub/sub: subscribers count events on ``bench.topic``; one publisher (not
  subscribed) publishes with ``acknowledge`` and keeps at most ``window``
  publications unacknowledged and at most ``max_lag`` publications ahead of
  the slowest subscriber, so no router buffer grows without bound.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from leanwamp import (
    CALL,
    CODECS,
    ERROR,
    EVENT,
    INVOCATION,
    PUBLISH,
    PUBLISHED,
    REGISTER,
    REGISTERED,
    RESULT,
    SUBSCRIBE,
    SUBSCRIBED,
    YIELD,
    Connection,
    Template,
)
from procstat import cpu_seconds

ARGS = [1, "hello"]
PROCEDURE, TOPIC = "bench.echo", "bench.topic"
WARMUP, MEASURE, STOP = 0, 1, 2
_CTX = multiprocessing.get_context("fork")
_READY_TIMEOUT, _DONE_TIMEOUT = 30.0, 15.0


class CellError(Exception):
    """A client failed or the router misbehaved during a cell."""


@dataclass(frozen=True)
class Target:
    """Where and how clients reach the router."""

    transport: str  # websocket | rawsocket
    codec: str  # json | msgpack
    port: int
    host: str = "127.0.0.1"
    path: str = "/ws"
    realm: str = "nova"

    def connect(self) -> Connection:
        """A joined WAMP session."""
        conn = Connection(self.transport, self.host, self.port, CODECS[self.codec],
                          path=self.path)
        conn.join(self.realm)
        return conn


# -- client roles (run in child processes) ------------------------------------

def _callee(conn: Connection, ctl: Any, shared: Any, slot: int) -> dict[str, Any]:
    codec = conn.codec
    conn.request([REGISTER, 1, {}, PROCEDURE], REGISTERED)
    reply = Template(codec, [YIELD, 0, {}, ARGS])
    _ready(ctl)
    loads, dumps, answered = codec.loads, codec.dumps, 0
    while shared[0] != STOP:
        out = []
        for payload in conn.receive():
            msg = loads(payload)
            if msg[0] == INVOCATION:
                args = msg[4] if len(msg) > 4 else []
                out.append(reply.render(msg[1]) if args == ARGS
                           else dumps([YIELD, msg[1], {}, args]))
        if out:
            conn.send(out)
            answered += len(out)
            shared[slot] = answered
    return {"answered": answered}


def _caller(conn: Connection, ctl: Any, shared: Any, slot: int,
            outstanding: int) -> dict[str, Any]:
    call = Template(conn.codec, [CALL, 0, {}, PROCEDURE, ARGS])
    _ready(ctl)
    now, loads = time.perf_counter_ns, conn.codec.loads
    sent: dict[int, int] = {}
    request, done, errors, first_error = 0, 0, 0, None
    latencies: list[int] = []
    measuring = False
    out = []
    for _ in range(outstanding):
        request += 1
        sent[request] = now()
        out.append(call.render(request))
    conn.send(out)
    while True:
        phase = shared[0]
        if phase == STOP:
            break
        if phase == MEASURE and not measuring:
            measuring, latencies = True, []
        received = conn.receive()
        if not received or shared[0] == STOP:  # the callee may be leaving already
            continue
        t, out = now(), []
        for payload in received:
            msg = loads(payload)
            if msg[0] == RESULT:
                t0 = sent.pop(msg[1])
                if measuring:
                    latencies.append(t - t0)
                done += 1
            else:
                errors += 1
                first_error = first_error or repr(msg)[:300]
                if msg[0] != ERROR:
                    continue
                sent.pop(msg[2], None)
            request += 1
            sent[request] = t
            out.append(call.render(request))
        conn.send(out)
        shared[slot] = done
    latencies.sort()
    return {"calls": done, "errors": errors, "first_error": first_error,
            "latencies": len(latencies),
            "p50_us": _percentile(latencies, 0.50) / 1000.0,
            "p99_us": _percentile(latencies, 0.99) / 1000.0}


def _subscriber(conn: Connection, ctl: Any, shared: Any, slot: int) -> dict[str, Any]:
    conn.request([SUBSCRIBE, 1, {}, TOPIC], SUBSCRIBED)
    _ready(ctl)
    msg_type, events, other = conn.codec.msg_type, 0, 0
    while shared[0] != STOP:
        received = conn.receive()
        for payload in received:
            if msg_type(payload) == EVENT:
                events += 1
            else:
                other += 1
        shared[slot] = events
    return {"events": events, "other": other}


def _publisher(conn: Connection, ctl: Any, shared: Any, slot: int, subscribers: range,
               window: int, max_lag: int) -> dict[str, Any]:
    publish = Template(conn.codec, [PUBLISH, 0, {"acknowledge": True}, TOPIC, ARGS])
    _ready(ctl)
    msg_type = conn.codec.msg_type
    lo, hi = subscribers.start, subscribers.stop
    published, acked, errors, stalls = 0, 0, 0, 0
    while shared[0] != STOP:
        room = min(window - (published - acked), max_lag - (published - min(shared[lo:hi])))
        if room > 0:
            out = []
            for _ in range(room):
                published += 1
                out.append(publish.render(published))
            conn.send(out)
        elif published == acked:  # subscribers are behind: let them catch up
            stalls += 1
            time.sleep(0.0002)
            continue
        for payload in conn.receive():
            if msg_type(payload) == PUBLISHED:
                acked += 1
            else:
                errors += 1
        shared[slot] = acked
    return {"published": published, "acked": acked, "errors": errors, "stalls": stalls}


def _percentile(ordered: Sequence[int], q: float) -> float:
    if not ordered:
        return float("nan")
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def _ready(ctl: Any) -> None:
    ctl.send(("ready", None))
    if ctl.recv() != "go":
        raise CellError("parent did not say go")


def _child(role: Callable[..., dict[str, Any]], target: Target, ctl: Any, shared: Any,
           slot: int, *args: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent cleans up on Ctrl-C
    conn = None
    try:
        conn = target.connect()
        result = role(conn, ctl, shared, slot, *args)
        ctl.send(("done", result))
    except BaseException:
        ctl.send(("error", traceback.format_exc()))
    finally:
        if conn is not None:
            conn.close()


# -- the parent's side ----------------------------------------------------------

class Clients:
    """The client processes of one cell."""

    def __init__(self, target: Target, slots: int) -> None:
        self.target = target
        self.shared = _CTX.RawArray("q", 1 + slots)
        self._procs: list[Any] = []
        self._pipes: list[Any] = []

    def spawn(self, role: Callable[..., dict[str, Any]], *args: Any) -> int:
        """Start one client; its counter slot (also its index for :meth:`go`)."""
        slot = len(self._procs) + 1
        parent, child = _CTX.Pipe()
        proc = _CTX.Process(target=_child, args=(role, self.target, child, self.shared, slot,
                                                 *args), daemon=True)
        proc.start()
        child.close()
        self._procs.append(proc)
        self._pipes.append(parent)
        return slot

    def _expect(self, slot: int, what: str, timeout: float) -> Any:
        pipe = self._pipes[slot - 1]
        if not pipe.poll(timeout):
            raise CellError(f"client {slot} did not report {what!r} within {timeout} s")
        try:
            kind, value = pipe.recv()
        except EOFError:
            raise CellError(f"client {slot} exited without a report") from None
        if kind == "error":
            raise CellError(f"client {slot} failed:\n{value}")
        if kind != what:
            raise CellError(f"client {slot} said {kind!r}, expected {what!r}")
        return value

    def ready(self, slot: int) -> None:
        """Wait until client *slot* has joined and set itself up."""
        self._expect(slot, "ready", _READY_TIMEOUT)

    def go(self, slot: int) -> None:
        """Let client *slot* start its load."""
        self._pipes[slot - 1].send("go")

    def cpu(self) -> float:
        """CPU seconds used so far by the client processes."""
        return cpu_seconds([p.pid for p in self._procs])

    def count(self, slots: Sequence[int]) -> int:
        """Sum of the running counts of *slots*."""
        return sum(self.shared[s] for s in slots)

    def stop(self) -> list[dict[str, Any]]:
        """Tell every client to stop; their results, in slot order."""
        self.shared[0] = STOP
        return [self._expect(s, "done", _DONE_TIMEOUT) for s in range(1, len(self._procs) + 1)]

    def close(self) -> None:
        """Make sure no client process outlives the cell."""
        self.shared[0] = STOP
        for pipe in self._pipes:  # a client still waiting for "go" gets EOF and exits
            pipe.close()
        deadline = time.monotonic() + 5
        for proc in self._procs:
            proc.join(max(0.0, deadline - time.monotonic()))
        for proc in self._procs:
            if proc.is_alive():
                proc.kill()
                proc.join(5)


def _window(clients: Clients, slots: Sequence[int], cpu: Callable[[], float], warmup: float,
            seconds: float) -> dict[str, float]:
    """Warm up, then count operations and router CPU over *seconds*."""
    time.sleep(warmup)
    c0, k0, n0, t0 = cpu(), clients.cpu(), clients.count(slots), time.perf_counter()
    clients.shared[0] = MEASURE
    time.sleep(seconds)
    c1, k1, n1, t1 = cpu(), clients.cpu(), clients.count(slots), time.perf_counter()
    ops, elapsed, busy = n1 - n0, t1 - t0, c1 - c0
    if ops <= 0:
        raise CellError("no operation completed in the measured window")
    return {"ops": ops, "seconds": elapsed, "rate": ops / elapsed,
            "cpu_us_per_op": busy / ops * 1e6, "router_load": busy / elapsed,
            "client_load": (k1 - k0) / elapsed}


def run_rpc(target: Target, outstanding: int, cpu: Callable[[], float], warmup: float,
            seconds: float) -> dict[str, Any]:
    """Calls/s, latency and router CPU per call with *outstanding* calls in flight."""
    clients = Clients(target, 2)
    try:
        callee = clients.spawn(_callee)
        clients.ready(callee)
        caller = clients.spawn(_caller, outstanding)
        clients.ready(caller)
        clients.go(callee)
        clients.go(caller)
        result = _window(clients, [caller], cpu, warmup, seconds)
        _, stats = clients.stop()
    finally:
        clients.close()
    if stats["errors"]:
        raise CellError(f"{stats['errors']} calls failed, first: {stats['first_error']}")
    result.update(p50_us=stats["p50_us"], p99_us=stats["p99_us"])
    return result


def run_pubsub(target: Target, subscribers: int, cpu: Callable[[], float], warmup: float,
               seconds: float, window: int = 64, max_lag: int = 1024) -> dict[str, Any]:
    """Events/s delivered (summed over subscribers) and router CPU per delivered event."""
    clients = Clients(target, subscribers + 1)
    try:
        subs = [clients.spawn(_subscriber) for _ in range(subscribers)]
        for slot in subs:
            clients.ready(slot)
        publisher = clients.spawn(_publisher, range(subs[0], subs[-1] + 1), window, max_lag)
        clients.ready(publisher)
        for slot in [*subs, publisher]:
            clients.go(slot)
        result = _window(clients, subs, cpu, warmup, seconds)
        reports = clients.stop()
    finally:
        clients.close()
    pub = reports[-1]
    if pub["errors"] or any(r["other"] for r in reports[:-1]):
        raise CellError(f"unexpected messages: publisher {pub}, subscribers {reports[:-1]}")
    result.update(published=pub["published"], stalls=pub["stalls"])
    return result
