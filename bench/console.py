"""Benchmark nova_ws's console proxy against websockify 0.13 and plain TCP, in one run.

    .venv/bin/python bench/console.py [--seconds 5] [--repeat 3] [--consoles 1000]
                                      [--only nova|websockify|both] [--parts 1,2,3]
                                      [--quick] [--json FILE] [--profile] [--no-pin]

Every process is separate, so each one's CPU is its own: the "guest" (a TCP
source/sink/idle server, ``console_guest.py``), nova_ws's proxy
(``ConsoleProxyFactory`` with a ``MemoryTokenValidator``,
``console_nova_proxy.py``), websockify 0.13 (from ``bench/.venv-websockify``,
installed on first use, with a ``TokenFile`` token plugin; it forks a
process per connection, as Nova's novncproxy does) and, for part 3, the
all-in-one (``console_aio.py``). This process is the one client for all of
them (``console_client.py``: raw sockets, binary frames, native masking).

1. One console's throughput, MB/s (10^6 bytes of payload per second), each
   direction on its own connection: guest -> browser (the guest sends without
   end, the client reads) and browser -> guest (the client sends
   ``--frame-size`` binary messages, the guest discards them); through
   nova_ws, through websockify, and over plain TCP straight to the guest (the
   limit). Cells are interleaved and repeated; the table shows the median and
   the range, and the CPU load of the proxy, the guest and the client.
2. Many consoles: ``--consoles`` idle consoles open at once through nova_ws
   (its RSS and PSS, and at ``--idle`` consoles for comparison), then as many
   busy ones, all guest -> browser: aggregate MB/s, the spread over consoles,
   RSS under load; and ``--idle`` idle consoles through websockify: its
   process count, PSS and RSS.
3. Console open time against the all-in-one: from ``POST
   /v2.1/servers/{id}/remote-consoles`` to the first FramebufferUpdate
   through its noVNC proxy (``console_open.py``), p50/p99 and by stage; it
   prints "not available: <reason>" while the all-in-one cannot do that.

By default the proxy under test is pinned to the last CPU and the guest and
the client to the others (plain TCP: the guest to the last CPU), so a proxy
has a core of its own and runs are steadier; ``--no-pin`` leaves placement to
the kernel. ``--profile`` runs cProfile in nova_ws's proxy over each of its
measured windows in part 1 (its numbers are then slower than real) and
appends the top functions of each direction to the report. ``--quick`` is a smoke test of
a few seconds.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import math
import os
import platform
import pstats
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console_client import (
    Closed,
    Fleet,
    HandshakeError,
    Window,
    connect_tcp,
    describe_masking,
    open_ws,
    receive_for,
    send_for,
)
from console_guest import raise_fd_limit
from console_open import NotAvailable, OpenFailed, run_open_times
from console_procs import (
    HOST,
    Process,
    ProcessFailed,
    guest,
    nova_proxy,
    websockify,
    websockify_versions,
)

REPO = Path(__file__).resolve().parent.parent
DIRECTIONS = (("guest -> browser", "source"), ("browser -> guest", "sink"))
TARGETS = ("nova_ws", "websockify", "plain TCP")
GOALS = {"guest -> browser": 1.0, "browser -> guest": 2.0}
RSS_GOAL = 500e6
MB = 1e6


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def background_load(seconds: float = 1.0) -> float:
    """How busy the machine is with nothing of ours running: % of one core."""
    b0, t0 = machine_busy()
    time.sleep(seconds)
    b1, t1 = machine_busy()
    return 100.0 * (os.cpu_count() or 1) * (b1 - b0) / max(1, t1 - t0)


class Pinning:
    """Where each process runs: proxies on the last CPU, the guest and client on the rest."""

    def __init__(self, enabled: bool) -> None:
        cpus = sorted(os.sched_getaffinity(0))
        self.enabled = enabled and len(cpus) >= 2
        self.proxy_cpus = {cpus[-1]}
        self.other_cpus = set(cpus[:-1])
        self.all_cpus = set(cpus)

    def describe(self) -> str:
        if not self.enabled:
            return "processes placed by the kernel (--no-pin)"
        return (f"proxy pinned to CPU {sorted(self.proxy_cpus)}, guest and client to CPU "
                f"{sorted(self.other_cpus)} (plain TCP: guest to CPU {sorted(self.proxy_cpus)})")

    def _set(self, pid: int, cpus: set[int]) -> None:
        if self.enabled:
            try:
                os.sched_setaffinity(pid, cpus)
            except OSError:
                pass

    def client(self) -> None:
        self._set(0, self.other_cpus)

    def proxy(self, proc: Process) -> None:
        self._set(proc.pid, self.proxy_cpus)

    def guest(self, proc: Process, alone: bool) -> None:
        self._set(proc.pid, self.proxy_cpus if alone else self.other_cpus)


# -- part 1: one console -------------------------------------------------------------


class Tokens:
    """A fresh token index per connection, so per-token caps never interfere."""

    def __init__(self, limit: int) -> None:
        self.limit, self.next = limit, 0

    def take(self) -> int:
        index, self.next = self.next % self.limit, self.next + 1
        return index


def one_cell(target: str, proxy: Process | None, guest_proc: Process, kind: str,
             args: argparse.Namespace, tokens: Tokens) -> dict[str, Any]:
    """One connection, one direction, one measured window."""
    conn: Any
    if proxy is None:
        conn = connect_tcp(HOST, guest_proc.info[kind])
    else:
        conn = open_ws(HOST, proxy.info["port"], f"/websockify?token={kind}-{tokens.take()}")
    marks: list[tuple[float, float, float, tuple[int, int]]] = []

    profiled = proxy is not None and proxy.profile_prefix is not None

    def mark() -> None:
        if profiled:
            assert proxy is not None
            os.kill(proxy.pid, signal.SIGUSR2 if marks else signal.SIGUSR1)
        marks.append((time.monotonic(), proxy.cpu() if proxy else 0.0, guest_proc.cpu(),
                      machine_busy()))

    try:
        if kind == "source":
            window = receive_for(conn, args.warmup, args.seconds, mark)
        else:
            window = send_for(conn, args.frame_size, args.warmup, args.seconds, mark)
    finally:
        if proxy is None:
            conn.close()
        else:
            conn.close(wait=1.0)
    (t0, p0, g0, m0), (t1, p1, g1, m1) = marks
    elapsed = t1 - t0
    cpus = os.cpu_count() or 1
    cell: dict[str, Any] = {}
    if profiled:
        assert proxy is not None
        cell["profile"] = f"{proxy.profile_prefix}.{proxy.profile_windows}"
        proxy.profile_windows += 1
    return cell | {"mb_s": window.mb_per_s, "bytes": window.bytes, "seconds": window.seconds,
            "proxy_us_per_mb": (p1 - p0) * 1e6 / (window.bytes / MB) if window.bytes else math.nan,
            "proxy_load": (p1 - p0) / elapsed, "guest_load": (g1 - g0) / elapsed,
            "client_load": window.client_cpu / window.seconds,
            "machine_load": cpus * (m1[0] - m0[0]) / max(1, m1[1] - m0[1])}


def part_single(args: argparse.Namespace, targets: dict[str, Process | None], guest_proc: Process,
                pinning: Pinning) -> dict[str, Any]:
    """Every (direction, target) cell, ``--repeat`` times, interleaved."""
    tokens = Tokens(args.tokens)
    cells: dict[str, dict[str, list[dict[str, Any]]]] = {
        d: {t: [] for t in targets} for d, _ in DIRECTIONS}
    errors: list[str] = []
    for rep in range(args.repeat):
        for direction, kind in DIRECTIONS:
            for target, proxy in targets.items():
                _progress(f"part 1, round {rep + 1}/{args.repeat}: {target}, {direction} ...")
                pinning.guest(guest_proc, alone=proxy is None)
                try:
                    cells[direction][target].append(
                        one_cell(target, proxy, guest_proc, kind, args, tokens))
                except (OSError, Closed, HandshakeError, ProcessFailed) as error:
                    errors.append(f"{target} {direction}: {type(error).__name__}: {error}")
                    _progress(f"  failed: {errors[-1]}")
                if proxy is not None:
                    proxy.settle(limit=3.0)
    pinning.guest(guest_proc, alone=False)
    return {"cells": cells, "errors": errors}


# -- part 2: many consoles ------------------------------------------------------------


def open_fleet(proxy: Process, kind: str, count: int,
               at: dict[int, Callable[[], None]] | None = None) -> tuple[Fleet, float]:
    """``count`` consoles of ``kind`` through ``proxy``; calls ``at[n]`` once n are open."""
    fleet = Fleet()
    started = time.monotonic()
    try:
        for i in range(count):
            fleet.add(open_ws(HOST, proxy.info["port"], f"/websockify?token={kind}-{i}"))
            if at and i + 1 in at:
                at[i + 1]()
    except BaseException:
        fleet.close()
        raise
    return fleet, time.monotonic() - started


def part_many_nova(args: argparse.Namespace, workdir: Path, guest_proc: Process,
                   pinning: Pinning, running: list[Process]) -> dict[str, Any]:
    """nova_ws's proxy, fresh: idle consoles, then busy ones."""
    proxy = nova_proxy(REPO, workdir, guest_proc.info, args.consoles)
    running.append(proxy)
    pinning.proxy(proxy)
    out: dict[str, Any] = {"consoles": args.consoles}
    try:
        proxy.settle()
        out["rss_start"] = proxy.memory().rss
        samples: dict[int, Any] = {}

        def sample(n: int) -> Callable[[], None]:
            return lambda: samples.__setitem__(n, proxy.memory())

        _progress(f"part 2: nova_ws, opening {args.consoles} idle consoles ...")
        fleet, opened = open_fleet(proxy, "idle", args.consoles, {args.idle: sample(args.idle)})
        proxy.settle()
        samples[args.consoles] = proxy.memory()
        out["idle_open_s"] = opened
        out["idle"] = {n: vars(m) for n, m in samples.items()}
        fleet.close()
        proxy.settle()
        _progress(f"part 2: nova_ws, opening {args.consoles} busy consoles ...")
        fleet, opened = open_fleet(proxy, "source", args.consoles)
        out["busy_open_s"] = opened
        try:
            fleet.pump(args.warmup)
            fleet.counts[:] = [0] * len(fleet.counts)
            marks: list[tuple[float, float, float]] = []

            def mark() -> None:
                marks.append((time.monotonic(), proxy.cpu(), guest_proc.cpu()))

            window: Window = fleet.pump(args.seconds, mark)
            busy = proxy.memory()
            counts = sorted(fleet.counts)
        finally:
            fleet.close()
        (t0, p0, g0), (t1, p1, g1) = marks
        per = [c / window.seconds / MB for c in counts]
        out.update({
            "mb_s": window.mb_per_s, "seconds": window.seconds,
            "per_console_min": per[0], "per_console_median": statistics.median(per),
            "per_console_max": per[-1], "starved": sum(1 for c in counts if c == 0),
            "proxy_load": (p1 - p0) / (t1 - t0), "guest_load": (g1 - g0) / (t1 - t0),
            "client_load": window.client_cpu / window.seconds,
            "proxy_us_per_mb": (p1 - p0) * 1e6 / (window.bytes / MB) if window.bytes else math.nan,
            "busy_rss": busy.rss, "busy_pss": busy.pss, "peak_rss": _peak_rss(proxy.pid),
        })
    finally:
        proxy.stop()
        running.remove(proxy)
    return out


