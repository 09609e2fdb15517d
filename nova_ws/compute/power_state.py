"""Power states of a guest as the hypervisor reports them (Nova's values)."""

from __future__ import annotations

NOSTATE = 0
RUNNING = 1
PAUSED = 3
SHUTDOWN = 4
CRASHED = 6
SUSPENDED = 7

NAMES = {NOSTATE: "NOSTATE", RUNNING: "Running", PAUSED: "Paused", SHUTDOWN: "Shutdown",
         CRASHED: "Crashed", SUSPENDED: "Suspended"}
