"""
Identity: domains, projects, users, roles and their assignments, API tokens
and EC2 credentials.

Passwords are stored as salted scrypt hashes (L{hash_password}) and checked
in constant time; API tokens are 256-bit random strings of which only the
SHA-256 hex digest is stored. A token is valid until it expires or is
revoked, and only while its user (and its project, if scoped) is enabled.
EC2 secrets must be retrievable: verifying an EC2 signature (an HMAC keyed
with the secret) needs the secret itself. They are stored as a
L{SecretCodec} seals them (nova-api encrypts them, see
L{nova_ws.api.identity.credential_keys}); L{PLAIN} keeps them as they are.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nova_ws.db.errors import DBError, NotFound, flush_or_conflict
from nova_ws.db.models import utcnow
from nova_ws.db.models.identity import IdentityDomain as DomainRow
from nova_ws.db.models.identity import IdentityEc2Credential as Ec2Row
from nova_ws.db.models.identity import IdentityProject as ProjectRow
from nova_ws.db.models.identity import IdentityRole as RoleRow
from nova_ws.db.models.identity import IdentityRoleAssignment as AssignmentRow
from nova_ws.db.models.identity import IdentityToken as TokenRow
from nova_ws.db.models.identity import IdentityUser as UserRow
from nova_ws.db.queries._statements import execute_count

DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"
ROLE_NAMES = ("admin", "member", "reader")
DEFAULT_TOKEN_TTL = timedelta(hours=1)
#: scrypt cost: 16 MiB of memory per hash (the OWASP minimum is n=2**17 with r=8,
#: p=1 or n=2**14 with a higher p; this is interactive-login strength).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
TOKEN_BYTES = 32


class NoRoleOnProject(DBError):
    """
    A token was asked for a project on which the user holds no role.
    """


# -- secrets -------------------------------------------------------------------


def hash_password(password: str) -> str:
    """
    A salted scrypt hash of C{password}: C{scrypt$n$r$p$salt$digest} (base64).
    """
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def verify_password(password: str, stored: str | None) -> bool:
    """
    Whether C{password} matches C{stored} (from L{hash_password}), compared
    in constant time; C{False} for a missing or unreadable hash.
    """
    if stored is None:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(want, got)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=2 * 128 * n * r * p + 2**20, dklen=32)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when a user does not exist, so that takes as long as a wrong password."""
    return hash_password(secrets.token_hex(16))


def hash_token(token: str) -> str:
    """
    The SHA-256 hex digest under which an API token is stored.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- records -------------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    """A domain."""

    id: str
    name: str
    enabled: bool


@dataclass(frozen=True)
class Project:
    """A project and its domain."""

    id: str
    name: str
    domain_id: str
    domain_name: str
    description: str | None
    enabled: bool


@dataclass(frozen=True)
class User:
    """A user and its domain (never the password hash)."""

    id: str
    name: str
    domain_id: str
    domain_name: str
    default_project_id: str | None
    enabled: bool


@dataclass(frozen=True)
class Role:
    """A role."""

    id: str
    name: str


@dataclass(frozen=True)
class Token:
    """
    A stored API token: who, on which project (C{None}: unscoped), with
    which roles (a snapshot from when it was issued), and its life. The
    token itself is never stored, so never here.
    """

    id: int
    token_hash: str
    user: User
    project: Project | None
    roles: tuple[Role, ...]
    methods: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @property
    def role_names(self) -> frozenset[str]:
        """The names of the token's roles."""
        return frozenset(role.name for role in self.roles)


@dataclass(frozen=True)
class Ec2Credential:
    """
    An EC2 access key and its secret, for a user in a project; C{secret} is
    C{None} when the codec that read it cannot unseal it (its key is gone).
    """

    access: str
    secret: str | None
    user_id: str
    project_id: str
    created_at: datetime


def _domain_name(session: Session, domain_id: str) -> str:
    row = session.get(DomainRow, domain_id)
    return row.name if row is not None else domain_id


def _project(session: Session, row: ProjectRow) -> Project:
    return Project(row.id, row.name, row.domain_id, _domain_name(session, row.domain_id),
                   row.description, row.enabled)


def _user(session: Session, row: UserRow) -> User:
    return User(row.id, row.name, row.domain_id, _domain_name(session, row.domain_id),
                row.default_project_id, row.enabled)


