"""Benchmark nova_ws's WAMP router against Crossbar.io, side by side, in one run.

    .venv/bin/python bench/router.py [--seconds 5] [--only nova|crossbar|both]
                                     [--rounds N] [--quick] [--json FILE]

Both routers run as subprocesses side by side, each on its own ports
(nova_ws 8080/8081, Crossbar 8082/8083), and are driven by the same lean
client processes (``leanwamp.py``, ``workloads.py``), over WebSocket+JSON,
WebSocket+MessagePack and RawSocket+MessagePack:

* RPC: one caller, one callee echoing ``[1, "hello"]`` on ``bench.echo``, with
  1 and with 64 calls outstanding: calls/s, p50/p99 round trip, router CPU
  per call;
* pub/sub: one publisher (acknowledged, flow controlled) to 1 and to 10
  subscribers: events/s delivered (summed over subscribers), router CPU per
  delivered event.

Router CPU is utime + stime of all the router's processes (for Crossbar: the
controller and the router worker) over the measured window. Crossbar is
installed on first use into ``bench/.venv-crossbar``.

On a shared machine the load drifts, so the routers take turns cell by cell
(only one is under load at a time), which of them goes first alternating
from cell to cell and from round to round. With ``--rounds N`` the whole
comparison runs N times; the table shows each cell's median over the rounds,
and the lowest and highest of the per-round ratios. The report also gives the
machine's load average before and after.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from servers import (
    RAWSOCKET_PORT,
    WEBSOCKET_PORT,
    Ports,
    RouterFailed,
    RouterProcess,
    crossbar_router,
    crossbar_versions,
    nova_router,
)
from workloads import CellError, Target, run_pubsub, run_rpc

REPO = Path(__file__).resolve().parent.parent
ROUTERS = ("nova_ws", "crossbar")
PORTS: dict[str, Ports] = {"nova_ws": (WEBSOCKET_PORT, RAWSOCKET_PORT),
                           "crossbar": (WEBSOCKET_PORT + 2, RAWSOCKET_PORT + 2)}
MAKERS: dict[str, Callable[[Path, Path, Ports], RouterProcess]] = {
    "nova_ws": nova_router, "crossbar": crossbar_router}
TRANSPORTS = (
    ("WebSocket+JSON", "websocket", "json"),
    ("WebSocket+MessagePack", "websocket", "msgpack"),
    ("RawSocket+MessagePack", "rawsocket", "msgpack"),
)
WORKLOADS = (("rpc", 1), ("rpc", 64), ("pubsub", 1), ("pubsub", 10))
# (workload, result field, row label, True if higher is better, format)
METRICS = (
    (("rpc", 1), "rate", "calls/s, 1 outstanding", True, "{:,.0f}"),
    (("rpc", 1), "p50_us", "p50 round trip us, 1 outstanding", False, "{:,.1f}"),
    (("rpc", 1), "p99_us", "p99 round trip us, 1 outstanding", False, "{:,.1f}"),
    (("rpc", 1), "cpu_us_per_op", "router CPU us/call, 1 outstanding", False, "{:,.1f}"),
    (("rpc", 64), "rate", "calls/s, 64 outstanding", True, "{:,.0f}"),
    (("rpc", 64), "p50_us", "p50 round trip us, 64 outstanding", False, "{:,.1f}"),
    (("rpc", 64), "p99_us", "p99 round trip us, 64 outstanding", False, "{:,.1f}"),
    (("rpc", 64), "cpu_us_per_op", "router CPU us/call, 64 outstanding", False, "{:,.1f}"),
    (("pubsub", 1), "rate", "events/s, 1 subscriber", True, "{:,.0f}"),
    (("pubsub", 1), "cpu_us_per_op", "router CPU us/event, 1 subscriber", False, "{:,.1f}"),
    (("pubsub", 10), "rate", "events/s, 10 subscribers", True, "{:,.0f}"),
    (("pubsub", 10), "cpu_us_per_op", "router CPU us/event, 10 subscribers", False, "{:,.1f}"),
)


def cell_key(workload: tuple[str, int]) -> str:
    """The name of a workload in results: ``rpc-1``, ``pubsub-10``..."""
    return f"{workload[0]}-{workload[1]}"


def run_cell(router: RouterProcess, target: Target, workload: tuple[str, int], warmup: float,
             seconds: float) -> dict[str, Any]:
    """One measured cell; a failed cell gives ``{"error": ...}``."""
    kind, n = workload
    try:
        if kind == "rpc":
            return run_rpc(target, n, router.cpu, warmup, seconds)
        return run_pubsub(target, n, router.cpu, warmup, seconds)
    except (CellError, RouterFailed, OSError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


class Routers:
    """The routers under test, each started once and restarted if it dies."""

    def __init__(self) -> None:
        self._running: dict[str, RouterProcess] = {}
        self._workdirs: list[Path] = []

    def get(self, name: str) -> RouterProcess:
        """Router *name*, running."""
        router = self._running.get(name)
        if router is not None and router.alive():
            return router
        if router is not None:
            router.stop()
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        self._workdirs.append(workdir)
        router = self._running[name] = MAKERS[name](REPO, workdir, PORTS[name])
        router.start()
        return router

    def stop(self) -> None:
        """Stop every router and remove its files."""
        for router in self._running.values():
            router.stop()
        self._running.clear()
        for workdir in self._workdirs:
            shutil.rmtree(workdir, ignore_errors=True)


def bench_round(chosen: list[str], routers: Routers, first: int, warmup: float,
                seconds: float) -> dict[str, Any]:
    """Every cell against every chosen router, the routers taking turns cell by cell.

    Results by router, transport label, then workload. *first* picks which
    router goes first in the first cell; the order flips from cell to cell.
    """
    results: dict[str, Any] = {name: {} for name in chosen}
    turn = first
    for label, transport, codec in TRANSPORTS:
        for workload in WORKLOADS:
            order = chosen if turn % 2 == 0 else chosen[::-1]
            turn += 1
            for name in order:
                router = routers.get(name)
                port = PORTS[name][0 if transport == "websocket" else 1]
                _progress(f"{name}: {label}, {cell_key(workload)} ...")
                cell = run_cell(router, Target(transport, codec, port), workload, warmup,
                                seconds)
                if "error" in cell:
                    _progress(f"{name}: {label}, {cell_key(workload)} failed: {cell['error']}\n"
                              f"{router.log_tail(15)}")
                results[name].setdefault(label, {})[cell_key(workload)] = cell
                time.sleep(0.3)  # let the router finish closing the cell's sessions
    return results


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- report --------------------------------------------------------------------

def versions(crossbar_ran: bool) -> dict[str, Any]:
    """Versions of everything measured."""
    out: dict[str, Any] = {"python": platform.python_version()}
    for package in ("twisted", "autobahn", "nova_ws"):
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "?"
    if crossbar_ran:
        out["crossbar_env"] = crossbar_versions(REPO)
    return out


def _value(results: dict[str, Any], router: str, label: str, key: str, field: str) -> float:
    cell = results.get(router, {}).get(label, {}).get(key)
    if not cell or "error" in cell:
        return math.nan
    return float(cell[field])


def _ratio(ours: float, theirs: float, higher: bool) -> float:
    """nova_ws against crossbar, > 1 when nova_ws is better."""
    if math.isnan(ours) or math.isnan(theirs) or (ours == 0 if higher else theirs == 0):
        return math.nan
    try:
        return ours / theirs if higher else theirs / ours
    except ZeroDivisionError:
        return math.inf


def _ratio_text(ratio: float) -> str:
    return "-" if math.isnan(ratio) or math.isinf(ratio) else f"{ratio:.2f}"


def median_results(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per router, transport and cell: the median of each number over the rounds.

    A cell that failed in some rounds is the median of the others; one that
    failed in every round keeps its first error.
    """
    out: dict[str, Any] = {}
    for result in rounds:
        for router, per in result.items():
            for label, cells in per.items():
                for key in cells:
                    runs = [r[router][label][key] for r in rounds
                            if key in r.get(router, {}).get(label, {})]
                    good = [c for c in runs if "error" not in c]
                    if not good:
                        merged = runs[0]
                    else:
                        merged = {f: statistics.median(c[f] for c in good) for f in good[0]
                                  if all(isinstance(c.get(f), (int, float)) for c in good)}
                    out.setdefault(router, {}).setdefault(label, {})[key] = merged
    return out


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def _fmt(value: float, fmt: str) -> str:
    return "-" if math.isnan(value) else fmt.format(value)