def _peak_rss(pid: int) -> int:
    """VmHWM of ``pid``: the most RSS it ever had, in bytes."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def part_many_websockify(args: argparse.Namespace, workdir: Path, guest_proc: Process,
                         pinning: Pinning, running: list[Process]) -> dict[str, Any]:
    """websockify, fresh: ``--idle`` idle consoles."""
    proxy = websockify(REPO, workdir, guest_proc.info, args.idle)
    running.append(proxy)
    pinning.proxy(proxy)
    try:
        proxy.settle()
        start = proxy.memory()
        _progress(f"part 2: websockify, opening {args.idle} idle consoles ...")
        fleet, opened = open_fleet(proxy, "idle", args.idle)
        try:
            proxy.settle()
            idle = proxy.memory()
        finally:
            fleet.close()
    finally:
        proxy.stop()
        running.remove(proxy)
    return {"consoles": args.idle, "open_s": opened, "start": vars(start), "idle": vars(idle)}


# -- report ---------------------------------------------------------------------------


def versions(websockify_ran: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"python": platform.python_version()}
    for package in ("twisted", "autobahn", "nova_ws"):
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "?"
    if websockify_ran:
        out["websockify_env"] = websockify_versions(REPO)
    return out


def _median(cells: list[dict[str, Any]], field: str) -> float:
    values = [c[field] for c in cells]
    return statistics.median(values) if values else math.nan


def _fmt(value: float, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None or math.isnan(value) else fmt.format(value)


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / MB:,.1f}"


def _best(cells: list[dict[str, Any]]) -> float:
    return max((c["mb_s"] for c in cells), default=math.nan)


def _ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs and not math.isnan(theirs) else math.nan


def single_table(single: dict[str, Any], targets: list[str]) -> list[str]:
    cells = single["cells"]
    rounds = max((len(c) for per in cells.values() for c in per.values()), default=0)
    lines = [f"1. One console, payload MB/s: best / median of {rounds} round(s)", ""]
    header = (f"{'direction':<18}" + "".join(f"{t:>18}" for t in targets)
              + f"{'ours/websockify best':>22}{'median':>8}")
    lines += [header, "=" * len(header)]
    ratios: dict[str, float] = {}
    for direction, _ in DIRECTIONS:
        row = f"{direction:<18}"
        for target in targets:
            c = cells[direction][target]
            text = "-" if not c else f"{_best(c):,.0f} / {_median(c, 'mb_s'):,.0f}"
            row += f"{text:>18}"
        ours, theirs = cells[direction].get("nova_ws", []), cells[direction].get("websockify", [])
        ratios[direction] = _ratio(_best(ours), _best(theirs))
        median = _ratio(_median(ours, "mb_s"), _median(theirs, "mb_s"))
        lines.append(row + f"{_fmt(ratios[direction], '{:.2f}'):>22}{_fmt(median, '{:.2f}'):>8}")
    lines += ["", "proxy CPU time per MB moved, us (median; less is better; it depends far "
              "less than MB/s", "on what else the machine runs)"]
    for direction, _ in DIRECTIONS:
        row = f"{direction:<18}"
        for target in targets:
            c = cells[direction][target]
            text = "-" if not c or target == "plain TCP" else _fmt(_median(c, "proxy_us_per_mb"))
            row += f"{text:>18}"
        ours = _median(cells[direction].get("nova_ws", []), "proxy_us_per_mb")
        theirs = _median(cells[direction].get("websockify", []), "proxy_us_per_mb")
        lines.append(row + f"{_fmt(_ratio(theirs, ours), '{:.2f}'):>22}  (websockify/ours)")
    lines += ["", "CPU load, median, % of one core: proxy/guest/client, and the machine's "
              "unaccounted rest", "(kernel network work and other processes)"]
    for direction, _ in DIRECTIONS:
        row = f"{direction:<18}"
        for target in targets:
            c = cells[direction][target]
            if not c:
                row += f"{'-':>18}"
                continue
            rest = statistics.median(
                x["machine_load"] - x["proxy_load"] - x["guest_load"] - x["client_load"] for x in c)
            row += (f"{_median(c, 'proxy_load') * 100:.0f}/{_median(c, 'guest_load') * 100:.0f}/"
                    f"{_median(c, 'client_load') * 100:.0f} +{max(0.0, rest) * 100:.0f}").rjust(18)
        lines.append(row)
    client_bound = [f"{t} {d}" for d, _ in DIRECTIONS for t in targets
                    if cells[d][t] and _median(cells[d][t], "client_load") > 0.9]
    lines.append("client the bottleneck (over 90% of a core) in: "
                 + (", ".join(client_bound) if client_bound else "no cell"))
    lines += ["", "goals (ours/websockify, best of the rounds):"]
    for direction, goal in GOALS.items():
        ratio = ratios.get(direction, math.nan)
        verdict = "not measured" if math.isnan(ratio) else ("met" if ratio >= goal else "MISSED")
        lines.append(f"  {direction}: >= {goal:.1f}x websockify: {_fmt(ratio, '{:.2f}')}x, "
                     f"{verdict}")
    if single["errors"]:
        lines += ["failed cells:"] + [f"  {e}" for e in single["errors"]]
    return lines


def many_table(many: dict[str, Any]) -> list[str]:
    lines = ["2. Many consoles"]
    nova = many.get("nova_ws")
    if nova is not None and "error" not in nova:
        n, idle_n = nova["consoles"], many["idle"]
        idle = nova["idle"]
        small = idle.get(idle_n) or {}
        big = idle.get(n) or {}
        rss_max = max(nova["peak_rss"], nova["busy_rss"], big.get("rss", 0))
        verdict = "met" if rss_max < RSS_GOAL else "MISSED"
        rows = [
            (f"nova_ws, {n} consoles, one process", ""),
            ("  opened, idle (s, one at a time)", f"{nova['idle_open_s']:.2f}"),
            ("  RSS at start MB", _mb(nova["rss_start"])),
            (f"  RSS / PSS, {idle_n} idle MB",
             f"{_mb(small.get('rss'))} / {_mb(small.get('pss'))}"),
            (f"  RSS / PSS, {n} idle MB", f"{_mb(big.get('rss'))} / {_mb(big.get('pss'))}"),
            ("  RSS per idle console kB",
             _fmt((big.get("rss", 0) - nova["rss_start"]) / n / 1e3, "{:,.1f}")),
            (f"  aggregate MB/s, {n} busy (guest -> browser)", f"{nova['mb_s']:,.0f}"),
            ("  per console MB/s min / median / max",
             f"{nova['per_console_min']:.2f} / {nova['per_console_median']:.2f} / "
             f"{nova['per_console_max']:.2f}"),
            ("  consoles that got nothing", f"{nova['starved']}"),
            ("  proxy CPU time per MB moved, us", _fmt(nova["proxy_us_per_mb"])),
            ("  CPU % proxy / guest / client",
             f"{nova['proxy_load'] * 100:.0f} / {nova['guest_load'] * 100:.0f} / "
             f"{nova['client_load'] * 100:.0f}"),
            (f"  RSS / PSS, {n} busy MB", f"{_mb(nova['busy_rss'])} / {_mb(nova['busy_pss'])}"),
            ("  peak RSS (VmHWM) MB", _mb(nova["peak_rss"])),
            ("  goal: peak RSS < 500 MB", f"{_mb(rss_max)} MB, {verdict}"),
        ]
        lines += [f"{label:<48}{value:>22}" for label, value in rows]
    elif nova is not None:
        lines.append(f"nova_ws: failed: {nova['error']}")
    wsfy = many.get("websockify")
    if wsfy is not None and "error" not in wsfy:
        n, start, idle = wsfy["consoles"], wsfy["start"], wsfy["idle"]
        nova_idle = (nova or {}).get("idle", {}).get(n) if nova and "error" not in nova else None
        rows = [
            (f"websockify, {n} idle consoles", ""),
            ("  processes (at start)", f"{idle['processes']} ({start['processes']})"),
            ("  PSS / RSS summed MB", f"{_mb(idle['pss'])} / {_mb(idle['rss'])}"),
            ("  PSS per console kB", _fmt((idle["pss"] - start["pss"]) / n / 1e3, "{:,.0f}")),
        ]
        if nova_idle:
            rows.append((f"  nova_ws at {n} idle: processes, PSS MB",
                         f"1, {_mb(nova_idle['pss'])}"))
            rows.append(("  websockify PSS / nova_ws PSS",
                         _fmt(idle["pss"] / nova_idle["pss"], "{:.1f}x")))
        lines += [f"{label:<48}{value:>22}" for label, value in rows]
    elif wsfy is not None:
        lines.append(f"websockify: failed: {wsfy['error']}")
    return lines


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def open_table(result: dict[str, Any]) -> list[str]:
    lines = ["3. Console open time: POST remote-consoles -> first FramebufferUpdate "
             "(all-in-one, fake driver)"]
    if "not_available" in result:
        return lines + [f"not available: {result['not_available']}"]
    if "error" in result:
        return lines + [f"failed: {result['error']}"]
    samples = result["samples"]
    lines.append(f"{result['opens']} opens, one at a time, over {result['servers']} servers "
                 f"(booted in {result['boot_s']:.1f} s)")
    header = f"{'stage, ms':<46}{'p50':>10}{'p99':>10}{'max':>10}"
    lines += [header, "=" * len(header)]
    for key, label in (("api_ms", "remote-consoles API call"),
                       ("websocket_ms", "WebSocket open (token check, guest connect)"),
                       ("rfb_ms", "RFB handshake + first update"),
                       ("total_ms", "total")):
        values = [s[key] for s in samples]
        lines.append(f"{label:<46}{_percentile(values, 0.5):>10.1f}"
                     f"{_percentile(values, 0.99):>10.1f}{max(values):>10.1f}")
    return lines


def profile_lines(single: dict[str, Any], top: int = 22) -> list[str]:
    """nova_ws's proxy profiled over its measured windows, per direction."""
    lines: list[str] = []
    for direction, _ in DIRECTIONS:
        files = [c["profile"] for c in single["cells"][direction].get("nova_ws", [])
                 if "profile" in c and Path(c["profile"]).exists()]
        if not files:
            continue
        out = io.StringIO()
        stats = pstats.Stats(*files, stream=out)
        stats.strip_dirs().sort_stats("tottime").print_stats(top)
        text = [line for line in out.getvalue().splitlines() if line.strip()]
        start = next((i for i, line in enumerate(text) if "function calls" in line), 0)
        lines += ["", f"nova_ws proxy, {direction}: cProfile over the measured windows, "
                  f"top {top} by own time", *text[start:]]
    return lines


