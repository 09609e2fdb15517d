"""
The Identity v3 Klein app, mounted at C{/identity}: version discovery,
tokens, users, projects, roles, grants and EC2 credentials.

Authorization follows Keystone's default policy where it matters to the
clients: listing and creating users and projects, listing roles and granting
them need the C{admin} role on the token's project; a user may read itself,
validate or revoke its own tokens, and manage its own EC2 credentials.
Every database call goes through L{Database.run}.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from klein import Klein
from twisted.internet.interfaces import IReactorTime
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as NoRoute

from nova_ws.api.identity import bodies, operations, views
from nova_ws.api.identity.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    IdentityError,
    NotFound,
    Unauthorized,
    render,
    render_unexpected,
)
from nova_ws.db import errors as db_errors
from nova_ws.db.engine import Database
from nova_ws.db.queries import identity as q


def _json(request: Any, body: Any, status: int = 200) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    return json.dumps(body).encode()


def _empty(request: Any, status: int = 204) -> bytes:
    request.setResponseCode(status)
    return b""


def _arg(request: Any, name: str) -> str | None:
    values = request.args.get(name.encode())
    return values[0].decode("utf-8", "replace") if values else None


def _flag(request: Any, name: str) -> bool:
    """Whether the query string has C{name}, with or without a value (C{?nocatalog})."""
    query = request.uri.partition(b"?")[2]
    return name.encode() in (part.partition(b"=")[0] for part in query.split(b"&"))


class IdentityApi:
    """
    The Identity API. C{clock} (C{IReactorTime}) gives the time tokens are
    issued and checked at; C{public_url} is the server's base URL (no
    trailing slash), from which the catalog and links are made; C{codec}
    seals and unseals EC2 secrets (L{credential_keys.CredentialKeys}).
    """

    app = Klein()

    def __init__(self, db: Database, clock: IReactorTime, token_ttl: float = 3600.0, *,
                 public_url: str = "http://127.0.0.1:8774",
                 codec: q.SecretCodec = q.PLAIN) -> None:
        self.db = db
        self.codec = codec  # how EC2 secrets are sealed at rest
        self.clock = clock
        self.token_ttl = timedelta(seconds=token_ttl)
        self.public_url = public_url.rstrip("/")
        self.base = self.public_url + "/identity"

    def resource(self) -> Any:
        """The Twisted resource to mount at C{/identity}."""
        return self.app.resource()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.seconds(), UTC)

    async def _token(self, request: Any) -> q.Token:
        token = request.getHeader(b"X-Auth-Token")
        if not token:
            raise Unauthorized()
        return await self.db.run(operations.validate, token.decode("utf-8", "replace"),
                                 now=self._now())

    async def _admin(self, request: Any) -> q.Token:
        token = await self._token(request)
        if not _is_admin(token):
            raise Forbidden()
        return token

    async def _admin_or_self(self, request: Any, user_id: str) -> q.Token:
        token = await self._token(request)
        if token.user.id != user_id and not _is_admin(token):
            raise Forbidden()
        return token

    # -- errors ---------------------------------------------------------------

    @app.handle_errors(IdentityError)
    def _identity_error(self, request: Any, failure: Any) -> bytes:
        return render(request, failure.value)

    @app.handle_errors(db_errors.NotFound)
    def _db_not_found(self, request: Any, failure: Any) -> bytes:
        return render(request, NotFound(f"Could not find {failure.value}."))

    @app.handle_errors(db_errors.Conflict)
    def _db_conflict(self, request: Any, failure: Any) -> bytes:
        return render(request, Conflict(f"Conflict occurred attempting to store {failure.value}"))

    @app.handle_errors(NoRoute)
    def _no_route(self, request: Any, failure: Any) -> bytes:
        return render(request, NotFound("The resource could not be found."))

    @app.handle_errors(MethodNotAllowed)
    def _bad_method(self, request: Any, failure: Any) -> bytes:
        return render(request, IdentityError("The method is not allowed.", 405))

    @app.handle_errors(Exception)
    def _unexpected(self, request: Any, failure: Any) -> bytes:
        return render_unexpected(request, failure)

    # -- versions -------------------------------------------------------------

    @app.route("/", methods=["GET"])
    def versions(self, request: Any) -> bytes:
        """Every version, as Keystone answers: 300 Multiple Choices."""
        return _json(request, views.versions(self.base), 300)

    @app.route("/v3", methods=["GET"])
    @app.route("/v3/", methods=["GET"])
    def version(self, request: Any) -> bytes:
        """The v3 version document."""
        return _json(request, {"version": views.version(self.base)})

    # -- tokens ---------------------------------------------------------------

    @app.route("/v3/auth/tokens", methods=["POST"])
    async def issue(self, request: Any) -> bytes:
        """Authenticate (password or token) and issue a token: 201 and X-Subject-Token."""
        auth = bodies.auth_request(bodies.read_json(request))
        token, record = await self.db.run(operations.authenticate, auth, now=self._now(),
                                          ttl=self.token_ttl)
        request.setHeader(b"X-Subject-Token", token.encode())
        return _json(request, views.token(record, self.public_url), 201)

    async def _subject(self, request: Any) -> tuple[str, q.Token]:
        auth = await self._token(request)
        subject = request.getHeader(b"X-Subject-Token")
        if not subject:
            raise BadRequest("The X-Subject-Token header is required.")
        subject_token = subject.decode("utf-8", "replace")
        record = await self.db.run(q.validate_token, subject_token, now=self._now())
        if record is None:
            raise NotFound("Could not find token.")
        if record.user.id != auth.user.id and not _is_admin(auth):
            raise Forbidden()
        return subject_token, record

    @app.route("/v3/auth/tokens", methods=["GET", "HEAD"])
    async def check(self, request: Any) -> bytes:
        """Validate X-Subject-Token (200 with its body, or 404)."""
        subject, record = await self._subject(request)
        body = views.token(record, self.public_url)
        if _flag(request, "nocatalog"):
            body["token"].pop("catalog", None)
        request.setHeader(b"X-Subject-Token", subject.encode())
        return _json(request, body)

    @app.route("/v3/auth/tokens", methods=["DELETE"])
    async def revoke(self, request: Any) -> bytes:
        """Revoke X-Subject-Token: 204."""
        subject, _ = await self._subject(request)
        await self.db.run(q.revoke_token, subject, now=self._now())
        return _empty(request)

    @app.route("/v3/auth/projects", methods=["GET"])
    async def auth_projects(self, request: Any) -> bytes:
        """The projects the token's user holds a role on."""
        token = await self._token(request)
        projects = await self.db.run(q.list_projects, user_id=token.user.id)
        return _json(request, views.collection(
            "projects", [views.project(p, self.base) for p in projects],
            f"{self.base}/v3/auth/projects"))

    # -- users ----------------------------------------------------------------

    @app.route("/v3/users", methods=["GET"])
    async def list_users(self, request: Any) -> bytes:
        """Users (admin), optionally filtered by C{?name=}."""
        await self._admin(request)
        users = await self.db.run(q.list_users, name=_arg(request, "name"))
        return _json(request, views.collection(
            "users", [views.user(u, self.base) for u in users], f"{self.base}/v3/users"))

    @app.route("/v3/users", methods=["POST"])
    async def create_user(self, request: Any) -> bytes:
        """Create a user (admin): 201, or 409 if the name is taken in the domain."""
        await self._admin(request)
        data = bodies.obj(bodies.read_json(request), "user")
        user = await self.db.run(
            operations.create_user, name=bodies.required_string(data, "name"),
            password=bodies.string(data, "password", required=False, max_length=4096),
            domain_id=bodies.string(data, "domain_id", required=False, max_length=64)
            or q.DEFAULT_DOMAIN_ID,
            default_project_id=bodies.string(data, "default_project_id", required=False,
                                             max_length=64),
            enabled=bodies.boolean(data, "enabled", True), now=self._now())
        return _json(request, {"user": views.user(user, self.base)}, 201)

    @app.route("/v3/users/<user_id>", methods=["GET"])
    async def show_user(self, request: Any, user_id: str) -> bytes:
        """One user (admin, or the user itself)."""
        await self._admin_or_self(request, user_id)
        user = await self.db.run(q.get_user, user_id)
        return _json(request, {"user": views.user(user, self.base)})

    @app.route("/v3/users/<user_id>/projects", methods=["GET"])
    async def user_projects(self, request: Any, user_id: str) -> bytes:
        """The projects a user holds a role on (admin, or the user itself)."""
        await self._admin_or_self(request, user_id)
        projects = await self.db.run(q.list_projects, user_id=user_id)
        return _json(request, views.collection(
            "projects", [views.project(p, self.base) for p in projects],
            f"{self.base}/v3/users/{user_id}/projects"))

    # -- projects and roles ---------------------------------------------------

    @app.route("/v3/projects", methods=["GET"])
    async def list_projects(self, request: Any) -> bytes:
        """Projects (admin), optionally filtered by C{?name=}."""
        await self._admin(request)
        projects = await self.db.run(q.list_projects, name=_arg(request, "name"))
        return _json(request, views.collection(
            "projects", [views.project(p, self.base) for p in projects],
            f"{self.base}/v3/projects"))

    @app.route("/v3/projects", methods=["POST"])
    async def create_project(self, request: Any) -> bytes:
        """Create a project (admin): 201, or 409 if the name is taken in the domain."""
        await self._admin(request)
        data = bodies.obj(bodies.read_json(request), "project")
        project = await self.db.run(
            operations.create_project, name=bodies.required_string(data, "name"),
            domain_id=bodies.string(data, "domain_id", required=False, max_length=64)
            or q.DEFAULT_DOMAIN_ID,
            description=bodies.text(data, "description"),
            enabled=bodies.boolean(data, "enabled", True), now=self._now())
        return _json(request, {"project": views.project(project, self.base)}, 201)

    @app.route("/v3/projects/<project_id>", methods=["GET"])
    async def show_project(self, request: Any, project_id: str) -> bytes:
        """One project (admin, or a token scoped to it)."""
        token = await self._token(request)
        in_project = token.project is not None and token.project.id == project_id
        if not in_project and not _is_admin(token):
            raise Forbidden()
        project = await self.db.run(q.get_project, project_id)
        return _json(request, {"project": views.project(project, self.base)})

    @app.route("/v3/roles", methods=["GET"])
    async def list_roles(self, request: Any) -> bytes:
        """Roles (admin), optionally filtered by C{?name=}."""
        await self._admin(request)
        name = _arg(request, "name")
        roles = [r for r in await self.db.run(q.list_roles) if name is None or r.name == name]
        return _json(request, views.collection(
            "roles", [views.role(r, self.base) for r in roles], f"{self.base}/v3/roles"))

    @app.route("/v3/projects/<project_id>/users/<user_id>/roles/<role_id>", methods=["PUT"])
    async def grant(self, request: Any, project_id: str, user_id: str, role_id: str) -> bytes:
        """Grant a role on a project to a user (admin): 204."""
        await self._admin(request)
        await self.db.run(operations.grant, project_id, user_id, role_id, now=self._now())
        return _empty(request)

    # -- EC2 credentials ------------------------------------------------------

    @app.route("/v3/users/<user_id>/credentials/OS-EC2", methods=["GET"])
    async def list_ec2(self, request: Any, user_id: str) -> bytes:
        """The user's EC2 credentials (admin, or the user itself)."""
        await self._admin_or_self(request, user_id)
        creds = await self.db.run(q.list_ec2_credentials, user_id, codec=self.codec)
        return _json(request, views.collection(
            "credentials", [views.ec2_credential(c, self.base) for c in creds],
            f"{self.base}/v3/users/{user_id}/credentials/OS-EC2"))

    @app.route("/v3/users/<user_id>/credentials/OS-EC2", methods=["POST"])
    async def create_ec2(self, request: Any, user_id: str) -> bytes:
        """New EC2 credentials for a project the user holds a role on: 201."""
        await self._admin_or_self(request, user_id)
        project_id = bodies.required_string(bodies.read_json(request), "tenant_id",
                                            max_length=64)
        cred = await self.db.run(operations.create_ec2, user_id, project_id, now=self._now(),
                                 codec=self.codec)
        return _json(request, {"credential": views.ec2_credential(cred, self.base)}, 201)

    @app.route("/v3/users/<user_id>/credentials/OS-EC2/<access>", methods=["GET"])
    async def show_ec2(self, request: Any, user_id: str, access: str) -> bytes:
        """One of the user's EC2 credentials."""
        await self._admin_or_self(request, user_id)
        cred = await self.db.run(q.get_ec2_credential, access, codec=self.codec)
        if cred.user_id != user_id:
            raise NotFound("Could not find the EC2 credential.")
        return _json(request, {"credential": views.ec2_credential(cred, self.base)})

    @app.route("/v3/users/<user_id>/credentials/OS-EC2/<access>", methods=["DELETE"])
    async def delete_ec2(self, request: Any, user_id: str, access: str) -> bytes:
        """Delete one of the user's EC2 credentials: 204."""
        await self._admin_or_self(request, user_id)
        await self.db.run(q.delete_ec2_credential, user_id, access)
        return _empty(request)


def _is_admin(token: q.Token) -> bool:
    return token.project is not None and "admin" in token.role_names
