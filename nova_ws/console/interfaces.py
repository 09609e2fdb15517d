"""What the console proxy needs from the rest of the cloud, as swappable contracts.

``ITokenValidator`` turns a console token into a ``ConsoleTarget`` (where to
connect and on whose behalf). ``nova-consoleauth`` will implement it over WAMP;
``memory.MemoryTokenValidator`` is the in-memory one for tests and the
all-in-one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twisted.internet.defer import Deferred
from zope.interface import Interface

#: Console types the proxies serve (Nova's names).
CONSOLE_TYPES = ("novnc", "spice-html5", "serial")


class InvalidToken(Exception):
    """A console token was refused; ``reason`` says why and ``status`` is the HTTP status.

    ``status`` is 401 when the token is unknown or malformed, 403 when it is
    known but may not be used here (expired, revoked, other console type).
    """

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class ConsoleTarget:
    """Where a validated token leads, and on whose behalf.

    ``expires_at`` is in the proxy's reactor time (``IReactorTime.seconds``).
    ``password`` is the guest's VNC password: internal, never sent to the
    browser, and never part of ``repr``. ``token_id`` is an opaque id of the
    token (not the token itself) used to revoke live sessions.
    """

    instance_uuid: str
    console_type: str
    host: str
    port: int
    expires_at: float
    token_id: str
    user_id: str
    project_id: str
    tls: bool = False
    password: str | None = field(default=None, repr=False)
    view_only: bool = False


class ITokenValidator(Interface):
    """Validates console tokens for a proxy."""

    def validate(token: str, console_type: str) -> Deferred[ConsoleTarget]:
        """Check ``token`` for a console of ``console_type``.

        Success: fires with the ``ConsoleTarget`` the token is bound to; the
        token is valid now and ``target.console_type == console_type``.
        Failure: fails with ``InvalidToken`` (its ``reason`` and ``status``
        are shown to the client) when the token is unknown, expired, revoked
        or bound to another console type; any other failure means the
        validator itself is unavailable.
        """