def table(results: dict[str, Any], meta: dict[str, Any]) -> str:
    v = meta["versions"]
    wv = v.get("websockify_env", {})
    lines = [
        f"Console proxy benchmark: nova_ws vs websockify  ({meta['date']})",
        f"Python {v['python']}, Twisted {v['twisted']}, Autobahn {v['autobahn']}"
        + (f"; websockify {wv.get('websockify', '?')} (numpy {wv.get('numpy', '?')})"
           if wv else "; websockify not run"),
        f"{meta['cpus']} CPUs; {meta['pinning']}; background load before the run "
        f"{meta['background_load']:.0f}% of one core",
        f"{meta['seconds']:g} s per cell after {meta['warmup']:g} s warm-up, {meta['repeat']} "
        f"round(s); browser -> guest messages of {meta['frame_size']:,} bytes, each with a "
        f"fresh random mask ({meta['masking']})",
        "ratio ours/websockify: > 1 means nova_ws is faster",
    ]
    if meta.get("profiled"):
        lines.append("NOTE: nova_ws's proxy ran under cProfile in part 1; its numbers there are "
                     "slower than real")
    if "single" in results:
        lines += [""] + single_table(results["single"], meta["targets"])
    if "many" in results:
        lines += [""] + many_table(results["many"])
    if "open" in results:
        lines += [""] + open_table(results["open"])
    if meta.get("profiled") and "single" in results:
        lines += profile_lines(results["single"])
    return "\n".join(lines)


