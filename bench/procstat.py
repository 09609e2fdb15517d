"""CPU time of processes, from /proc: what the benchmark charges to a router.

utime + stime of ``/proc/<pid>/stat`` covers all of a process's threads, in
clock ticks (usually 10 ms); windows of seconds keep that resolution small.
"""

from __future__ import annotations

import os

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return data[data.rindex(b")") + 2:].decode().split()  # fields from "state" on


def descendants(root: int) -> list[int]:
    """*root* and every process below it (scans /proc for parent IDs)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of *pids* (all their threads), in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue  # gone since the scan
        total += int(fields[11]) + int(fields[12])
    return total / _TICK
