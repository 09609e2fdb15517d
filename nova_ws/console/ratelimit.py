"""Failed token checks per client address, in a sliding window.

A client address that failed ``limit`` token checks within the last
``window`` seconds is refused (HTTP 429) until its oldest failure in the
window ages out, so guessing tokens from one address is slow. Memory is
bounded: addresses whose failures have all aged out are forgotten, and at
most ``max_addresses`` are tracked (the least recently failing go first).
"""

from __future__ import annotations

from collections import OrderedDict, deque

from twisted.internet.interfaces import IReactorTime


class FailureLimiter:
    """Counts failures by address; ``blocked`` says when an address must wait."""

    def __init__(self, limit: int, window: float, clock: IReactorTime,
                 max_addresses: int = 65536) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be at least 1 and window positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max = max_addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _prune(self) -> None:
        """Forget addresses whose latest failure has aged out (oldest come first)."""
        horizon = self._clock.seconds() - self.window
        failures = self._failures
        while failures:
            address, times = next(iter(failures.items()))
            if times and times[-1] > horizon:
                break
            del failures[address]

    def _recent(self, address: str) -> deque[float] | None:
        self._prune()
        times = self._failures.get(address)
        if times is None:
            return None
        horizon = self._clock.seconds() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def blocked(self, address: str) -> bool:
        """Whether ``address`` has used up its failures for now."""
        times = self._recent(address)
        return times is not None and len(times) >= self.limit

    def failed(self, address: str) -> None:
        """Record one failed token check from ``address``."""
        times = self._recent(address)
        if times is None:
            times = self._failures[address] = deque()
        else:
            self._failures.move_to_end(address)
        times.append(self._clock.seconds())
        while len(times) > self.limit:
            times.popleft()
        while len(self._failures) > self._max:
            self._failures.popitem(last=False)

    def retry_after(self, address: str) -> float:
        """Seconds until ``address`` may try again (0 when it may now)."""
        times = self._recent(address)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(0.0, times[0] + self.window - self._clock.seconds())


def peer_host(peer: str) -> str:
    """The address part of Autobahn's peer string (``tcp:1.2.3.4:5678`` -> ``1.2.3.4``)."""
    if peer.startswith(("tcp4:", "tcp6:", "tcp:")):
        rest = peer.split(":", 1)[1]
        return rest.rsplit(":", 1)[0] if ":" in rest else rest
    return peer