def failed(results: dict[str, Any]) -> bool:
    if results.get("single", {}).get("errors"):
        return True
    many = results.get("many", {})
    if any(isinstance(v, dict) and "error" in v for v in many.values()):
        return True
    return "error" in results.get("open", {})


# -- command line ----------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of part 1's cells")
    parser.add_argument("--frame-size", type=int, default=65536,
                        help="bytes per browser -> guest message")
    parser.add_argument("--consoles", type=int, default=1000, help="part 2: nova_ws consoles")
    parser.add_argument("--idle", type=int, default=100, help="part 2: websockify idle consoles")
    parser.add_argument("--servers", type=int, default=10, help="part 3: servers to boot")
    parser.add_argument("--opens", type=int, default=200, help="part 3: consoles to open")
    parser.add_argument("--only", choices=("nova", "websockify", "both"), default="both",
                        help="which proxies (plain TCP always runs in part 1)")
    parser.add_argument("--parts", default="1,2,3", help="comma-separated parts to run")
    parser.add_argument("--quick", action="store_true", help="a few seconds (smoke test)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile nova_ws's proxy over part 1's measured windows")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="do not pin processes to CPUs")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup, args.repeat = 0.3, 0.2, 1
        args.consoles, args.idle, args.servers, args.opens = 50, 10, 1, 5
    args.parts = {int(p) for p in args.parts.split(",") if p.strip()}
    if not args.parts <= {1, 2, 3}:
        parser.error("--parts takes 1, 2 and 3")
    if args.seconds <= 0 or args.repeat < 1 or args.frame_size < 1:
        parser.error("--seconds, --repeat and --frame-size must be positive")
    args.idle = min(args.idle, args.consoles)
    args.tokens = 64
    return args


