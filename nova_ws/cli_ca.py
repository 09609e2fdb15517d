"""``nova-ws ca init|issue|revoke|list``: the certificate authority from the command line.

They work on ``[ca]``'s files and ``[database] connection`` directly, as
nova-manage did, so they run where the CA's key is, with or without nova-cert
running; nova-cert and the TLS listeners see the rows and the CRL file they
write.

- ``init``: create the CA (key mode 0600) and an empty CRL, unless they exist.
- ``issue server NAME [--san HOST_OR_IP]...``: a server certificate;
  ``issue service AUTHID --role ROLE``: a client certificate a service or
  host joins the router with; ``issue user USER_ID --project PROJECT``: a
  user's. Each writes ``<stem>-cert.pem`` (the CA chain after it),
  ``<stem>-key.pem`` (mode 0600) and ``ca-cert.pem`` into ``--out``; the
  stem is ``server`` for servers (QEMU's file names) and the name otherwise.
- ``revoke SERIAL``: revoke and re-sign the CRL at once.
- ``list [--revoked|--valid]``: what was issued.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from nova_ws.config import ConfigError, NovaConfig, load_config


def add_parser(commands: Any) -> None:
    """Add ``ca init``, ``ca issue``, ``ca revoke`` and ``ca list`` to the parser."""
    ca = commands.add_parser("ca", help="certificate authority tools")
    ca_commands = ca.add_subparsers(dest="ca_command", required=True)

    init = ca_commands.add_parser("init", help="create the CA and its CRL")
    init.add_argument("--config", default=None, help="path to nova.conf")
    init.add_argument("--common-name", default=None, help="the CA's name ([ca] common_name)")
    init.set_defaults(run=run)

    issue = ca_commands.add_parser("issue", help="issue a certificate and its key")
    issue.add_argument("kind", choices=("server", "service", "user"))
    issue.add_argument("name", help="host name (server), authid (service) or user id (user)")
    issue.add_argument("--config", default=None, help="path to nova.conf")
    issue.add_argument("--role", help="the router role of a service certificate")
    issue.add_argument("--project", help="the project of a user certificate")
    issue.add_argument("--san", action="append", default=[], metavar="HOST_OR_IP",
                       help="another name of a server (repeat for more)")
    issue.add_argument("--days", type=int, default=None, help="validity ([ca] cert_days)")
    issue.add_argument("--out", default=None,
                       help="directory for the files (default: [ca] keys_path/<name>)")
    issue.add_argument("--stem", default=None, help="file name stem (see above)")
    issue.set_defaults(run=run)

    revoke = ca_commands.add_parser("revoke", help="revoke a certificate by serial")
    revoke.add_argument("serial", help="the serial number, hex")
    revoke.add_argument("--config", default=None, help="path to nova.conf")
    revoke.set_defaults(run=run)

    listing = ca_commands.add_parser("list", help="list issued certificates")
    listing.add_argument("--config", default=None, help="path to nova.conf")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--revoked", action="store_true", help="only revoked ones")
    which.add_argument("--valid", action="store_true", help="only those not revoked")
    listing.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run a ``ca`` subcommand; 0 on success, 1 with a message on error."""
    from sqlalchemy.exc import SQLAlchemyError

    from nova_ws.auth.ca.authority import CaError
    from nova_ws.db.errors import NotFound

    try:
        config = load_config(args.config)
        return int(_COMMANDS[args.ca_command](args, config))
    except (ConfigError, CaError, ValueError, OSError, NotFound) as e:
        print(f"nova-ws ca {args.ca_command}: {e}", file=sys.stderr)
    except SQLAlchemyError as e:
        reason = getattr(e, "orig", None) or e
        print(f"nova-ws ca {args.ca_command}: database: {reason} "
              "(has `nova-ws db sync` been run?)", file=sys.stderr)
    return 1


