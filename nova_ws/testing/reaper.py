"""``python -m nova_ws.testing.reaper [--parent PID] COMMAND [ARG...]``: COMMAND under a subreaper.

libvirtd double-forks QEMU and virtlogd, so they end up children of
whoever reaps orphans: PID 1, or the nearest ancestor that declared itself
a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``). Where PID 1 reaps
late (some container inits do), an exited QEMU stays a zombie, and libvirt,
which polls ``kill(pid, 0)`` until its guest is gone, then takes seconds
per destroy instead of a fifth of one.

This process is that subreaper. It runs COMMAND as its child and reaps
every process it inherits as soon as it exits. SIGTERM, SIGINT and SIGHUP
make it send SIGTERM to COMMAND. Once COMMAND has exited, it sends SIGTERM
to everything it inherited (and SIGKILL to whatever is left :data:`GRACE`
seconds later), and exits with COMMAND's status when it has no child left:
so when it is gone, so is every process COMMAND left behind.

With ``--parent PID`` it also stops COMMAND (as SIGTERM would) when its
parent, which must be PID, dies (``PR_SET_PDEATHSIG``; strictly, when the
parent's thread that started it ends), so a test run that is killed does
not leave guests running.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from types import FrameType

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
#: Seconds the inherited processes get between SIGTERM and SIGKILL.
GRACE = 10.0


def children() -> list[int]:
    """The pids of this process's children (``/proc/self/task/*/children``)."""
    pids: list[int] = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children") as listing:
                pids += [int(pid) for pid in listing.read().split()]
        except FileNotFoundError:
            pass  # the thread ended meanwhile
    return pids


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _prctl(option: int, value: int, name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl({name}): {os.strerror(errno)}")


def become_subreaper() -> None:
    """Make this process the reaper of its descendants' orphans. OSError if refused."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1, "PR_SET_CHILD_SUBREAPER")


def run(argv: list[str], parent: int | None = None) -> int:
    """Run *argv* as described in the module docstring; COMMAND's exit status.

    With *parent*, SIGTERM arrives when this process's parent dies; if it
    is not *parent* any more, it died already and COMMAND is not run.
    """
    become_subreaper()
    command = 0  # COMMAND's pid once forked
    running = stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if running:
            _kill(command, signal.SIGTERM)

    def kill_the_rest(signum: int, frame: FrameType | None) -> None:
        for pid in children():
            _kill(pid, signal.SIGKILL)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)  # handled, so exec gives COMMAND the defaults back
    signal.signal(signal.SIGALRM, kill_the_rest)
    if parent is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM, "PR_SET_PDEATHSIG")
        if os.getppid() != parent:
            return 128 + signal.SIGTERM
    command = os.fork()
    if command == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(2, f"reaper: cannot run {argv[0]}: {exc}\n".encode())
        os._exit(127)
    running = True
    if stopping:  # asked to stop while forking
        _kill(command, signal.SIGTERM)
    status = 0
    terminated: set[int] = set()
    while True:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        if pid == command:
            running = False
            status = os.waitstatus_to_exitcode(wait_status)
            signal.setitimer(signal.ITIMER_REAL, GRACE)
        if not running:
            for orphan in set(children()) - terminated:
                _kill(orphan, signal.SIGTERM)
                terminated.add(orphan)
    return status if status >= 0 else 128 - status


def main() -> None:
    argv, parent = sys.argv[1:], None
    if argv[:1] == ["--parent"] and len(argv) >= 2 and argv[1].isdigit():
        argv, parent = argv[2:], int(argv[1])
    if not argv:
        sys.exit(f"usage: {sys.executable} -m nova_ws.testing.reaper [--parent PID] "
                 "COMMAND [ARG...]")
    sys.exit(run(argv, parent))


if __name__ == "__main__":
    main()
