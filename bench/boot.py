"""Benchmark booting servers through nova_ws's compute core, and its scheduler.

    .venv/bin/python bench/boot.py [--servers 500] [--hosts 50]
                                   [--sched-hosts 1000] [--decisions 500]
                                   [--concurrency 16] [--database URL]
                                   [--only storm|scheduler] [--no-wamp]
                                   [--quick] [--json FILE] [--profile PREFIX]

Everything runs in this one process and one reactor, talking only through a
real router, as separate processes would (the harness of
``nova_ws.testing.cloud``):

1. Boot storm: ``--servers`` m1.small on ``--hosts`` fake hosts (16 vCPU,
   32768 MB, 500 GB each), all started by one ``nova.conductor.build_instances``
   call over the router: servers/s from that call to the last ACTIVE event,
   p50/p99 of each server's request -> ACTIVE, how many ended ACTIVE or ERROR,
   whether any host passed its allocation ratios (read from the database
   afterwards), and the CPU of the process, its reactor thread, its database
   threads and the router's share of the reactor.
2. Scheduler: ``--sched-hosts`` compute nodes and services written straight
   into the database, then ``--decisions`` calls of
   ``SchedulerManager.select_destinations`` (each claiming), one at a time and
   ``--concurrency`` at once, directly and through the router; and the parts
   of one decision timed alone (``load_hosts``, ``select_hosts``, ``claim``).

``--database`` is SQLite in a temporary directory by default; ``mysql`` and
``postgresql`` use the local servers (a temporary database per part, dropped
after it); any SQLAlchemy URL is taken too (see ``boot_db.py``).
``--quick`` is a smoke test: 50 servers on 5 hosts, 100 decisions against
100 hosts. ``--profile PREFIX`` writes cProfile statistics of the reactor
thread to PREFIX-storm.pstats and PREFIX-scheduler.pstats.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boot_db import Scratch, ScratchError
from boot_sched import run_scheduler
from boot_storm import run_storm, storm_failed
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import react
from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)

from nova_ws.compute.drivers.fake.driver import FakeHost

HOST = FakeHost(vcpus=16, memory_mb=32768, local_gb=500)  # 24 m1.small each (RAM ratio 1.5)
#: option -> (default, --quick default)
SIZES = {"servers": (500, 50), "hosts": (50, 5), "sched_hosts": (1000, 100),
         "decisions": (500, 100), "concurrency": (16, 16)}


# -- running ---------------------------------------------------------------------

async def run(reactor: Any, args: argparse.Namespace, scratch: Scratch) -> dict[str, Any]:
    """Every part asked for, each on a fresh database; results by part."""
    results: dict[str, Any] = {}
    state = Path(tempfile.mkdtemp(prefix="bench-boot-"))
    try:
        await _parts(reactor, args, scratch, state, results)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return results


async def _parts(reactor: Any, args: argparse.Namespace, scratch: Scratch, state: Path,
                 results: dict[str, Any]) -> None:
    if args.only in (None, "storm"):
        _progress(f"boot storm: {args.servers} servers on {args.hosts} hosts ...")
        with scratch.database("storm") as url:
            results["storm"] = await _guarded(run_storm(
                reactor, url, state, args.servers, args.hosts, HOST, args.timeout,
                profile=f"{args.profile}-storm.pstats" if args.profile else None))
    if args.only in (None, "scheduler"):
        rows = 2 if args.no_wamp else 4
        _progress(f"scheduler: {args.decisions} decisions x {rows} rows against "
                  f"{args.sched_hosts} hosts ...")
        with scratch.database("sched") as url:
            results["scheduler"] = await _guarded(run_scheduler(
                reactor, url, state, args.sched_hosts, args.decisions, args.concurrency,
                HOST, wamp=not args.no_wamp,
                profile=f"{args.profile}-scheduler.pstats" if args.profile else None))


async def _guarded(part: Any) -> dict[str, Any]:
    """A part's results, or ``{"crash": ...}`` if it crashed."""
    try:
        return dict(await part)
    except Exception as exc:
        _progress(traceback.format_exc())
        return {"crash": f"{type(exc).__name__}: {exc}"}


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- report ------------------------------------------------------------------------

def versions() -> dict[str, str]:
    """Versions of everything measured."""
    out = {"python": platform.python_version()}
    for package in ("twisted", "autobahn", "sqlalchemy", "nova_ws"):
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "?"
    return out


def _n(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "-"
    return f"{value:,.{digits}f}"


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.0f}%" if whole > 0 else "-"


def _rows(rows: list[tuple[str, str]], width: int) -> list[str]:
    return [f"  {label:<{width - 14}}{value:>12}" for label, value in rows]