def table(results: dict[str, Any], meta: dict[str, Any]) -> str:
    """The printed report."""
    v = meta["versions"]
    cb = v.get("crossbar_env", {})
    lines = [
        f"WAMP router benchmark: nova_ws vs Crossbar.io  ({meta['date']})",
        f"Python {v['python']}, Twisted {v['twisted']}, Autobahn {v['autobahn']}"
        + (f"; Crossbar {cb.get('crossbar', '?')} (Twisted {cb.get('twisted', '?')}, "
           f"Autobahn {cb.get('autobahn', '?')})" if cb else "; Crossbar not run"),
        f"{meta['seconds']:g} s per cell after {meta['warmup']:g} s warm-up; "
        f"payload [1, \"hello\"]; {meta['cpus']} CPUs",
        f"{meta.get('rounds', 1)} round(s), the routers taking turns cell by cell; values are "
        f"medians over the rounds; load average (1 min) before/after: "
        f"{meta.get('load_before', '?')}/{meta.get('load_after', '?')}",
        "ratio: nova_ws/crossbar for throughput, crossbar/nova_ws for latency and CPU "
        "per operation, so > 1 always means nova_ws is better",
        "events/s counts deliveries summed over subscribers; router CPU = utime+stime of "
        "all router processes",
        "",
    ]
    rounds: list[dict[str, Any]] = meta.get("rounds_results") or []
    width = max(len(m[2]) for m in METRICS) + 2
    header = f"{'transport / metric':<{width}}{'nova_ws':>12}{'crossbar':>12}{'ratio':>9}"
    if len(rounds) > 1:
        header += f"{'ratio range':>15}"
    lines += [header, "=" * len(header)]
    for label, *_ in TRANSPORTS:
        lines.append(label)
        for workload, field, row, higher, fmt in METRICS:
            key = cell_key(workload)
            ours = _value(results, "nova_ws", label, key, field)
            theirs = _value(results, "crossbar", label, key, field)
            line = (f"  {row:<{width - 2}}{_fmt(ours, fmt):>12}{_fmt(theirs, fmt):>12}"
                    f"{_ratio_text(_ratio(ours, theirs, higher)):>9}")
            if len(rounds) > 1:
                each = [_ratio(_value(r, "nova_ws", label, key, field),
                               _value(r, "crossbar", label, key, field), higher)
                        for r in rounds]
                each = [x for x in each if not (math.isnan(x) or math.isinf(x))]
                spread = f"{min(each):.2f}-{max(each):.2f}" if each else "-"
                line += f"{spread:>15}"
            lines.append(line)
        lines.append("-" * len(header))
    lines += _loads(results)
    failed = [(r, label, key, cell["error"]) for r, per in results.items()
              for label, cells in per.items() for key, cell in cells.items() if "error" in cell]
    if failed:
        lines += ["", "failed cells:"]
        lines += [f"  {r} {label} {key}: {err.splitlines()[0]}" for r, label, key, err in failed]
    return "\n".join(lines)


