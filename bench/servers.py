"""The two routers under test, as subprocesses: start, CPU accounting, stop.

Each listens on its own pair of ports (WebSocket at ``/ws`` and RawSocket;
by default 8080 and 8081), with realm ``nova`` and anonymous sessions allowed
everything, so both can run side by side. Each runs in its own session
(process group), so stopping it also stops anything it spawned, Crossbar's
worker processes included.

Router CPU is utime + stime from ``/proc/<pid>/stat``, summed over the
router's process and all its descendants (for Crossbar: the controller and
the router worker).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from procstat import cpu_seconds, descendants
from toolvenv import ensure_tool

HOST, WEBSOCKET_PORT, RAWSOCKET_PORT, REALM = "127.0.0.1", 8080, 8081, "nova"
# numpy<2: the bjdata wheel Autobahn imports is built against NumPy 1.x.
CROSSBAR_REQUIREMENTS = ("crossbar==26.10.1", "numpy<2")

Ports = tuple[int, int]  # (WebSocket, RawSocket)
DEFAULT_PORTS: Ports = (WEBSOCKET_PORT, RAWSOCKET_PORT)


def nova_conf(ports: Ports) -> str:
    """nova.conf for the benchmark's router on *ports*."""
    return f"""\
[router]
listen_host = {HOST}
websocket_port = {ports[0]}
websocket_path = ws
rawsocket_port = {ports[1]}
realms = {REALM}
auth_methods = anonymous
anonymous_role = admin
"""


class RouterFailed(Exception):
    """A router did not start, or died."""


def port_open(port: int) -> bool:
    """True if something accepts connections on HOST:*port*."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class RouterProcess:
    """One router subprocess, in its own session, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict[str, str],
                 log_path: Path, ports: Ports = DEFAULT_PORTS) -> None:
        self.name = name
        self.ports = ports
        self._argv, self._cwd, self._env, self.log_path = argv, cwd, env, log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._pids: list[int] = []

    def start(self, timeout: float = 90.0) -> None:
        """Start it and wait until both ports accept connections."""
        for port in self.ports:
            if port_open(port):
                raise RouterFailed(f"port {port} is already in use; stop whatever listens there")
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(self._argv, cwd=self._cwd, env=self._env, stdout=log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        deadline = time.monotonic() + timeout
        while not all(port_open(port) for port in self.ports):
            if self._proc.poll() is not None:
                raise RouterFailed(f"{self.name} exited with status {self._proc.returncode}:\n"
                                   f"{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RouterFailed(f"{self.name} did not listen within {timeout} s:\n"
                                   f"{self.log_tail()}")
            time.sleep(0.1)
        self._pids = descendants(self._proc.pid)
        self._settle(deadline)

    def _settle(self, deadline: float) -> None:
        """Wait until start-up work is over: the router idles for a quarter second."""
        while time.monotonic() < deadline:
            before = self.cpu()
            time.sleep(0.25)
            if self.cpu() - before <= 0.01:
                return

    def alive(self) -> bool:
        """True while the router's main process runs."""
        return self._proc is not None and self._proc.poll() is None

    def cpu(self) -> float:
        """CPU seconds used so far by the router's processes."""
        if not self.alive():
            raise RouterFailed(f"{self.name} died:\n{self.log_tail()}")
        return cpu_seconds(self._pids)

    def stop(self) -> None:
        """Stop the router and everything it spawned (TERM, then KILL)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        pids = set(self._pids) | set(descendants(proc.pid))
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(proc.pid, signal.SIGKILL)
        for pid in pids - {proc.pid}:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the router wrote."""
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


def nova_router(repo: Path, workdir: Path, ports: Ports = DEFAULT_PORTS) -> RouterProcess:
    """``twistd -n nova-router`` from this repository's virtualenv."""
    conf = workdir / "nova.conf"
    conf.write_text(nova_conf(ports))
    twistd = Path(sys.executable).with_name("twistd")
    launcher = [str(twistd)] if twistd.exists() else [sys.executable, "-m", "twisted"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")]))
    argv = [*launcher, "-n", "--pidfile=", "nova-router", "--config", str(conf)]
    return RouterProcess("nova_ws", argv, repo, env, workdir / "nova-router.log", ports)


def crossbar_config(ports: Ports = DEFAULT_PORTS) -> dict[str, Any]:
    """One router worker: realm nova, anonymous allowed everything, both transports."""
    everything = {"call": True, "register": True, "publish": True, "subscribe": True}
    role = {"name": "anonymous", "permissions": [{
        "uri": "", "match": "prefix", "allow": everything,
        "disclose": {"caller": False, "publisher": False}, "cache": True}]}
    endpoint = {"type": "tcp", "interface": HOST}
    return {"version": 2, "controller": {}, "workers": [{
        "type": "router",
        "realms": [{"name": REALM, "roles": [role]}],
        "transports": [
            {"type": "websocket", "endpoint": {**endpoint, "port": ports[0]},
             "url": f"ws://{HOST}:{ports[0]}/ws",
             "serializers": ["json", "msgpack", "cbor"]},
            {"type": "rawsocket", "endpoint": {**endpoint, "port": ports[1]},
             "serializers": ["json", "msgpack"]},
        ]}]}


def crossbar_venv(repo: Path) -> Path:
    """Where the benchmark keeps Crossbar's own virtualenv."""
    return repo / "bench" / ".venv-crossbar"


def ensure_crossbar(repo: Path) -> Path:
    """Create Crossbar's virtualenv unless it is there already; its ``crossbar``."""
    return ensure_tool(crossbar_venv(repo), CROSSBAR_REQUIREMENTS, "crossbar", RouterFailed)


def crossbar_router(repo: Path, workdir: Path, ports: Ports = DEFAULT_PORTS) -> RouterProcess:
    """``crossbar start`` with a generated node configuration, logging at warn."""
    crossbar = ensure_crossbar(repo)
    cbdir = workdir / ".crossbar"
    cbdir.mkdir(exist_ok=True)
    (cbdir / "config.json").write_text(json.dumps(crossbar_config(ports), indent=2))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    argv = [str(crossbar), "start", "--cbdir", str(cbdir), "--loglevel", "warn"]
    return RouterProcess("crossbar", argv, workdir, env, workdir / "crossbar.log", ports)


def crossbar_versions(repo: Path) -> dict[str, str]:
    """Versions of Crossbar and of the Twisted and Autobahn it runs on."""
    python = crossbar_venv(repo) / "bin" / "python"
    code = ("import json, importlib.metadata as m; print(json.dumps("
            "{p: m.version(p) for p in ('crossbar', 'twisted', 'autobahn')}))")
    try:
        out = subprocess.run([str(python), "-c", code], capture_output=True, check=True,
                             timeout=60).stdout
        return dict(json.loads(out))
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}
