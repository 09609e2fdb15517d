"""
C{nova-ws}: the admin command, as nova-manage is to Nova.

  - C{nova-ws up [--config PATH]}: run the all-in-one in the foreground.
  - C{nova-ws config check PATH}: validate a nova.conf.
  - C{nova-ws db sync [--config PATH]}: migrate C{[database] connection} to
    the newest schema and print its revision; C{nova-ws db version} prints
    the revision it is at (C{base}: no schema yet).
  - C{nova-ws bootstrap [--config PATH] [--openrc PATH]}: migrate, then make
    the admin and demo users, flavors and image as the all-in-one's first
    start does, and write openrc (L{nova_ws.cli_bootstrap}).
  - C{nova-ws ca init|issue|revoke|list}: the certificate authority
    (L{nova_ws.cli_ca}).
  - C{nova-ws ec2-credentials create|list|delete --user NAME}: EC2 access
    keys (L{nova_ws.cli_ec2}).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from nova_ws import __version__, cli_bootstrap, cli_ca, cli_ec2, cli_identity, cli_image
from nova_ws.config import ConfigError, load_config

NOT_YET = 2


def _up(args: argparse.Namespace) -> int:
    from twisted.internet import reactor
    from twisted.internet.error import CannotListenError
    from twisted.logger import Logger, globalLogBeginner, textFileLogObserver

    from nova_ws.allinone.tap import makeServiceFromConfig

    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)])
    service = makeServiceFromConfig(config, args.config)
    if not list(service):
        print("nova-ws up: no service is implemented yet", file=sys.stderr)
        return NOT_YET
    log = Logger(namespace="nova_ws.cli")
    if service.namedServices.get("nova-api") is not None:
        _bootstrap(config, log)
    status = [0]

    def start() -> None:
        try:
            service.startService()
        except CannotListenError as e:
            log.error("nova-ws up: cannot listen on {host}:{port}: {why} "
                      "(is another nova_ws already running?)",
                      host=e.interface, port=e.port, why=e.socketError)
            status[0] = 1
            reactor.stop()
        except Exception:
            log.failure("nova-ws up: could not start")
            status[0] = 1
            reactor.stop()

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.run()  # stops on SIGINT and SIGTERM
    return status[0]


def _bootstrap(config: Any, log: Any) -> None:
    """Identity users and ./openrc for the all-in-one, then say how to use them."""
    from pathlib import Path

    from nova_ws.allinone.bootstrap import bootstrap_identity, ensure_openrc

    credentials = ensure_openrc(config, Path("openrc"))
    bootstrap_identity(config, credentials)
    d = config.default
    log.info("nova_ws is starting. API: http://{host}:{port}/ ; Identity: {auth_url} ; "
             "users: admin / {admin} and demo / {demo} ; `source openrc` (admin) or "
             "`source openrc demo demo`", host=d.osapi_compute_listen,
             port=d.osapi_compute_listen_port, auth_url=credentials.auth_url,
             admin=credentials.admin_password, demo=credentials.demo_password)


def _config_check(args: argparse.Namespace) -> int:
    try:
        load_config(args.path)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"{args.path}: OK")
    return 0


def _db(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from nova_ws.db import migrate
    from nova_ws.db.engine import create_engine_from_config, database_url

    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 1
    engine = create_engine_from_config(config.database, state_path=config.default.state_path)
    try:
        if args.db_command == "sync":
            revision = migrate.upgrade(engine)
        else:
            revision = migrate.current_revision(engine)
    except SQLAlchemyError as e:
        url = database_url(config.database, config.default.state_path)
        reason = getattr(e, "orig", None) or e
        print(f"nova-ws db {args.db_command}: {url!r}: {reason}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(revision or "base")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nova-ws", description="nova_ws admin command")
    parser.add_argument("--version", action="version", version=f"nova-ws {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the all-in-one in the foreground")
    up.add_argument("--config", default=None, help="path to nova.conf")
    up.set_defaults(run=_up)

    config = commands.add_parser("config", help="nova.conf tools")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser("check", help="validate a nova.conf")
    check.add_argument("path")
    check.set_defaults(run=_config_check)

    db = commands.add_parser("db", help="database schema tools")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    for name, text in (("sync", "migrate the database to the newest schema"),
                       ("version", "print the schema revision of the database")):
        command = db_commands.add_parser(name, help=text)
        command.add_argument("--config", default=None, help="path to nova.conf")
        command.set_defaults(run=_db)

    cli_image.add_parser(commands)
    cli_identity.add_parser(commands)
    cli_ec2.add_parser(commands)

    cli_ca.add_parser(commands)
    cli_bootstrap.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run C{nova-ws} with C{argv} (default: C{sys.argv[1:]}); return the exit status.
    """
    args = _parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