def _loads(results: dict[str, Any]) -> list[str]:
    """How busy the router and the clients were: 100% is one core.

    A router below 100% was waiting for its clients (with 1 outstanding call
    that is the round trip; with 64, clients and router take turns on each
    batch), so its rate there is not its ceiling; its CPU per operation is
    still comparable.
    """
    keys = [cell_key(w) for w in WORKLOADS]
    lines = ["", "CPU load during each cell, router/clients, % of one core:",
             f"{'':<32}" + "".join(f"{k:>12}" for k in keys)]
    for router, per in results.items():
        for label, cells in per.items():
            row = []
            for key in keys:
                cell = cells.get(key, {})
                row.append("-" if not cell or "error" in cell else
                           f"{cell['router_load'] * 100:.0f}/{cell['client_load'] * 100:.0f}")
            lines.append(f"  {router + ' ' + label:<30}" + "".join(f"{r:>12}" for r in row))
    return lines


# -- command line ------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per cell")
    parser.add_argument("--only", choices=("nova", "crossbar", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the comparison, alternating the routers' order")
    parser.add_argument("--quick", action="store_true", help="0.5 s cells (smoke test)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 if every cell ran."""
    args = parse_args(argv)
    seconds = 0.5 if args.quick else args.seconds
    warmup = 0.2 if args.quick else 1.0
    chosen = {"nova": ["nova_ws"], "crossbar": ["crossbar"], "both": list(ROUTERS)}[args.only]
    routers = Routers()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    load_before = _load()
    rounds: list[dict[str, Any]] = []
    try:
        for n in range(args.rounds):
            if args.rounds > 1:
                _progress(f"round {n + 1} of {args.rounds}")
            rounds.append(bench_round(chosen, routers, n, warmup, seconds))
    except RouterFailed as exc:
        _progress(f"router failed: {exc}")
        return 2
    except KeyboardInterrupt:
        _progress("interrupted")
        return 130
    finally:
        routers.stop()
    results = rounds[0] if len(rounds) == 1 else median_results(rounds)
    meta = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": seconds, "warmup": warmup, "cpus": os.cpu_count(),
            "rounds": len(rounds), "load_before": load_before, "load_after": _load(),
            "versions": versions("crossbar" in chosen)}
    print(table(results, {**meta, "rounds_results": rounds}), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results,
                                               "rounds": rounds}, indent=2))
    ok = all("error" not in cell for per in results.values() for cells in per.values()
             for cell in cells.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
