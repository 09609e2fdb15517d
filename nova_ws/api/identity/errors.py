"""
Errors in Keystone's format: C{{"error": {"code": 401, "title":
"Unauthorized", "message": "..."}}}. A handler raises L{IdentityError} (or a
named subclass) and the app renders it; unexpected exceptions are logged and
answered as a bare 500.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from nova_ws.api import errors
from nova_ws.api.errors import Fault, render_fault


class IdentityError(Fault):
    """An error answer in Keystone's format: HTTP status and a message."""

    def headers(self) -> dict[bytes, bytes]:
        """A 401 tells the client where to authenticate, as Keystone does."""
        return {b"WWW-Authenticate": b'Keystone uri="identity"'} if self.status == 401 else {}

    def body(self) -> dict[str, Any]:
        """Keystone's error document."""
        title = HTTPStatus(self.status).phrase
        return {"error": {"code": self.status, "title": title, "message": self.message}}


class BadRequest(IdentityError):
    """400: the body is malformed or invalid."""

    status = 400


class Unauthorized(IdentityError):
    """401: no valid token or credentials."""

    status = 401

    def __init__(self, message: str = "The request you have made requires authentication."
                 ) -> None:
        super().__init__(message)


class Forbidden(IdentityError):
    """403: the token's roles do not allow this."""

    status = 403

    def __init__(self, message: str = "You are not authorized to perform the requested "
                 "action.") -> None:
        super().__init__(message)


class NotFound(IdentityError):
    """404: no such resource."""

    status = 404


class Conflict(IdentityError):
    """409: a duplicate."""

    status = 409


class NotImplemented_(IdentityError):
    """501: a Keystone feature this subset does not have."""

    status = 501


def render(request: Any, error: IdentityError) -> bytes:
    """Set status and headers on C{request} and return the error body."""
    return render_fault(request, error)


def render_unexpected(request: Any, failure: Any) -> bytes:
    """Log an unexpected error once and answer a bare 500."""
    return errors.render_unexpected(request, failure, IdentityError(
        "An unexpected error prevented the server from fulfilling your request."))
