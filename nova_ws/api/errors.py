"""Errors the APIs answer with, in each API's own format.

Compute answers Nova's fault format, ``{"itemNotFound": {"code": 404,
"message": "..."}}``; a handler raises :class:`Fault` (or one of its named
subclasses) and the app turns it into that body and status. Nothing a client
sends may produce a 500: unexpected exceptions are logged and answered as
``computeFault`` without internals.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.logger import Logger

log = Logger()

NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
         405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest",
         413: "overLimit", 415: "badMediaType", 429: "overLimit", 500: "computeFault",
         501: "notImplemented", 503: "serviceUnavailable"}


class Fault(Exception):
    """An error answer: HTTP status and a message for the client."""

    status = 500

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def headers(self) -> dict[bytes, bytes]:
        """Extra response headers this error needs (none by default)."""
        return {}

    def body(self) -> dict[str, Any]:
        """Nova's fault document."""
        return {NAMES.get(self.status, "computeFault"): {"code": self.status,
                                                         "message": self.message}}


class BadRequest(Fault):
    """400: the request is malformed or invalid."""

    status = 400


class Unauthorized(Fault):
    """401: no valid token."""

    status = 401


class Forbidden(Fault):
    """403: the token's roles do not allow this."""

    status = 403


class NotFound(Fault):
    """404: no such resource (also for other projects' resources)."""

    status = 404


class NotAcceptable(Fault):
    """406: an unsupported microversion."""

    status = 406


class Conflict(Fault):
    """409: the resource's state does not allow the action."""

    status = 409


def routing_fault(error: Any) -> Fault:
    """The fault for a routing error of Klein's router (its 404 or 405), in place of its
    HTML page: no route takes the path (one with a line break, say) or the method.
    """
    code = getattr(error, "code", None) or 404
    if code == 404:
        return NotFound("The resource could not be found.")
    if code == 405:
        return Fault("The method is not allowed for the requested URL.", 405)
    return Fault(str(getattr(error, "description", None) or "Bad request."), code)


def render_fault(request: Any, fault: Fault) -> bytes:
    """Set status and headers on *request* and return the fault body."""
    request.setResponseCode(fault.status)
    request.setHeader(b"Content-Type", b"application/json")
    for name, value in fault.headers().items():
        request.setHeader(name, value)
    return json.dumps(fault.body()).encode()


def render_unexpected(request: Any, failure: Any, fault: Fault | None = None) -> bytes:
    """Log an unexpected error once and answer *fault* (a bare computeFault by default)."""
    log.failure("unexpected error answering {method} {path}", failure,
                method=request.method, path=request.path)
    return render_fault(request, fault or Fault("The server has either erred or is "
                                                "incapable of performing the requested "
                                                "operation."))