class SecretCodec(Protocol):
    """How EC2 secrets are kept at rest: sealed when stored, unsealed when read."""

    def seal(self, secret: str) -> str:
        """The value to store for C{secret}."""
        ...

    def unseal(self, stored: str) -> str | None:
        """The secret of a stored value, or C{None} if it cannot be read."""
        ...


class _Plain:
    """Secrets as they are; a sealed value (C{fernet:...}) cannot be read."""

    def seal(self, secret: str) -> str:
        return secret

    def unseal(self, stored: str) -> str | None:
        return None if stored.startswith("fernet:") else stored


#: The codec that keeps secrets in the clear (tests; processes given no keys).
PLAIN: SecretCodec = _Plain()


def _ec2(row: Ec2Row, codec: SecretCodec) -> Ec2Credential:
    return Ec2Credential(row.access, codec.unseal(row.secret), row.user_id, row.project_id,
                         row.created_at)


# -- domains, projects, users, roles -------------------------------------------


def ensure_default_domain(session: Session, *, now: datetime | None = None) -> Domain:
    """
    The C{default} domain, created if missing.
    """
    row = session.get(DomainRow, DEFAULT_DOMAIN_ID)
    if row is None:
        row = DomainRow(id=DEFAULT_DOMAIN_ID, name=DEFAULT_DOMAIN_NAME, enabled=True,
                        created_at=now or utcnow())
        session.add(row)
        flush_or_conflict(session, "domain 'default'")
    return Domain(row.id, row.name, row.enabled)


def find_domain_id(session: Session, *, domain_id: str | None = None,
                   domain_name: str | None = None) -> str:
    """
    The id of the domain named by id or name (neither: C{default}).

    @raise NotFound: no such domain.
    """
    if domain_id is None and domain_name is None:
        domain_id = DEFAULT_DOMAIN_ID
    query = select(DomainRow.id).where(
        DomainRow.id == domain_id if domain_id is not None else DomainRow.name == domain_name)
    found = session.scalars(query).one_or_none()
    if found is None:
        raise NotFound(f"domain {domain_id or domain_name!r}")
    return found


def create_project(session: Session, *, name: str, domain_id: str = DEFAULT_DOMAIN_ID,
                   description: str | None = None, enabled: bool = True,
                   project_id: str | None = None, now: datetime | None = None) -> Project:
    """
    A new project (id: a random uuid hex unless given).

    @raise Conflict: the domain already has a project of that name, or the
        domain does not exist.
    """
    row = ProjectRow(id=project_id or uuid.uuid4().hex, name=name, domain_id=domain_id,
                     description=description, enabled=enabled, created_at=now or utcnow())
    session.add(row)
    flush_or_conflict(session, f"project {name!r}")
    return _project(session, row)


def get_project(session: Session, project_id: str) -> Project:
    """
    @raise NotFound: no such project.
    """
    row = session.get(ProjectRow, project_id)
    if row is None:
        raise NotFound(f"project {project_id}")
    return _project(session, row)


def find_project(session: Session, name: str, *, domain_id: str | None = None,
                 domain_name: str | None = None) -> Project:
    """
    The project C{name} of the domain named by id or name (neither: C{default}).

    @raise NotFound: no such domain or project.
    """
    domain = find_domain_id(session, domain_id=domain_id, domain_name=domain_name)
    row = session.scalars(select(ProjectRow).where(
        ProjectRow.domain_id == domain, ProjectRow.name == name)).one_or_none()
    if row is None:
        raise NotFound(f"project {name!r} in domain {domain!r}")
    return _project(session, row)


def list_projects(session: Session, *, user_id: str | None = None,
                  name: str | None = None) -> list[Project]:
    """
    Projects ordered by name; with C{user_id}, those where the user holds a role.
    """
    query = select(ProjectRow).order_by(ProjectRow.name, ProjectRow.id)
    if user_id is not None:
        query = query.where(ProjectRow.id.in_(
            select(AssignmentRow.project_id).where(AssignmentRow.user_id == user_id)))
    if name is not None:
        query = query.where(ProjectRow.name == name)
    return [_project(session, row) for row in session.scalars(query)]


