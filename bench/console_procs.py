"""The console benchmark's subprocesses: the guest, the two proxies, the all-in-one.

Each runs in its own session (process group), so stopping it stops whatever
it forked (websockify forks a process per connection). CPU is utime + stime
and memory is RSS and PSS (``/proc/<pid>/smaps_rollup``), both summed over
the process and all its descendants at the time of asking.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from procstat import cpu_seconds, descendants
from toolvenv import ensure_tool

HOST = "127.0.0.1"
WEBSOCKIFY_REQUIREMENTS = ("websockify==0.13.0",)
BENCH = Path(__file__).resolve().parent


class ProcessFailed(Exception):
    """A subprocess did not start, or died."""


def free_port() -> int:
    """A TCP port of HOST that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Memory:
    """Memory of a process tree: how many processes, RSS and PSS summed, in bytes."""

    processes: int
    rss: int
    pss: int


def memory(pids: list[int]) -> Memory:
    """RSS and PSS of ``pids`` from smaps_rollup (kB lines), skipping those gone."""
    rss = pss = count = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        count += 1
        rss += int(fields.get("Rss", "0 kB").split()[0]) * 1024
        pss += int(fields.get("Pss", "0 kB").split()[0]) * 1024
    return Memory(count, rss, pss)


class Process:
    """One benchmark subprocess with its stderr (and stdout past its first line) in a log."""

    def __init__(self, name: str, argv: list[str], log_path: Path,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name, self.argv, self.log_path = name, argv, log_path
        self.env, self.cwd = env, cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.profile_prefix: str | None = None  # SIGUSR1/SIGUSR2 profile windows (nova_ws)
        self.profile_windows = 0

    def start(self, *, ready_line: bool = True, port: int | None = None,
              timeout: float = 120.0) -> Process:
        """Start; wait for its JSON line on stdout (``info``) or for ``port`` to listen."""
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE if ready_line else log, stderr=log,
            stdin=subprocess.DEVNULL, env=self.env, cwd=self.cwd, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        if ready_line:
            assert self.proc.stdout is not None
            line = b""
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, min(left, 1.0)))
                if ready:
                    chunk = os.read(self.proc.stdout.fileno(), 65536)
                    if not chunk:
                        self._died()
                    line += chunk
                elif self.proc.poll() is not None:
                    self._died()
                elif left <= 0:
                    self.stop()
                    raise ProcessFailed(f"{self.name} gave no ready line in {timeout} s:\n"
                                        f"{self.log_tail()}")
            self.info = json.loads(line.split(b"\n")[0])
        if port is not None:
            while not port_open(port):
                if self.proc.poll() is not None:
                    self._died()
                if time.monotonic() > deadline:
                    self.stop()
                    raise ProcessFailed(f"{self.name} did not listen on {port} in {timeout} s:\n"
                                        f"{self.log_tail()}")
                time.sleep(0.05)
        return self

    def _died(self) -> None:
        assert self.proc is not None
        self.proc.wait()
        raise ProcessFailed(f"{self.name} exited with status {self.proc.returncode}:\n"
                            f"{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pids(self) -> list[int]:
        """The process and all its descendants, now."""
        return descendants(self.pid) if self.alive() else []

    def cpu(self) -> float:
        """CPU seconds of the process tree so far (raises if it died)."""
        if not self.alive():
            raise ProcessFailed(f"{self.name} died:\n{self.log_tail()}")
        return cpu_seconds(self.pids())

    def memory(self) -> Memory:
        return memory(self.pids())

    def settle(self, quiet: float = 0.01, step: float = 0.25, limit: float = 10.0) -> None:
        """Wait (up to ``limit`` s) until the tree uses at most ``quiet`` CPU s per ``step``."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            before = self.cpu()
            time.sleep(step)
            if self.cpu() - before <= quiet:
                return

    def stop(self, sig: int = signal.SIGTERM, wait: float = 15.0) -> None:
        """Stop the process and everything it spawned (``sig``, then KILL)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        pids = set(descendants(proc.pid)) if proc.poll() is None else set()
        _signal_group(proc.pid, sig)
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(proc.pid, signal.SIGKILL)
        for pid in pids - {proc.pid}:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except OSError:
        pass


def _env_with_repo(repo: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")]))
    return env


def guest(workdir: Path) -> Process:
    """The source/sink/idle guest (``console_guest.py``), started."""
    return Process("guest", [sys.executable, str(BENCH / "console_guest.py")],
                   workdir / "guest.log").start()


def nova_proxy(repo: Path, workdir: Path, ports: dict[str, int], consoles: int,
               profile: Path | None = None) -> Process:
    """nova_ws's proxy (``console_nova_proxy.py``), started; ``info["port"]`` is its port."""
    argv = [sys.executable, str(BENCH / "console_nova_proxy.py"), "--consoles", str(consoles),
            *(a for kind in ("source", "sink", "idle") for a in (f"--{kind}", str(ports[kind])))]
    if profile is not None:
        argv += ["--profile", str(profile)]
    proc = Process("nova_ws proxy", argv, workdir / "nova-proxy.log", env=_env_with_repo(repo),
                   cwd=repo)
    proc.profile_prefix = str(profile) if profile is not None else None
    return proc.start()


def websockify_venv(repo: Path) -> Path:
    """Where the benchmark keeps websockify's own virtualenv."""
    return repo / "bench" / ".venv-websockify"


def ensure_websockify(repo: Path) -> Path:
    """Create websockify's virtualenv unless it is there already; its ``websockify``."""
    return ensure_tool(websockify_venv(repo), WEBSOCKIFY_REQUIREMENTS, "websockify", ProcessFailed)


def websockify(repo: Path, workdir: Path, ports: dict[str, int], consoles: int) -> Process:
    """websockify with a TokenFile of the same ``<kind>-<i>`` tokens, started."""
    command = ensure_websockify(repo)
    tokens = workdir / "websockify-tokens"
    tokens.write_text("".join(f"{kind}-{i}: {HOST}:{ports[kind]}\n"
                              for kind in ("source", "sink", "idle") for i in range(consoles)))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    argv = [str(command), "--token-plugin", "TokenFile", "--token-source", str(tokens),
            f"{HOST}:{port}"]
    proc = Process("websockify", argv, workdir / "websockify.log", env=env, cwd=workdir)
    proc.start(ready_line=False, port=port)
    proc.info = {"port": port}
    return proc


def websockify_versions(repo: Path) -> dict[str, str]:
    """Versions of websockify and numpy (its unmasking) in its virtualenv."""
    python = websockify_venv(repo) / "bin" / "python"
    code = ("import json, importlib.metadata as m; print(json.dumps("
            "{p: m.version(p) for p in ('websockify', 'numpy')}))")
    try:
        out = subprocess.run([str(python), "-c", code], capture_output=True, check=True,
                             timeout=60).stdout
        return dict(json.loads(out))
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}


def allinone(repo: Path, workdir: Path) -> Process:
    """The all-in-one (``console_aio.py``), started; ``info`` has its API and users."""
    state = workdir / "aio"
    state.mkdir(exist_ok=True)
    argv = [sys.executable, str(BENCH / "console_aio.py"), "--state", str(state)]
    proc = Process("all-in-one", argv, workdir / "allinone.log", env=_env_with_repo(repo),
                   cwd=repo)
    return proc.start(timeout=300.0)
