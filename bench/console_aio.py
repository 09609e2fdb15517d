"""The all-in-one alone in its process, for the console benchmark's open-time part.

    python bench/console_aio.py --state DIR

Starts ``nova_ws.testing.allinone.start_allinone`` (every service, SQLite
and the fake driver, on free ports) with its state in DIR, waits until every
service with a WAMP client has joined the router, prints one JSON line
(``api``, ``auth_url``, the ``demo`` and ``admin`` passwords and the
configured ``novncproxy_base_url``) and serves until SIGTERM. Warnings and
errors are logged to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import txaio
from twisted.internet import epollreactor

epollreactor.install()
txaio.use_twisted()

from twisted.internet import reactor  # noqa: E402
from twisted.internet.defer import ensureDeferred  # noqa: E402
from twisted.logger import (  # noqa: E402
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)

from nova_ws.testing.allinone import start_allinone  # noqa: E402

JOIN_TIMEOUT = 120.0


async def start(state: Path) -> None:
    aio = start_allinone(state)
    reactor.addSystemEventTrigger("before", "shutdown", aio.service.stopService)
    waiting = []
    for service in aio.service:
        client = getattr(service, "client", None)
        if client is not None and hasattr(client, "when_joined"):
            waiting.append((service.name, client.when_joined()))
    for name, joined in waiting:
        joined.addTimeout(JOIN_TIMEOUT, reactor)
        try:
            await joined
        except Exception as error:  # noqa: BLE001 - reported, then the process ends
            raise SystemExit(f"{name} did not join the router: {error!r}") from error
    vnc: Any = getattr(aio.config, "vnc", None)
    print(json.dumps({
        "api": aio.api,
        "auth_url": aio.credentials.auth_url,
        "demo_password": aio.credentials.demo_password,
        "admin_password": aio.credentials.admin_password,
        "novncproxy_base_url": getattr(vnc, "novncproxy_base_url", None),
        "services": [service.name for service in aio.service],
    }), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", type=Path, required=True)
    args = parser.parse_args()
    globalLogBeginner.beginLoggingTo(
        [FilteringLogObserver(textFileLogObserver(sys.stderr),
                              [LogLevelFilterPredicate(LogLevel.warn)])],
        redirectStandardIO=False)

    def failed(failure: Any) -> None:
        print(f"all-in-one failed to start: {failure.getTraceback()}", file=sys.stderr)
        reactor.stop()

    reactor.callWhenRunning(lambda: ensureDeferred(start(args.state)).addErrback(failed))
    reactor.run()


if __name__ == "__main__":
    main()
