"""Protocol-aware stages between the browser and the guest: the proxy's seam.

A session's bytes go through at most one ``StreamShim``; ``shim_for`` picks
it from the ``ConsoleTarget``. A shim gets each chunk from either side and
writes whatever it likes to either side, so it can filter (``ViewOnlyShim``)
or speak for one side: the RFB security proxy (``rfb_security``) answers the
guest's security itself and offers the browser security type None.

A shim may also define the ``GuestHooks`` methods: the proxy then hands it a
way to upgrade the guest connection to TLS once it is up, and tells it when
the guest connection closes.

A shim raises ``ShimError`` to end the session as a protocol error, and
``GuestAuthError`` when the proxy could not authenticate to the guest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from twisted.python.failure import Failure

from nova_ws.console.interfaces import ConsoleTarget
from nova_ws.console.rfb_filter import RFBFilterError, ViewOnlyFilter

Write = Callable[[bytes], None]
#: Upgrades the guest connection to TLS with the given client TLS options (``startTLS``).
StartTLS = Callable[[Any], None]


class ShimError(Exception):
    """The stream broke a shim's protocol; the session must end."""


class GuestAuthError(ShimError):
    """The proxy could not authenticate to the guest (or would not accept its security)."""


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


class GuestHooks(Protocol):
    """Optional shim methods the proxy calls when a shim defines them."""

    def guest_connected(self, start_tls: StartTLS | None) -> None:
        """The guest connection is up; ``start_tls`` (None when impossible) upgrades it."""

    def guest_lost(self, reason: Failure) -> None:
        """The guest connection closed (raise to end the session with that error)."""


ShimFactory = Callable[[ConsoleTarget, Write, Write], "StreamShim | None"]


def shim_for(target: ConsoleTarget, to_guest: Write, to_browser: Write) -> StreamShim | None:
    """The default shim: raw pipes, but never the guest's password to the browser.

    A VNC target with a password gets the RFB security proxy with its default
    configuration (VNC authentication or None; view-only filtering inside it),
    so the browser never sees the password; other view-only VNC targets get
    view-only filtering; everything else none (raw pipe). ``nova-novncproxy``
    uses ``rfb_security.RFBSecurityShims`` instead, for every VNC session.
    """
    if target.console_type == "novnc" and target.password is not None:
        from nova_ws.console.rfb_security import RFBSecurityProxy

        return RFBSecurityProxy(target, to_guest, to_browser)
    if target.view_only and target.console_type == "novnc":
        return ViewOnlyShim(to_guest, to_browser)
    return None
