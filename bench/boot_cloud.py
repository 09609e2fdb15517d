"""The boot benchmark's cloud, on any database, and what it meters in it.

:func:`start_cloud` is the test harness's cloud
(:func:`nova_ws.testing.cloud.start_cloud`: router, conductor, scheduler, N
fake compute hosts and an admin session, all in this reactor and talking only
through the router) on whatever database URL it is given.

Everything runs in one process, so CPU is apportioned from the inside:

* a :class:`CpuMeter` times (thread CPU) the methods it wraps: with
  :func:`meter_router`, every read and write the reactor does on the
  router's own side of its connections (receiving, parsing, routing,
  serializing and sending: all a router does apart from accepting
  connections and its timers); the boot storm also wraps each fake driver's
  ``spawn`` (which draws the guest's VNC screen);
* :func:`cpu_sample` reads the whole process's CPU (all threads) and the
  reactor thread's; the difference is the database thread pool;
* :class:`LogCounter` counts what the services log about lost claims,
  rescheduled builds and builds in ERROR.
"""

from __future__ import annotations

import math
import resource
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet import tcp
from twisted.logger import ILogObserver, globalLogPublisher
from zope.interface import implementer

from nova_ws.compute.drivers.fake.driver import FakeHost
from nova_ws.router.service import RouterService
from nova_ws.testing.cloud import Cloud
from nova_ws.testing.cloud import start_cloud as harness_start_cloud


async def start_cloud(state_path: Path, connection: str, n_hosts: int,
                      host: FakeHost) -> Cloud:
    """The test harness's cloud (:func:`nova_ws.testing.cloud.start_cloud`) on
    *connection*, with *n_hosts* fake hosts of size *host*."""
    return await harness_start_cloud(state_path, n_hosts, host=host, connection=connection)


class CpuMeter:
    """Reactor-thread CPU spent inside the methods it wraps."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.wrapped = 0

    def wrap(self, obj: Any, name: str) -> None:
        """Time every call of ``obj.<name>`` from now on (an instance attribute)."""
        method = getattr(obj, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.thread_time() - start

        setattr(obj, name, timed)
        self.wrapped += 1


def meter_router(meter: CpuMeter, router: RouterService, reactor: Any) -> int:
    """Meter the reads and writes of every connection *router* has accepted so
    far (its own side: receive, parse, route, serialize, send); how many."""
    ports = {id(port) for port in router.ports.values()}
    found = 0
    for selectable in {*reactor.getReaders(), *reactor.getWriters()}:
        if isinstance(selectable, tcp.Server) and id(selectable.server) in ports:
            meter.wrap(selectable, "doRead")
            meter.wrap(selectable, "doWrite")
            found += 1
    return found


@dataclass(frozen=True)
class CpuSample:
    """Wall clock and CPU seconds at one moment (call on the reactor thread)."""

    wall: float
    process: float
    reactor: float
    router: float
    spawn: float

    def until(self, later: CpuSample) -> dict[str, float]:
        """What was spent from this sample to *later*."""
        process = later.process - self.process
        reactor = later.reactor - self.reactor
        return {"wall_s": later.wall - self.wall, "process_cpu_s": process,
                "reactor_cpu_s": reactor, "db_threads_cpu_s": max(0.0, process - reactor),
                "router_cpu_s": later.router - self.router,
                "spawn_cpu_s": later.spawn - self.spawn}


def cpu_sample(router: CpuMeter | None = None, spawn: CpuMeter | None = None) -> CpuSample:
    """The wall clock, the process's CPU (every thread), the calling thread's
    CPU, and the router's and the drivers' spawn meters, now."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return CpuSample(time.perf_counter(), usage.ru_utime + usage.ru_stime, time.thread_time(),
                     router.seconds if router else 0.0, spawn.seconds if spawn else 0.0)


@implementer(ILogObserver)
class LogCounter:
    """Counts log events of interest while installed (a global log observer)."""

    PATTERNS = {
        "claims_lost": ("nova_ws.scheduler.manager", "claim on "),
        "reschedules": ("nova_ws.conductor.manager", "build of {uuid} failed on"),
        "builds_in_error": ("nova_ws.conductor.manager", "instance {uuid} is in ERROR"),
    }

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.failures = 0

    def __enter__(self) -> LogCounter:
        globalLogPublisher.addObserver(self)
        return self

    def __exit__(self, *exc: object) -> None:
        globalLogPublisher.removeObserver(self)

    def __call__(self, event: dict[str, Any]) -> None:
        if "log_failure" in event:
            self.failures += 1
        namespace, text = event.get("log_namespace"), event.get("log_format") or ""
        for name, (wanted_namespace, prefix) in self.PATTERNS.items():
            if namespace == wanted_namespace and text.startswith(prefix):
                self.counts[name] += 1

    def reset(self) -> None:
        """Start counting from zero."""
        self.counts.clear()
        self.failures = 0


def percentile(values: list[float], q: float) -> float:
    """The *q* quantile (0..1) of *values*, nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[rank]