def storm_table(s: dict[str, Any], width: int) -> list[str]:
    """The boot storm's section of the report."""
    size = s.get("host_size", dataclasses.asdict(HOST))
    title = (f"Boot storm: {s.get('servers', '?')} x m1.small on {s.get('hosts', '?')} fake "
             f"hosts ({size['vcpus']} vCPU, {size['memory_mb']} MB, {size['local_gb']} GB each)")
    if "crash" in s:
        return [title, f"  crashed: {s['crash']}"]
    cpu, alloc, spread = s["cpu"], s["allocation"], s["servers_per_host"]
    logged = s["logged"]
    rows = [
        ("servers ACTIVE / ERROR / unsettled", f"{s['active']} / {s['error']} / {s['unsettled']}"),
        ("servers/s, build call -> last ACTIVE", _n(s["servers_per_s"])),
        ("request -> ACTIVE p50, ms", _n(s["p50_ms"])),
        ("request -> ACTIVE p99, ms", _n(s["p99_ms"])),
        ("request -> ACTIVE max, ms", _n(s["max_ms"])),
        ("build_instances call answered after, ms", _n(s["build_call_ms"])),
        ("hosts over an allocation ratio", f"{len(alloc['hosts_over_ratio'])} of "
                                           f"{alloc['nodes']}"),
        ("fullest host, % of allowed RAM / vCPU / disk",
         f"{alloc['max_ram_share'] * 100:.0f} / {alloc['max_vcpu_share'] * 100:.0f} / "
         f"{alloc['max_disk_share'] * 100:.0f}"),
        ("claimed RAM = guests running x 2048 MB",
         "yes" if s["usage_matches_guests"] else "NO"),
        ("servers per host min / max (hosts used)",
         f"{spread['min']} / {spread['max']} ({spread['hosts_used']})"),
        ("claims lost to a concurrent claim", f"{logged.get('claims_lost', 0):,}"),
        ("builds rescheduled / logged failures",
         f"{logged.get('reschedules', 0)} / {s['logged_failures']}"),
        ("wall s, build call -> every build done", _n(cpu["wall_s"], 2)),
        ("process CPU s (% of one core)",
         f"{_n(cpu['process_cpu_s'], 2)} ({_pct(cpu['process_cpu_s'], cpu['wall_s'])})"),
        ("  reactor thread CPU s", _n(cpu["reactor_cpu_s"], 2)),
        ("  database threads CPU s", _n(cpu["db_threads_cpu_s"], 2)),
        ("  router CPU s (% of process)",
         f"{_n(cpu['router_cpu_s'], 2)} ({_pct(cpu['router_cpu_s'], cpu['process_cpu_s'])})"),
        ("  fake driver spawn CPU s (% of process)",
         f"{_n(cpu['spawn_cpu_s'], 2)} ({_pct(cpu['spawn_cpu_s'], cpu['process_cpu_s'])})"),
        ("process / router CPU per server, ms",
         f"{_n(1000 * cpu['process_cpu_s'] / s['servers'])} / "
         f"{_n(1000 * cpu['router_cpu_s'] / s['servers'])}"),
    ]
    return [title, *_rows(rows, width),
            f"  (start-up of the cloud: {s['setup_s']:.1f} s. Router and spawn CPU are parts of "
            f"the reactor",
            "  thread's: its reads and writes on the router's side of each connection, and",
            "  the fake driver's spawn, which draws each guest's VNC screen in Python)"]


def scheduler_table(r: dict[str, Any], width: int) -> list[str]:
    """The scheduler's section of the report."""
    title = (f"Scheduler: {r.get('hosts', '?'):,} hosts in the database, "
             f"{r.get('decisions', '?')} decisions per row, each claiming an m1.small")
    if "crash" in r:
        return [title, f"  crashed: {r['crash']}"]
    p = r["parts"]
    lines = [title, f"  {'one decision, each part alone, ms':<{width - 22}}{'p50':>10}{'mean':>10}"]
    for key, label in (("load_hosts", "load_hosts via Database.run"),
                       ("load_hosts_plain", "load_hosts, plain call on one session"),
                       ("select_hosts", "select_hosts (filters + weighers)"),
                       ("claim", "claim via Database.run (one UPDATE)")):
        lines.append(f"    {label:<{width - 24}}{_n(p[key]['p50_ms'], 2):>10}"
                     f"{_n(p[key]['mean_ms'], 2):>10}")
    head = (f"  {'decisions':<22}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'CPU ms/dec':>12}{'router':>8}{'lost':>7}{'failed':>7}")
    lines += [head]
    for m in r["modes"]:
        cpu = m["cpu"]
        label = f"{m['via']}, " + ("1 at a time" if m["concurrency"] == 1
                                   else f"{m['concurrency']} at once")
        lines.append(
            f"  {label:<22}{_n(m['per_s'], 0):>9}{_n(m['p50_ms'], 2):>9}"
            f"{_n(m['p99_ms'], 2):>9}{_n(1000 * cpu['process_cpu_s'] / m['decisions'], 2):>12}"
            f"{_pct(cpu['router_cpu_s'], cpu['process_cpu_s']):>8}"
            f"{m['claims_lost']:>7}{m['failures']:>7}")
    lines.append(f"  (populating the database: {r['populate_s']:.1f} s; router = share of "
                 f"process CPU; lost = claims lost to a concurrent claim)")
    return lines


