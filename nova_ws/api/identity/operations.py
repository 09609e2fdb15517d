"""
The Identity API's transactions: plain functions taking a C{Session} that
compose L{nova_ws.db.queries.identity} calls and raise the API's errors, so
each request makes one trip to the database thread (L{Database.run}).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from nova_ws.api.identity.bodies import AuthRequest, NamedRef
from nova_ws.api.identity.errors import BadRequest, Forbidden, NotFound, Unauthorized
from nova_ws.db import errors as db_errors
from nova_ws.db.queries import identity as q


def _project_id(session: Session, ref: NamedRef) -> str:
    try:
        if ref.id is not None:
            project = q.get_project(session, ref.id)
        else:
            assert ref.name is not None
            project = q.find_project(session, ref.name, domain_id=ref.domain_id,
                                     domain_name=ref.domain_name)
    except db_errors.NotFound:
        raise Unauthorized("Could not find the project to scope to.") from None
    if not project.enabled:
        raise Unauthorized("The project is disabled.")
    return project.id


def _password_user(session: Session, ref: NamedRef, password: str) -> q.User | None:
    if ref.id is not None:
        return q.check_password(session, ref.id, password)
    assert ref.name is not None
    return q.authenticate_password(session, ref.name, password, domain_id=ref.domain_id,
                                   domain_name=ref.domain_name)


def authenticate(session: Session, request: AuthRequest, *, now: datetime,
                 ttl: timedelta) -> tuple[str, q.Token]:
    """
    Check the request's credentials (password, or a valid token to rescope)
    and issue a token for the requested scope. Without a scope the token is
    scoped to the user's default project when the user holds a role there
    (as Keystone does), and unscoped otherwise.

    @raise Unauthorized: bad credentials, or no access to the project.
    """
    expires_at = None
    methods = tuple(dict.fromkeys(request.methods))
    if request.password is not None and request.user is not None:
        user = _password_user(session, request.user, request.password)
        if user is None:
            raise Unauthorized("The request you have made requires authentication.")
    else:
        assert request.token is not None
        previous = q.validate_token(session, request.token, now=now)
        if previous is None:
            raise Unauthorized("The token to rescope is invalid, expired or revoked.")
        user, expires_at = previous.user, previous.expires_at
        methods = tuple(dict.fromkeys(previous.methods + methods))
    project_id = None
    if request.project is not None:
        project_id = _project_id(session, request.project)
    elif not request.unscoped and user.default_project_id is not None:
        if q.roles_on_project(session, user.id, user.default_project_id):
            project_id = user.default_project_id
    try:
        return q.issue_token(session, user.id, project_id, methods=methods, ttl=ttl,
                             expires_at=expires_at, now=now)
    except q.NoRoleOnProject:
        raise Unauthorized("The user has no access to the project.") from None


def validate(session: Session, token: str, *, now: datetime) -> q.Token:
    """
    @raise Unauthorized: the token is invalid.
    """
    record = q.validate_token(session, token, now=now)
    if record is None:
        raise Unauthorized()
    return record


def create_user(session: Session, *, name: str, password: str | None, domain_id: str,
                default_project_id: str | None, enabled: bool, now: datetime) -> q.User:
    """
    @raise BadRequest: the domain or default project does not exist.
    @raise Conflict: the name is taken (the database's Conflict).
    """
    try:
        q.find_domain_id(session, domain_id=domain_id)
        if default_project_id is not None:
            q.get_project(session, default_project_id)
    except db_errors.NotFound as e:
        raise BadRequest(f"Could not find {e}.") from None
    return q.create_user(session, name=name, password=password, domain_id=domain_id,
                         default_project_id=default_project_id, enabled=enabled, now=now)


def create_project(session: Session, *, name: str, domain_id: str, description: str | None,
                   enabled: bool, now: datetime) -> q.Project:
    """
    @raise BadRequest: the domain does not exist.
    """
    try:
        q.find_domain_id(session, domain_id=domain_id)
    except db_errors.NotFound as e:
        raise BadRequest(f"Could not find {e}.") from None
    return q.create_project(session, name=name, domain_id=domain_id, description=description,
                            enabled=enabled, now=now)


def grant(session: Session, project_id: str, user_id: str, role_id: str, *,
          now: datetime) -> None:
    """
    @raise NotFound: the project, user or role does not exist.
    """
    try:
        q.get_project(session, project_id)
        q.get_user(session, user_id)
        q.get_role(session, role_id)
    except db_errors.NotFound as e:
        raise NotFound(f"Could not find {e}.") from None
    q.assign_role(session, user_id, project_id, role_id, now=now)


def create_ec2(session: Session, user_id: str, project_id: str, *,
               now: datetime, codec: q.SecretCodec = q.PLAIN) -> q.Ec2Credential:
    """
    @raise NotFound: the user or project does not exist.
    @raise Forbidden: the user holds no role on the project.
    """
    try:
        q.get_user(session, user_id)
        q.get_project(session, project_id)
    except db_errors.NotFound as e:
        raise NotFound(f"Could not find {e}.") from None
    if not q.roles_on_project(session, user_id, project_id):
        raise Forbidden("The user has no role on the project.")
    return q.create_ec2_credential(session, user_id, project_id, now=now, codec=codec)