def _init(args: argparse.Namespace, config: NovaConfig) -> int:
    from nova_ws.auth.ca import authority

    paths = authority.CaPaths.from_config(config.ca, config.default.state_path)
    ca, created = authority.load_or_create(paths, args.common_name or config.ca.common_name,
                                           config.ca.ca_days)
    if not paths.crl.exists():
        authority.write_crl(paths.crl, ca.crl([], config.ca.crl_days))
    state = "created" if created else "exists"
    print(f"CA {state}: {ca.cert.subject.rfc4514_string()}")
    print(f"certificate: {paths.cert}\nkey:         {paths.key}\ncrl:         {paths.crl}")
    return 0


def _issue(args: argparse.Namespace, config: NovaConfig) -> int:
    from nova_ws.auth.ca import authority, offline

    paths = authority.CaPaths.from_config(config.ca, config.default.state_path)
    ca = authority.load(paths)
    days = args.days or config.ca.cert_days
    holder: dict[str, str | None] = {}
    if args.kind == "server":
        issued = ca.issue_server(args.name, args.san, days)
        stem = args.stem or "server"
    elif args.kind == "service":
        if not args.role:
            raise ValueError("a service certificate needs --role (its router role)")
        issued = ca.issue_service(args.name, args.role, days)
        stem = args.stem or args.name
    else:
        if not args.project:
            raise ValueError("a user certificate needs --project")
        issued = ca.issue_user(args.name, args.project, days)
        stem = args.stem or args.name
        holder = {"user_id": args.name, "project_id": args.project}
    out = Path(args.out) if args.out else paths.keys / args.name
    with _session(config) as session, session.begin():
        offline.record(session, ca, issued, file_name=f"{args.kind}:{args.name}", **holder)
    cert_file, key_file = authority.write_issued(out, stem, issued)
    authority.write_public(out / "ca-cert.pem", ca.cert_pem)
    print(f"serial:      {issued.serial}\nsubject:     {issued.subject}")
    print(f"certificate: {cert_file}\nkey:         {key_file}\nca:          {out / 'ca-cert.pem'}")
    return 0


def _revoke(args: argparse.Namespace, config: NovaConfig) -> int:
    from nova_ws.auth.ca import authority, offline
    from nova_ws.db.queries import certificates

    paths = authority.CaPaths.from_config(config.ca, config.default.state_path)
    ca = authority.load(paths)
    serial = format(int(args.serial.replace(":", ""), 16), "x")
    with _session(config) as session, session.begin():
        revoked = certificates.revoke_certificate(session, serial, now=ca.now())
        count = offline.resign_crl(session, ca, paths, config.ca.crl_days)
    print(f"{serial}: {'revoked' if revoked else 'already revoked'}; "
          f"{paths.crl} names {count} certificate(s)")
    return 0


def _list(args: argparse.Namespace, config: NovaConfig) -> int:
    from nova_ws.db.queries import certificates

    revoked = True if args.revoked else False if args.valid else None
    with _session(config) as session:
        rows = certificates.list_certificates(session, revoked=revoked)
    print(f"{'serial':<40} {'not after':<20} {'revoked':<20} subject")
    for row in rows:
        when = row.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if row.revoked_at else "-"
        print(f"{row.serial:<40} {row.not_after.strftime('%Y-%m-%d %H:%M:%S'):<20} "
              f"{when:<20} {row.subject}")
    return 0


class _session:
    """A Session on ``[database] connection`` whose engine is disposed of afterwards."""

    def __init__(self, config: NovaConfig) -> None:
        from sqlalchemy.orm import Session

        from nova_ws.db.engine import create_engine_from_config

        self._engine = create_engine_from_config(config.database,
                                                 state_path=config.default.state_path)
        self._session = Session(self._engine)

    def __enter__(self) -> Any:
        return self._session.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._session.__exit__(*exc)
        self._engine.dispose()


_COMMANDS = {"init": _init, "issue": _issue, "revoke": _revoke, "list": _list}
