"""``nova-ws ec2-credentials create|list|delete``: EC2 access keys, from the command line.

As ``openstack ec2 credentials create`` does through the Identity API, but
with the database and the credential keys of a nova.conf, for the admin of
the machine:

  - ``create --user NAME [--project NAME]`` makes a key for the user in the
    project (default: the user's default project), on which the user must
    hold a role, and prints it as the environment boto3 reads
    (``AWS_ACCESS_KEY_ID=...``, ``AWS_SECRET_ACCESS_KEY=...``);
  - ``list --user NAME`` prints each key's access id, project and creation time;
  - ``delete --user NAME ACCESS`` removes one.

The secret is sealed with the keys under ``[DEFAULT] state_path``
(:mod:`nova_ws.api.identity.credential_keys`), as nova-api seals it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nova_ws.config import ConfigError, load_config


def add_parser(commands: Any) -> None:
    """Add ``ec2-credentials create|list|delete`` to the ``nova-ws`` parser."""
    ec2 = commands.add_parser("ec2-credentials", help="EC2 access keys of users")
    ec2_commands = ec2.add_subparsers(dest="ec2_command", required=True)
    create = ec2_commands.add_parser("create", help="make an EC2 access key for a user")
    create.add_argument("--project", default=None,
                        help="project name or id (default: the user's default project)")
    listing = ec2_commands.add_parser("list", help="list a user's EC2 access keys")
    delete = ec2_commands.add_parser("delete", help="delete one of a user's EC2 access keys")
    delete.add_argument("access")
    for command in (create, listing, delete):
        command.add_argument("--user", required=True, help="user name (default domain) or id")
        command.add_argument("--config", default=None, help="path to nova.conf")
        command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run an ``ec2-credentials`` subcommand; 0 on success, 1 with a message on error."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from nova_ws.api.errors import Fault
    from nova_ws.api.identity import credential_keys, operations
    from nova_ws.db import errors as db_errors
    from nova_ws.db.engine import create_engine_from_config
    from nova_ws.db.models import utcnow
    from nova_ws.db.queries import identity

    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(f"nova-ws ec2-credentials: {e}", file=sys.stderr)
        return 1
    engine = create_engine_from_config(config.database, state_path=config.default.state_path)
    try:
        with Session(engine) as session, session.begin():
            user = _user(session, args.user)
            if args.ec2_command == "create":
                keys = credential_keys.CredentialKeys.load_or_create(
                    credential_keys.repository(config))
                project = _project(session, args.project or user.default_project_id, user)
                cred = operations.create_ec2(session, user.id, project.id, now=utcnow(),
                                             codec=keys)
                print(f"AWS_ACCESS_KEY_ID={cred.access}")
                print(f"AWS_SECRET_ACCESS_KEY={cred.secret}")
            elif args.ec2_command == "list":
                for cred in identity.list_ec2_credentials(session, user.id):
                    name = identity.get_project(session, cred.project_id).name
                    print(f"{cred.access}  {name}  {cred.created_at.isoformat()}")
            else:
                identity.delete_ec2_credential(session, user.id, args.access)
    except db_errors.NotFound as e:
        print(f"nova-ws ec2-credentials {args.ec2_command}: no {e}", file=sys.stderr)
        return 1
    except (Fault, SQLAlchemyError, OSError) as e:
        reason = getattr(e, "message", None) or getattr(e, "orig", None) or e
        print(f"nova-ws ec2-credentials {args.ec2_command}: {reason}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _user(session: Any, ref: str) -> Any:
    from nova_ws.db import errors as db_errors
    from nova_ws.db.queries import identity

    try:
        return identity.find_user(session, ref)
    except db_errors.NotFound:
        return identity.get_user(session, ref)


def _project(session: Any, ref: str | None, user: Any) -> Any:
    from nova_ws.db import errors as db_errors
    from nova_ws.db.queries import identity

    if ref is None:
        raise db_errors.NotFound(f"default project for user {user.name!r} (use --project)")
    try:
        return identity.find_project(session, ref)
    except db_errors.NotFound:
        return identity.get_project(session, ref)
