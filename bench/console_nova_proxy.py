"""nova_ws's console proxy alone in its process, for the console benchmark.

    python bench/console_nova_proxy.py --source P --sink P --idle P
                                       [--consoles N] [--profile PREFIX]

``ConsoleProxyFactory`` (console type ``novnc``, default ``ProxyConfig``)
with a ``MemoryTokenValidator`` holding tokens ``source-<i>``, ``sink-<i>``
and ``idle-<i>`` for i < N, leading to the guest's ports of those names on
127.0.0.1, each token for its own user (so the per-user cap is not what the
many-console run measures). Listens on a free port of 127.0.0.1, prints
``{"port": P}`` as one JSON line and serves until SIGTERM. Only warnings and
errors are logged (to stderr). With ``--profile PREFIX``, SIGUSR1 starts
cProfile and SIGUSR2 stops it and writes that window's statistics to
``PREFIX.<n>`` (n = 0, 1, ...), so only the measured windows are profiled.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import signal
import sys

from twisted.internet import epollreactor

epollreactor.install()

from twisted.internet import reactor  # noqa: E402
from twisted.logger import (  # noqa: E402
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)

from nova_ws.console.interfaces import ConsoleTarget  # noqa: E402
from nova_ws.console.memory import MemoryTokenValidator  # noqa: E402
from nova_ws.console.proxy import ConsoleProxyFactory, ProxyConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    for kind in ("source", "sink", "idle"):
        parser.add_argument(f"--{kind}", type=int, required=True, help=f"guest's {kind} port")
    parser.add_argument("--consoles", type=int, default=1100, help="tokens of each kind")
    parser.add_argument("--profile", metavar="PREFIX")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    globalLogBeginner.beginLoggingTo(
        [FilteringLogObserver(textFileLogObserver(sys.stderr),
                              [LogLevelFilterPredicate(LogLevel.warn)])],
        redirectStandardIO=False)
    validator = named_tokens(args)
    factory = ConsoleProxyFactory(validator, ProxyConfig("novnc"), reactor)
    port = reactor.listenTCP(0, factory, backlog=1024, interface="127.0.0.1")
    print(json.dumps({"port": port.getHost().port}), flush=True)  # type: ignore[attr-defined]
    if args.profile:
        windows = ProfileWindows(args.profile)
        signal.signal(signal.SIGUSR1, windows.begin)
        signal.signal(signal.SIGUSR2, windows.end)
    reactor.run()


class ProfileWindows:
    """cProfile from SIGUSR1 to SIGUSR2; each window's statistics to ``<prefix>.<n>``."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.count = prefix, 0
        self.profile: cProfile.Profile | None = None

    def begin(self, *_: object) -> None:
        self.profile = cProfile.Profile()
        self.profile.enable()

    def end(self, *_: object) -> None:
        if self.profile is None:
            return
        self.profile.disable()
        self.profile.dump_stats(f"{self.prefix}.{self.count}")
        self.profile, self.count = None, self.count + 1


def named_tokens(args: argparse.Namespace) -> MemoryTokenValidator:
    """A validator whose tokens are ``<kind>-<i>``, so the client knows them."""
    validator = MemoryTokenValidator(reactor)
    expires = reactor.seconds() + 86400.0
    for kind in ("source", "sink", "idle"):
        for i in range(args.consoles):
            validator.issue(ConsoleTarget(
                instance_uuid=f"00000000-0000-4000-8000-{i:012d}", console_type="novnc",
                host="127.0.0.1", port=getattr(args, kind), expires_at=expires,
                token_id=f"{kind}-{i}", user_id=f"user-{i}", project_id=f"project-{i}"),
                token=f"{kind}-{i}")
    return validator


if __name__ == "__main__":
    main()