def table(results: dict[str, Any], meta: dict[str, Any]) -> str:
    """The printed report."""
    v = meta["versions"]
    width = 62
    lines = [
        f"nova_ws boot benchmark  ({meta['date']})",
        f"Python {v['python']}, Twisted {v['twisted']}, Autobahn {v['autobahn']}, "
        f"SQLAlchemy {v['sqlalchemy']}; {meta['cpus']} CPUs",
        f"database: {meta['database']}",
        "one process: router, conductor, scheduler and fake compute hosts in one reactor,",
        "talking only through the router (WebSocket, JSON)",
        "",
        f"{'metric':<{width - 12}}{'value':>12}",
        "=" * width,
    ]
    if "storm" in results:
        lines += storm_table(results["storm"], width)
        lines.append("-" * width)
    if "scheduler" in results:
        lines += scheduler_table(results["scheduler"], width)
        lines.append("-" * width)
    return "\n".join(lines)


def failed(results: dict[str, Any]) -> bool:
    """Whether a part crashed, a server did not reach ACTIVE or a host was overcommitted."""
    if any("crash" in part for part in results.values()):
        return True
    return "storm" in results and storm_failed(results["storm"])


# -- command line -------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; sizes not given take their default (or --quick default)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, help="servers in the boot storm (500)")
    parser.add_argument("--hosts", type=int, help="fake compute hosts in the boot storm (50)")
    parser.add_argument("--sched-hosts", type=int,
                        help="compute nodes in the database for the scheduler part (1000)")
    parser.add_argument("--decisions", type=int,
                        help="scheduler decisions per measured row (500)")
    parser.add_argument("--concurrency", type=int, help="decisions at once (16)")
    parser.add_argument("--database", metavar="URL",
                        help="sqlite (default), mysql, postgresql, or an SQLAlchemy URL")
    parser.add_argument("--only", choices=("storm", "scheduler"), help="run one part only")
    parser.add_argument("--no-wamp", action="store_true",
                        help="skip the scheduler rows through the router")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds the storm may take to settle (600)")
    parser.add_argument("--quick", action="store_true",
                        help="50 servers on 5 hosts; 100 decisions against 100 hosts")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--profile", metavar="PREFIX",
                        help="write cProfile stats of the reactor thread per part")
    args = parser.parse_args(argv)
    for name, (default, quick) in SIZES.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else default)
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 if every server reached ACTIVE within the ratios."""
    args = parse_args(argv)
    try:
        scratch = Scratch(args.database)
    except ScratchError as exc:
        _progress(f"database: {exc}")
        return 2
    globalLogBeginner.beginLoggingTo(
        [FilteringLogObserver(textFileLogObserver(sys.stderr),
                              [LogLevelFilterPredicate(LogLevel.warn)])],
        discardBuffer=True, redirectStandardIO=False)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    outcome: dict[str, Any] = {}

    async def body(reactor: Any) -> None:
        try:
            outcome["results"] = await run(reactor, args, scratch)
        except ScratchError as exc:
            outcome["database_error"] = str(exc)

    try:
        react(lambda reactor: ensureDeferred(body(reactor)))
    except SystemExit as exc:  # react() always exits; the report comes after it
        if "results" not in outcome and "database_error" not in outcome:
            return int(exc.code or 1)
    if "database_error" in outcome:
        _progress(f"database: {outcome['database_error']}")
        return 2
    results = outcome["results"]
    meta = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "database": scratch.describe(), "backend": scratch.backend,
            "versions": versions(), "host": dataclasses.asdict(HOST),
            "args": {k: v for k, v in vars(args).items() if k != "json"}}
    print(table(results, meta), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=2,
                                              default=str))
    return 1 if failed(results) else 0


if __name__ == "__main__":
    sys.exit(main())
