"""Who is asking: the request context built from ``X-Auth-Token``, and policy.

Every versioned Compute request except version discovery carries a token;
it is validated through the database into a :class:`RequestContext`. The
policy is Nova's default one, kept small: ``admin`` sees and changes every
project's resources; ``member`` its own project's; ``reader`` may only read.
A server of another project is answered as not found, never as forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nova_ws.api.errors import Forbidden, Unauthorized
from nova_ws.db.queries import identity

UNAUTHORIZED = "The request you have made requires authentication."


@dataclass(frozen=True)
class RequestContext:
    """The token's user, project and roles."""

    user_id: str
    project_id: str
    roles: frozenset[str]
    is_admin: bool

    @property
    def can_write(self) -> bool:
        """Whether the roles allow changes (a reader's do not)."""
        return self.is_admin or "member" in self.roles

    def require_write(self) -> None:
        """Raise 403 unless the roles allow changes."""
        if not self.can_write:
            raise Forbidden("Policy doesn't allow this action to be performed.")

    def require_admin(self, rule: str = "this action") -> None:
        """Raise 403 unless the context is an admin's."""
        if not self.is_admin:
            raise Forbidden(f"Policy doesn't allow {rule} to be performed.")

    def may_see(self, project_id: str) -> bool:
        """Whether a resource of *project_id* exists for this context."""
        return self.is_admin or project_id == self.project_id


async def authenticate(db: Any, request: Any) -> RequestContext:
    """The context of the request's token; 401 when it is missing, invalid or unscoped."""
    raw = request.getHeader(b"X-Auth-Token")
    if not raw:
        raise Unauthorized(UNAUTHORIZED)
    token = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    record = await db.run(identity.validate_token, token)
    if record is None or record.project is None:
        raise Unauthorized(UNAUTHORIZED)
    roles = record.role_names
    return RequestContext(record.user.id, record.project.id, roles, "admin" in roles)