def create_user(session: Session, *, name: str, password: str | None,
                domain_id: str = DEFAULT_DOMAIN_ID, default_project_id: str | None = None,
                enabled: bool = True, user_id: str | None = None,
                now: datetime | None = None) -> User:
    """
    A new user; the password is stored hashed (C{None}: no password login).

    @raise Conflict: the domain already has a user of that name, or the
        domain or default project does not exist.
    """
    row = UserRow(id=user_id or uuid.uuid4().hex, name=name, domain_id=domain_id,
                  default_project_id=default_project_id, enabled=enabled,
                  password_hash=None if password is None else hash_password(password),
                  created_at=now or utcnow())
    session.add(row)
    flush_or_conflict(session, f"user {name!r}")
    return _user(session, row)


def get_user(session: Session, user_id: str) -> User:
    """
    @raise NotFound: no such user.
    """
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"user {user_id}")
    return _user(session, row)


def find_user(session: Session, name: str, *, domain_id: str | None = None,
              domain_name: str | None = None) -> User:
    """
    The user C{name} of the domain named by id or name (neither: C{default}).

    @raise NotFound: no such domain or user.
    """
    domain = find_domain_id(session, domain_id=domain_id, domain_name=domain_name)
    row = session.scalars(select(UserRow).where(
        UserRow.domain_id == domain, UserRow.name == name)).one_or_none()
    if row is None:
        raise NotFound(f"user {name!r} in domain {domain!r}")
    return _user(session, row)


def list_users(session: Session, *, name: str | None = None) -> list[User]:
    """
    Users ordered by name, optionally only those called C{name}.
    """
    query = select(UserRow).order_by(UserRow.name, UserRow.id)
    if name is not None:
        query = query.where(UserRow.name == name)
    return [_user(session, row) for row in session.scalars(query)]


def set_password(session: Session, user_id: str, password: str) -> None:
    """
    Replace the user's password.

    @raise NotFound: no such user.
    """
    statement = update(UserRow).where(UserRow.id == user_id).values(
        password_hash=hash_password(password), updated_at=utcnow())
    if not execute_count(session, statement):
        raise NotFound(f"user {user_id}")


def check_password(session: Session, user_id: str, password: str) -> User | None:
    """
    The user, if it exists, is enabled and C{password} is its password.
    """
    row = session.get(UserRow, user_id)
    ok = verify_password(password, row.password_hash if row is not None else _dummy_hash())
    if row is None or not ok or not row.enabled:
        return None
    return _user(session, row)


def authenticate_password(session: Session, name: str, password: str, *,
                          domain_id: str | None = None,
                          domain_name: str | None = None) -> User | None:
    """
    The enabled user C{name} of the domain (by id or name; neither:
    C{default}) whose password is C{password}; C{None} otherwise. An
    unknown user costs the same hash as a wrong password.
    """
    try:
        user = find_user(session, name, domain_id=domain_id, domain_name=domain_name)
    except NotFound:
        verify_password(password, _dummy_hash())
        return None
    return check_password(session, user.id, password)


def create_role(session: Session, name: str, *, role_id: str | None = None,
                now: datetime | None = None) -> Role:
    """
    @raise Conflict: a role of that name exists.
    """
    row = RoleRow(id=role_id or uuid.uuid4().hex, name=name, created_at=now or utcnow())
    session.add(row)
    flush_or_conflict(session, f"role {name!r}")
    return Role(row.id, row.name)


def get_role(session: Session, role_id: str) -> Role:
    """
    @raise NotFound: no such role.
    """
    row = session.get(RoleRow, role_id)
    if row is None:
        raise NotFound(f"role {role_id}")
    return Role(row.id, row.name)


def find_role(session: Session, name: str) -> Role:
    """
    @raise NotFound: no role of that name.
    """
    row = session.scalars(select(RoleRow).where(RoleRow.name == name)).one_or_none()
    if row is None:
        raise NotFound(f"role {name!r}")
    return Role(row.id, row.name)


def list_roles(session: Session) -> list[Role]:
    """Roles ordered by name."""
    return [Role(r.id, r.name) for r in session.scalars(select(RoleRow).order_by(RoleRow.name))]


