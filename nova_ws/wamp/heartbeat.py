"""Every service reports itself alive to the conductor, Nova's servicegroup way.

The conductor records each heartbeat (``report_count``, ``last_seen_up``);
a service is up while its last heartbeat is younger than
``service_down_time``. A disabled service keeps beating: disabled and down
are different things.
"""

from __future__ import annotations

from typing import Any

from twisted.application.service import Service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from nova_ws.conductor.rpcapi import ConductorAPI

log = Logger()


class Heartbeat(Service):
    """Calls ``nova.conductor.service_heartbeat`` every *interval* seconds."""

    def __init__(self, conductor: ConductorAPI, binary: str, host: str, topic: str,
                 zone: str, interval: float, clock: Any, joined: Any = None) -> None:
        self.conductor = conductor
        self.joined = joined  # a Deferred-returning callable: start after the first join
        self.binary, self.host, self.topic, self.zone = binary, host, topic, zone
        self.interval = interval
        self.clock = clock
        self.disabled = False
        self._loop = LoopingCall(self.beat)
        self._loop.clock = clock

    def startService(self) -> None:
        super().startService()
        if self.joined is None:
            self._loop.start(self.interval, now=True)
        else:
            self.joined().addCallback(lambda _: self.running and not self._loop.running
                                      and self._loop.start(self.interval, now=True))

    def stopService(self) -> Any:
        super().stopService()
        if self._loop.running:
            self._loop.stop()

    def beat(self) -> Any:
        """One heartbeat; a failure is logged once per outage and retried next time."""
        d = self.conductor.service_heartbeat(self.binary, self.host, self.topic, self.zone)

        def ok(answer: Any) -> None:
            self.disabled = bool((answer or {}).get("disabled"))

        def failed(failure: Any) -> None:
            log.debug("{binary} on {host}: heartbeat failed: {why}", binary=self.binary,
                      host=self.host, why=failure.getErrorMessage())

        return d.addCallbacks(ok, failed)
