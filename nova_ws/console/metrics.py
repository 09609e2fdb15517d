"""Counters a console proxy keeps for a metrics endpoint, and its per-session record."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ProxyMetrics:
    """Totals since the proxy started; ``open_sessions`` is the current count.

    ``refusals`` counts refused handshakes by reason and ``closes`` ended
    sessions by close reason. ``browser_reads_paused`` counts the times the
    guest's full write buffer paused reading from the browser, and
    ``guest_reads_paused`` the times the browser's paused reading from the guest.
    ``channels_joined`` counts connections admitted as further channels of
    an open console (SPICE), whose token was not validated again.
    """

    open_sessions: int = 0
    total_sessions: int = 0
    bytes_to_guest: int = 0
    bytes_to_browser: int = 0
    browser_reads_paused: int = 0
    guest_reads_paused: int = 0
    channels_joined: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    closes: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        """A plain snapshot, for JSON."""
        return {
            "open_sessions": self.open_sessions,
            "total_sessions": self.total_sessions,
            "bytes_to_guest": self.bytes_to_guest,
            "bytes_to_browser": self.bytes_to_browser,
            "browser_reads_paused": self.browser_reads_paused,
            "guest_reads_paused": self.guest_reads_paused,
            "channels_joined": self.channels_joined,
            "refusals": dict(self.refusals),
            "closes": dict(self.closes),
        }


@dataclass
class SessionRecord:
    """What is logged once when a session ends."""

    peer: str
    opened_at: float
    user_id: str = ""
    project_id: str = ""
    instance_uuid: str = ""
    console_type: str = ""
    bytes_to_guest: int = 0
    bytes_to_browser: int = 0
    close_code: int | None = None
    close_reason: str = ""
