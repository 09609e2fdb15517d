"""``nova-ws user|project|role``: people and projects, from the command line.

What an admin of the machine needs before anyone can log in, as
``keystone-manage`` and ``openstack user/project/role`` do, straight on the
database of a nova.conf:

  - ``project create NAME`` and ``project list``;
  - ``user create NAME [--project P] [--role member] [--password PW]``:
    without ``--password`` a random one is made and printed once; with a
    project the user gets the role there (and it is the default project);
  - ``user list``, ``user password NAME [--password PW]`` (which also
    revokes the user's tokens);
  - ``role add --user U --project P --role R`` (``admin``, ``member``,
    ``reader`` or any role the database knows).
"""

from __future__ import annotations

import argparse
import secrets
import sys
from typing import Any

from nova_ws.config import ConfigError, load_config


def add_parser(commands: Any) -> None:
    """Add ``user``, ``project`` and ``role`` to the ``nova-ws`` parser."""
    user = commands.add_parser("user", help="users")
    user_commands = user.add_subparsers(dest="identity_command", required=True)
    create = user_commands.add_parser("create", help="make a user")
    create.add_argument("name")
    create.add_argument("--project", default=None, help="project (name) to give a role on")
    create.add_argument("--role", default="member", help="role on --project (default member)")
    create.add_argument("--password", default=None, help="default: a random one, printed")
    password = user_commands.add_parser("password", help="set a user's password")
    password.add_argument("name")
    password.add_argument("--password", default=None, help="default: a random one, printed")
    listing = user_commands.add_parser("list", help="list users")
    project = commands.add_parser("project", help="projects")
    project_commands = project.add_subparsers(dest="identity_command", required=True)
    project_create = project_commands.add_parser("create", help="make a project")
    project_create.add_argument("name")
    project_list = project_commands.add_parser("list", help="list projects")
    role = commands.add_parser("role", help="role assignments")
    role_commands = role.add_subparsers(dest="identity_command", required=True)
    add = role_commands.add_parser("add", help="give a user a role on a project")
    add.add_argument("--user", required=True)
    add.add_argument("--project", required=True)
    add.add_argument("--role", required=True)
    for command, kind in ((create, "user"), (password, "user"), (listing, "user"),
                          (project_create, "project"), (project_list, "project"),
                          (add, "role")):
        command.add_argument("--config", default=None, help="path to nova.conf")
        command.set_defaults(run=run, identity_kind=kind)


def run(args: argparse.Namespace) -> int:
    """Run a ``user``, ``project`` or ``role`` subcommand; 0 on success, 1 on error."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from nova_ws.db import errors as db_errors
    from nova_ws.db.engine import create_engine_from_config

    label = f"nova-ws {args.identity_kind} {args.identity_command}"
    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(f"{label}: {e}", file=sys.stderr)
        return 1
    engine = create_engine_from_config(config.database, state_path=config.default.state_path)
    try:
        with Session(engine) as session, session.begin():
            from nova_ws.db.queries import identity

            identity.ensure_default_domain(session)
            for line in _COMMANDS[(args.identity_kind, args.identity_command)](session, args):
                print(line)
    except (db_errors.DBError, SQLAlchemyError) as e:
        print(f"{label}: {getattr(e, 'orig', None) or e}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


STANDARD_ROLES = ("admin", "member", "reader")


def _role(session: Any, name: str) -> Any:
    """The role called ``name``; the standard three are made on first use."""
    from nova_ws.db.errors import NotFound
    from nova_ws.db.queries import identity

    try:
        return identity.find_role(session, name)
    except NotFound:
        if name not in STANDARD_ROLES:
            raise
        return identity.create_role(session, name)


def _password(args: argparse.Namespace) -> tuple[str, list[str]]:
    if args.password:
        return args.password, []
    made = secrets.token_urlsafe(18)
    return made, [f"password: {made}"]


def _user_create(session: Any, args: argparse.Namespace) -> list[str]:
    from nova_ws.db.queries import identity

    project = identity.find_project(session, args.project) if args.project else None
    role = _role(session, args.role) if project else None
    password, shown = _password(args)
    user = identity.create_user(session, name=args.name, password=password,
                                default_project_id=project.id if project else None)
    if project is not None and role is not None:
        identity.assign_role(session, user.id, project.id, role.id)
    return [f"user {user.name}: {user.id}", *shown]


def _user_password(session: Any, args: argparse.Namespace) -> list[str]:
    from nova_ws.db.queries import identity

    user = identity.find_user(session, args.name)
    password, shown = _password(args)
    identity.set_password(session, user.id, password)
    revoked = identity.revoke_user_tokens(session, user.id)
    return [f"user {user.name}: password set, {revoked} token(s) revoked", *shown]


def _user_list(session: Any, args: argparse.Namespace) -> list[str]:
    from nova_ws.db.queries import identity

    return [f"{u.id}  {u.name}  {'enabled' if u.enabled else 'disabled'}"
            for u in identity.list_users(session)]


def _project_create(session: Any, args: argparse.Namespace) -> list[str]:
    from nova_ws.db.queries import identity

    project = identity.create_project(session, name=args.name)
    return [f"project {project.name}: {project.id}"]


def _project_list(session: Any, args: argparse.Namespace) -> list[str]:
    from nova_ws.db.queries import identity

    return [f"{p.id}  {p.name}" for p in identity.list_projects(session)]


def _role_add(session: Any, args: argparse.Namespace) -> list[str]:
    from nova_ws.db.queries import identity

    user = identity.find_user(session, args.user)
    project = identity.find_project(session, args.project)
    role = _role(session, args.role)
    added = identity.assign_role(session, user.id, project.id, role.id)
    return [f"{user.name} {'now has' if added else 'already had'} {role.name} on {project.name}"]


_COMMANDS = {("user", "create"): _user_create, ("user", "password"): _user_password,
             ("user", "list"): _user_list, ("project", "create"): _project_create,
             ("project", "list"): _project_list, ("role", "add"): _role_add}
