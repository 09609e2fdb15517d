"""Protocol-aware stages between the browser and the guest: the proxy's seam.

A session's bytes go through at most one ``StreamShim``; ``shim_for`` picks
it from the ``ConsoleTarget``. A shim gets each chunk from either side and
writes whatever it likes to either side, so it can filter (``ViewOnlyShim``)
or speak for one side -- the RFB security proxy (``rfb_security``, not yet
written) will answer the guest's VNC-auth challenge with ``target.password``
and offer the browser security type None, and plugs in here.

A shim raises ``ShimError`` to end the session as a protocol error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from nova_ws.console.interfaces import ConsoleTarget
from nova_ws.console.rfb_filter import RFBFilterError, ViewOnlyFilter

Write = Callable[[bytes], None]


class ShimError(Exception):
    """The stream broke a shim's protocol; the session must end."""


class StreamShim(Protocol):
    """One session's stage between browser and guest."""

    def from_browser(self, data: bytes) -> None:
        """Handle bytes the browser sent (write on with the shim's writers)."""

    def from_guest(self, data: bytes) -> None:
        """Handle bytes the guest sent."""


class ViewOnlyShim:
    """Drops the browser's RFB input messages (``rfb_filter``); the guest's bytes pass."""

    def __init__(self, to_guest: Write, to_browser: Write) -> None:
        self._to_guest = to_guest
        self._to_browser = to_browser
        self.filter = ViewOnlyFilter()

    def from_browser(self, data: bytes) -> None:
        try:
            passed = self.filter.feed(data)
        except RFBFilterError as error:
            raise ShimError(str(error)) from error
        if passed:
            self._to_guest(passed)

    def from_guest(self, data: bytes) -> None:
        self._to_browser(data)


ShimFactory = Callable[[ConsoleTarget, Write, Write], "StreamShim | None"]


def shim_for(target: ConsoleTarget, to_guest: Write, to_browser: Write) -> StreamShim | None:
    """The default shim: view-only filtering for VNC targets, else none (raw pipe)."""
    if target.view_only and target.console_type == "novnc":
        return ViewOnlyShim(to_guest, to_browser)
    return None