def assign_role(session: Session, user_id: str, project_id: str, role_id: str, *,
                now: datetime | None = None) -> bool:
    """
    Give the user the role on the project; C{False} if it already had it.

    @raise Conflict: the user, project or role does not exist.
    """
    exists = session.scalars(select(AssignmentRow.id).where(
        AssignmentRow.user_id == user_id, AssignmentRow.project_id == project_id,
        AssignmentRow.role_id == role_id)).first()
    if exists is not None:
        return False
    session.add(AssignmentRow(user_id=user_id, project_id=project_id, role_id=role_id,
                              created_at=now or utcnow()))
    flush_or_conflict(session, f"role {role_id} of user {user_id} on project {project_id}")
    return True


def roles_on_project(session: Session, user_id: str, project_id: str) -> list[Role]:
    """The user's roles on the project, ordered by name."""
    query = (select(RoleRow).join(AssignmentRow, AssignmentRow.role_id == RoleRow.id)
             .where(AssignmentRow.user_id == user_id, AssignmentRow.project_id == project_id)
             .order_by(RoleRow.name))
    return [Role(r.id, r.name) for r in session.scalars(query)]


# -- API tokens ----------------------------------------------------------------


def _token(session: Session, row: TokenRow) -> Token:
    user = session.get(UserRow, row.user_id)
    assert user is not None  # the foreign key cascades
    project = session.get(ProjectRow, row.project_id) if row.project_id else None
    return Token(
        id=row.id, token_hash=row.token_hash, user=_user(session, user),
        project=_project(session, project) if project is not None else None,
        roles=tuple(Role(r["id"], r["name"]) for r in row.roles),
        methods=tuple(row.methods), issued_at=row.issued_at, expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def issue_token(session: Session, user_id: str, project_id: str | None = None, *,
                methods: tuple[str, ...] = ("password",), ttl: timedelta = DEFAULT_TOKEN_TTL,
                expires_at: datetime | None = None,
                now: datetime | None = None) -> tuple[str, Token]:
    """
    A new API token for the user, scoped to C{project_id} (C{None}:
    unscoped) with the roles the user holds there now. It expires after
    C{ttl}, or at C{expires_at} when given (a rescoped token keeps the
    expiry of the token it came from).

    @return: the token (shown once, never stored) and its record.
    @raise NotFound: no such user or project.
    @raise NoRoleOnProject: the user holds no role on the project.
    """
    now = now or utcnow()
    get_user(session, user_id)
    roles: list[Role] = []
    if project_id is not None:
        get_project(session, project_id)
        roles = roles_on_project(session, user_id, project_id)
        if not roles:
            raise NoRoleOnProject(f"user {user_id} has no role on project {project_id}")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = TokenRow(token_hash=hash_token(token), user_id=user_id, project_id=project_id,
                   roles=[{"id": r.id, "name": r.name} for r in roles], methods=list(methods),
                   issued_at=now, expires_at=expires_at or now + ttl)
    session.add(row)
    flush_or_conflict(session, f"token of user {user_id}")
    return token, _token(session, row)


def validate_token(session: Session, token: str, *, now: datetime | None = None
                   ) -> Token | None:
    """
    The record of C{token} if it is known, unexpired, unrevoked, and its
    user (and project, if scoped) is enabled; C{None} otherwise.
    """
    now = now or utcnow()
    row = session.scalars(select(TokenRow).where(
        TokenRow.token_hash == hash_token(token))).one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    record = _token(session, row)
    if not record.user.enabled or (record.project is not None and not record.project.enabled):
        return None
    return record


def revoke_token(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """
    Revoke C{token}; C{False} if it was unknown or already revoked.
    """
    statement = update(TokenRow).where(
        TokenRow.token_hash == hash_token(token), TokenRow.revoked_at.is_(None)
    ).values(revoked_at=now or utcnow())
    return execute_count(session, statement) == 1


def revoke_user_tokens(session: Session, user_id: str, *, now: datetime | None = None) -> int:
    """
    Revoke every live token of the user; return how many.
    """
    statement = update(TokenRow).where(
        TokenRow.user_id == user_id, TokenRow.revoked_at.is_(None)
    ).values(revoked_at=now or utcnow())
    return execute_count(session, statement)


# -- EC2 credentials -----------------------------------------------------------


def create_ec2_credential(session: Session, user_id: str, project_id: str, *,
                          now: datetime | None = None,
                          codec: SecretCodec = PLAIN) -> Ec2Credential:
    """
    A new EC2 access key (uuid hex) and secret (256 random bits, hex), the
    secret stored as C{codec} seals it.

    @raise Conflict: the user or project does not exist.
    """
    secret = secrets.token_hex(32)
    row = Ec2Row(access=uuid.uuid4().hex, secret=codec.seal(secret), user_id=user_id,
                 project_id=project_id, created_at=now or utcnow())
    session.add(row)
    flush_or_conflict(session, f"EC2 credential of user {user_id}")
    return Ec2Credential(row.access, secret, user_id, project_id, row.created_at)


def list_ec2_credentials(session: Session, user_id: str, *,
                         codec: SecretCodec = PLAIN) -> list[Ec2Credential]:
    """The user's EC2 credentials, oldest first."""
    query = select(Ec2Row).where(Ec2Row.user_id == user_id).order_by(Ec2Row.id)
    return [_ec2(row, codec) for row in session.scalars(query)]


def get_ec2_credential(session: Session, access: str, *,
                       codec: SecretCodec = PLAIN) -> Ec2Credential:
    """
    The credential of the access key (what the EC2 API verifies signatures with).

    @raise NotFound: no such access key.
    """
    row = session.scalars(select(Ec2Row).where(Ec2Row.access == access)).one_or_none()
    if row is None:
        raise NotFound(f"EC2 access key {access}")
    return _ec2(row, codec)


def delete_ec2_credential(session: Session, user_id: str, access: str) -> None:
    """
    @raise NotFound: the user has no such access key.
    """
    row = session.scalars(select(Ec2Row).where(
        Ec2Row.access == access, Ec2Row.user_id == user_id)).one_or_none()
    if row is None:
        raise NotFound(f"EC2 access key {access} of user {user_id}")
    session.delete(row)
    session.flush()


# -- bootstrap -----------------------------------------------------------------


@dataclass(frozen=True)
class Bootstrapped:
    """What L{bootstrap} made sure of."""

    admin_user: User
    admin_project: Project
    demo_user: User | None
    demo_project: Project | None
    roles: tuple[Role, ...]


def _ensure_role(session: Session, name: str, now: datetime) -> Role:
    try:
        return find_role(session, name)
    except NotFound:
        return create_role(session, name, now=now)


def _ensure_project(session: Session, name: str, now: datetime) -> Project:
    try:
        return find_project(session, name, domain_id=DEFAULT_DOMAIN_ID)
    except NotFound:
        return create_project(session, name=name, description=f"Bootstrap {name} project",
                              now=now)


def _ensure_user(session: Session, name: str, password: str, project: Project,
                 role: Role, now: datetime) -> User:
    try:
        user = find_user(session, name, domain_id=DEFAULT_DOMAIN_ID)
        if check_password(session, user.id, password) is None:
            set_password(session, user.id, password)
    except NotFound:
        user = create_user(session, name=name, password=password,
                           default_project_id=project.id, now=now)
    assign_role(session, user.id, project.id, role.id, now=now)
    return user


def bootstrap(session: Session, *, admin_password: str, admin_user: str = "admin",
              admin_project: str = "admin", demo_password: str | None = None,
              demo_user: str = "demo", demo_project: str = "demo",
              now: datetime | None = None) -> Bootstrapped:
    """
    Make sure of the C{default} domain, the C{admin}, C{member} and
    C{reader} roles, an admin project whose admin user holds C{admin}, and
    (with C{demo_password}) a demo project whose demo user holds C{member}.

    Idempotent: what exists is kept, except that a user's password is set
    to the one given (as C{keystone-manage bootstrap} does).
    """
    now = now or utcnow()
    ensure_default_domain(session, now=now)
    roles = tuple(_ensure_role(session, name, now) for name in ROLE_NAMES)
    by_name = {role.name: role for role in roles}
    project = _ensure_project(session, admin_project, now)
    user = _ensure_user(session, admin_user, admin_password, project, by_name["admin"], now)
    demo = demo_proj = None
    if demo_password is not None:
        demo_proj = _ensure_project(session, demo_project, now)
        demo = _ensure_user(session, demo_user, demo_password, demo_proj, by_name["member"], now)
    return Bootstrapped(get_user(session, user.id), project,
                        get_user(session, demo.id) if demo else None, demo_proj, roles)
