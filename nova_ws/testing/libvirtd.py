"""A private libvirtd that runs real QEMU guests, for tests.

:class:`LibvirtDaemon` starts ``libvirtd`` in *session* mode with every
path it uses (its config, sockets, runtime state, logs, QEMU capability
cache and guest definitions) in a fresh temporary directory. Nothing in
/etc, /run, /var or the cgroup tree is touched, and a libvirtd the host
may run is not involved. As root, libvirtd runs in a user namespace
(``unshare --user``) where it is uid 1000, which is what makes it choose
session mode; its QEMU still opens /dev/kvm, as that uid is root outside.
It runs under :mod:`nova_ws.testing.reaper`, which reaps the QEMU processes
libvirtd double-forks as soon as they exit (see there why that matters).

It needs the Debian packages ``libvirt-daemon`` and
``libvirt-daemon-driver-qemu`` (``make deps-debian`` installs them), and
``qemu-system-x86``::

    with LibvirtDaemon() as daemon:
        driver = LibvirtDriver(reactor, daemon.uri, spice=True)

:meth:`~LibvirtDaemon.start` returns once the daemon answers a libvirt
connection. :meth:`~LibvirtDaemon.stop` destroys and undefines every
guest, terminates the daemon, makes sure no process it started is left and
removes the directory. Both block. If the process that started it dies
first, the daemon and its guests stop by themselves (strictly, when the
thread that called :meth:`~LibvirtDaemon.start` ends: call it from one that
lasts, like the main thread).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import libvirt

from nova_ws.compute.drivers.libvirt.errors import silence_libvirt_stderr

#: The Debian packages that give libvirtd and its QEMU driver.
PACKAGES = "libvirt-daemon libvirt-daemon-driver-qemu"
_SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class LibvirtdError(RuntimeError):
    """The private libvirtd is missing, did not start, or left processes behind."""


def find_libvirtd(name: str = "libvirtd") -> str:
    """The path of *name* (on PATH or in the system's sbin directories).

    LibvirtdError saying what to install if there is none.
    """
    path = shutil.which(name, path=f"{os.environ.get('PATH', '')}:{_SYSTEM_PATH}")
    if path is None:
        raise LibvirtdError(f"{name} is missing: install the Debian packages {PACKAGES} "
                            "(make deps-debian does)")
    return path


class LibvirtDaemon:
    """A libvirtd of its own in a temporary directory; ``uri`` reaches it.

    *base_dir* is where the directory is made (default: the system's temp
    directory; Unix socket paths must stay under 108 bytes). *timeout* is
    how long :meth:`start` and :meth:`stop` wait for the daemon. *libvirtd*
    is the daemon's name or path.
    """

    def __init__(self, base_dir: str | None = None, timeout: float = 60.0,
                 libvirtd: str = "libvirtd") -> None:
        self.libvirtd = libvirtd
        self.base_dir = base_dir
        self.timeout = timeout
        self.dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        """The libvirt URI of this daemon: ``qemu:///session?socket=...``."""
        return f"qemu:///session?socket={self._path('sock', 'libvirt-sock')}"

    @property
    def log(self) -> Path:
        """libvirtd's own log (its stderr)."""
        return self._path("libvirtd.log")

    def _path(self, *parts: str) -> Path:
        if self.dir is None:
            raise LibvirtdError("the private libvirtd is not started")
        return self.dir.joinpath(*parts)

    # -- start -------------------------------------------------------------

    def start(self) -> None:
        """Start libvirtd and wait until it answers. LibvirtdError if it does not."""
        if self._process is not None:
            return
        libvirtd = find_libvirtd(self.libvirtd)
        silence_libvirt_stderr()
        self.dir = Path(tempfile.mkdtemp(prefix="nova-libvirtd-", dir=self.base_dir))
        env = self._environment()
        for name in ("HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME"):
            Path(env[name]).mkdir(mode=0o700)
        self._path("sock").mkdir()  # libvirtd does not create unix_sock_dir itself
        config = self._path("libvirtd.conf")
        config.write_text(f'unix_sock_dir = "{self._path("sock")}"\nauth_unix_rw = "none"\n')
        command = [libvirtd, "-f", str(config)]
        if os.geteuid() == 0:  # a uid other than 0 is what makes libvirtd a session daemon
            command = ["unshare", "--user", "--map-user=1000", "--map-group=1000", *command]
        with open(self.log, "wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "nova_ws.testing.reaper", "--parent", str(os.getpid()),
                 *command], env=env,
                cwd=self.dir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop(check=False)
            raise

    def _environment(self) -> dict[str, str]:
        """A clean environment whose HOME and XDG directories are all in ours."""
        package_root = str(Path(__file__).resolve().parents[2])
        return {
            "PATH": _SYSTEM_PATH, "PYTHONPATH": package_root, "LC_ALL": "C",
            "HOME": str(self._path("home")), "XDG_CONFIG_HOME": str(self._path("config")),
            "XDG_RUNTIME_DIR": str(self._path("run")), "XDG_CACHE_HOME": str(self._path("cache")),
        }

    def _wait_until_answering(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.timeout
        socket_path, last_error = self._path("sock", "libvirt-sock"), "its socket never appeared"
        while time.monotonic() < deadline:
            if socket_path.exists():
                try:
                    conn = libvirt.open(self.uri)
                    try:
                        conn.getVersion()  # the QEMU driver answers (and has probed QEMU)
                        return
                    finally:
                        conn.close()
                except libvirt.libvirtError as exc:
                    last_error = str(exc)
            try:
                code = self._process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise LibvirtdError(f"libvirtd exited with status {code}: {self._log_tail()}")
        raise LibvirtdError(
            f"libvirtd did not answer at {self.uri} within {self.timeout} s ({last_error}); "
            f"is {PACKAGES} installed? {self._log_tail()}")

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "log: " + " | ".join(text.strip().splitlines()[-lines:])

    # -- processes ---------------------------------------------------------

    def processes(self) -> dict[int, list[str]]:
        """Every live process the daemon started (libvirtd, virtlogd, QEMU): pid -> argv."""
        return {} if self._process is None else _descendants(self._process.pid)

    def guest_pids(self, domain_name: str) -> list[int]:
        """The pids of the QEMU processes running the domain named *domain_name*."""
        wanted = f"guest={domain_name},"
        return [pid for pid, argv in self.processes().items()
                if any(arg.startswith(wanted) or arg == f"guest={domain_name}" for arg in argv)]

    # -- stop --------------------------------------------------------------

    def stop(self, check: bool = True) -> None:
        """Destroy and undefine every guest, stop libvirtd, remove the directory.

        With *check*, LibvirtdError if a guest could not be destroyed or a
        process the daemon started outlived it (it is killed first).
        """
        problems: list[str] = []
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                problems += self._remove_guests()
            problems += self._terminate(process)
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if check and problems:
            raise LibvirtdError("; ".join(problems))

    def _remove_guests(self) -> list[str]:
        problems = []
        try:
            conn = libvirt.open(self.uri)
        except libvirt.libvirtError as exc:
            return [f"cannot connect to remove the guests: {exc}"]
        try:
            for dom in conn.listAllDomains(0):
                try:
                    if dom.isActive():
                        dom.destroy()  # a transient guest is then gone
                    if dom.isPersistent():
                        dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
                except libvirt.libvirtError as exc:
                    if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                        problems.append(f"guest {dom.name()}: {exc}")
        finally:
            conn.close()
        return problems

    def _terminate(self, process: subprocess.Popen[bytes]) -> list[str]:
        """SIGTERM the reaper (so libvirtd, then what it left); SIGKILL all after timeout."""
        survivors = _descendants(process.pid)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            survivors.update(_descendants(process.pid))
            process.kill()
            process.wait()
        leftover = {pid: argv for pid, argv in survivors.items() if _argv(pid) == argv}
        for pid in leftover:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return [f"process {pid} outlived libvirtd: {' '.join(argv)}"
                for pid, argv in sorted(leftover.items())]

    def __enter__(self) -> LibvirtDaemon:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop(check=kind is None)


def _descendants(root: int) -> dict[int, list[str]]:
    """Every live descendant of process *root*: pid -> argv."""
    found: dict[int, list[str]] = {}
    pending = _children(root)
    while pending:
        pid = pending.pop()
        argv = _argv(pid)
        if argv is not None:
            found[pid] = argv
        pending += _children(pid)
    return found


def _children(pid: int) -> list[int]:
    """The pids of *pid*'s children; none if it is gone."""
    pids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return pids
    for task in tasks:
        try:
            pids += [int(child) for child in
                     Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except FileNotFoundError:
            pass
    return pids


def _argv(pid: int) -> list[str] | None:
    """*pid*'s command line; None if it is gone or a zombie (whose is empty)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg] or None