def run(args: argparse.Namespace, workdir: Path, running: list[Process],
        meta: dict[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    use_nova = args.only in ("nova", "both")
    use_websockify = args.only in ("websockify", "both")
    pinning = Pinning(args.pin)
    meta["pinning"] = pinning.describe()
    pinning.client()
    guest_proc = guest(workdir)
    running.append(guest_proc)
    pinning.guest(guest_proc, alone=False)
    if 1 in args.parts:
        targets: dict[str, Process | None] = {}
        if use_nova:
            profile = workdir / "nova-proxy.pstats" if args.profile else None
            nova = nova_proxy(REPO, workdir, guest_proc.info, args.tokens, profile)
            running.append(nova)
            targets["nova_ws"] = nova
        if use_websockify:
            wsfy = websockify(REPO, workdir, guest_proc.info, args.tokens)
            running.append(wsfy)
            targets["websockify"] = wsfy
        targets["plain TCP"] = None
        for proxy in targets.values():
            if proxy is not None:
                pinning.proxy(proxy)
                proxy.settle()
        meta["targets"] = list(targets)
        try:
            results["single"] = part_single(args, targets, guest_proc, pinning)
        finally:
            for proxy in targets.values():
                if proxy is not None:
                    proxy.stop()
                    running.remove(proxy)
        if args.profile:
            meta["profiled"] = True
    if 2 in args.parts:
        many: dict[str, Any] = {"idle": args.idle}
        parts = [("nova_ws", part_many_nova)] if use_nova else []
        parts += [("websockify", part_many_websockify)] if use_websockify else []
        for name, part in parts:
            try:
                many[name] = part(args, workdir, guest_proc, pinning, running)
            except (OSError, Closed, HandshakeError, ProcessFailed) as error:
                many[name] = {"error": f"{type(error).__name__}: {error}"}
                _progress(f"part 2, {name} failed: {many[name]['error']}")
        results["many"] = many
    guest_proc.stop()
    running.remove(guest_proc)
    if 3 in args.parts:
        _progress(f"part 3: all-in-one, {args.servers} servers, {args.opens} opens ...")
        if pinning.enabled:
            os.sched_setaffinity(0, pinning.all_cpus)  # the all-in-one is placed by the kernel
        try:
            results["open"] = run_open_times(REPO, workdir, args.servers, args.opens, running)
        except NotAvailable as error:
            results["open"] = {"not_available": str(error)}
        except (OpenFailed, OSError, Closed, HandshakeError, ProcessFailed, KeyError,
                ValueError) as error:
            results["open"] = {"error": f"{type(error).__name__}: {error}"}
            _progress(traceback.format_exc())
        outcome = results["open"]
        _progress("part 3: " + (f"not available: {outcome['not_available']}"
                                 if "not_available" in outcome else
                                 f"failed: {outcome['error']}" if "error" in outcome else "done"))
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_fd_limit()
    running: list[Process] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    meta: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
        "seconds": args.seconds, "warmup": args.warmup, "repeat": args.repeat,
        "frame_size": args.frame_size, "masking": describe_masking(),
        "background_load": background_load(), "targets": [],
    }
    workdir = Path(tempfile.mkdtemp(prefix="bench-console-"))
    try:
        results = run(args, workdir, running, meta)
        meta["versions"] = versions(args.only != "nova" and bool(args.parts & {1, 2}))
        report = table(results, meta)  # before the work directory (profiles) goes
    except ProcessFailed as error:
        _progress(f"a benchmark process failed: {error}")
        return 2
    except KeyboardInterrupt:
        _progress("interrupted")
        return 130
    finally:
        for proc in running:
            proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(report, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=2,
                                              default=str))
    return 1 if failed(results) else 0


if __name__ == "__main__":
    sys.exit(main())
