"""
Reading and validating request bodies: each reader raises L{BadRequest}
with a message naming the offending field, so no malformed body reaches
the database or turns into a 500.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nova_ws.api.identity.errors import BadRequest, NotImplemented_

MAX_BODY = 64 * 1024


def read_json(request: Any) -> dict[str, Any]:
    """The request's JSON object body; L{BadRequest} if it is not one."""
    raw = request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise BadRequest("The request body is too large.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON in the request body.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def obj(data: dict[str, Any], key: str, *, required: bool = True) -> dict[str, Any]:
    """C{data[key]}, which must be an object (C{{}} when optional and missing)."""
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"'{key}' is a required object.")
    return value


def string(data: dict[str, Any], key: str, *, required: bool = True,
           max_length: int = 255) -> str | None:
    """C{data[key]}, a non-empty string of at most C{max_length} (C{None} when optional)."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise BadRequest(f"'{key}' must be a non-empty string of at most {max_length} "
                         "characters.")
    return value


def required_string(data: dict[str, Any], key: str, *, max_length: int = 255) -> str:
    """C{data[key]}, a required non-empty string."""
    value = string(data, key, max_length=max_length)
    assert value is not None
    return value


def text(data: dict[str, Any], key: str, *, max_length: int = 65535) -> str | None:
    """C{data[key]}, an optional string that may be empty (C{None} when missing)."""
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > max_length):
        raise BadRequest(f"'{key}' must be a string of at most {max_length} characters.")
    return value


def boolean(data: dict[str, Any], key: str, default: bool) -> bool:
    """C{data[key]}, a boolean (C{default} when missing)."""
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise BadRequest(f"'{key}' must be a boolean.")
    return value


@dataclass(frozen=True)
class NamedRef:
    """Something named by id, or by name within a domain named by id or name."""

    id: str | None = None
    name: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None


def named_ref(data: dict[str, Any], what: str) -> NamedRef:
    """A L{NamedRef} from C{{"id"}} or C{{"name", "domain": {"id"|"name"}}}."""
    ref_id = string(data, "id", required=False, max_length=64)
    if ref_id is not None:
        return NamedRef(id=ref_id)
    name = string(data, "name", required=False)
    if name is None:
        raise BadRequest(f"The {what} needs an 'id', or a 'name' and a 'domain'.")
    domain = obj(data, "domain", required=False)
    return NamedRef(name=name, domain_id=string(domain, "id", required=False, max_length=64),
                    domain_name=string(domain, "name", required=False))


@dataclass(frozen=True)
class AuthRequest:
    """A parsed C{POST /v3/auth/tokens} body."""

    methods: tuple[str, ...]
    user: NamedRef | None
    password: str | None
    token: str | None
    project: NamedRef | None
    unscoped: bool


def auth_request(body: dict[str, Any]) -> AuthRequest:
    """Parse and check an authentication request (password or token method)."""
    auth = obj(body, "auth")
    identity = obj(auth, "identity")
    methods = identity.get("methods")
    if (not isinstance(methods, list) or not methods
            or not all(isinstance(m, str) for m in methods)):
        raise BadRequest("'methods' must be a non-empty list of strings.")
    unknown = set(methods) - {"password", "token"}
    if unknown:
        raise NotImplemented_(f"Authentication methods {sorted(unknown)} are not supported.")
    user = password = token = None
    if "password" in methods:
        user_data = obj(obj(identity, "password"), "user")
        user = named_ref(user_data, "user")
        password = string(user_data, "password", max_length=4096)
    elif "token" in methods:
        token = string(obj(identity, "token"), "id", max_length=1024)
    scope = auth.get("scope")
    project = None
    if scope is not None and scope != "unscoped":
        if not isinstance(scope, dict):
            raise BadRequest("'scope' must be an object.")
        if "project" not in scope:
            raise NotImplemented_("Only project scope is supported.")
        project = named_ref(obj(scope, "project"), "project")
    return AuthRequest(tuple(methods), user, password, token, project, scope == "unscoped")
