"""``nova-ws bootstrap``: a new deployment's database and ``openrc``, in one command.

What ``nova-ws up`` does on its first start, for deployments where the
services run as separate processes (``keystone-manage bootstrap`` and
devstack's ``openrc``, in one)::

    nova-ws bootstrap --config nova.conf [--openrc PATH]

  1. the schema is migrated to the newest revision (as ``nova-ws db sync``);
  2. ``openrc`` (default ``./openrc``, mode 0600) is read for the admin's and
     the demo user's passwords, or written with new random ones
     (L{nova_ws.allinone.bootstrap.ensure_openrc});
  3. the ``default`` domain, the ``admin``, ``member`` and ``reader`` roles,
     the ``admin`` and ``demo`` projects and users, Nova's default flavors and
     the ``cirros`` image are made, those that are missing
     (L{nova_ws.allinone.bootstrap.bootstrap_identity}).

Idempotent: a second run finds everything and says so. A user whose password
is not the one in ``openrc`` (say, ``openrc`` was lost and made anew) gets
the one in ``openrc``, as ``keystone-manage bootstrap`` does, and the
summary says so. Passwords are never printed: they are in ``openrc``, and
when it cannot be written nothing is done to the users.

Exit status: 0 when done; 2 with a one-line reason on stderr when the config
is missing or invalid, the database cannot be reached or refuses, or
``openrc`` cannot be read or written.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nova_ws.config import ConfigError, NovaConfig, load_config

FAILED = 2

#: The users ``bootstrap_identity`` makes: (user, project, role on it), as in
#: L{nova_ws.db.queries.identity.bootstrap}.
USERS = (("admin", "admin", "admin"), ("demo", "demo", "member"))


def add_parser(commands: Any) -> None:
    """Add ``bootstrap`` to the ``nova-ws`` parser."""
    bootstrap = commands.add_parser(
        "bootstrap", help="migrate the database, make the admin and demo users, "
                          "flavors and image, and write openrc")
    bootstrap.add_argument("--config", required=True, help="path to nova.conf")
    bootstrap.add_argument("--openrc", default="openrc",
                           help="where the passwords are kept (default ./openrc, mode 0600)")
    bootstrap.set_defaults(run=run)


class BootstrapError(Exception):
    """Bootstrap cannot go on; the message is the one line to show."""


def run(args: argparse.Namespace) -> int:
    """Run ``nova-ws bootstrap``: 0 when done, 2 with a one-line reason on error."""
    try:
        lines = bootstrap(args.config, Path(args.openrc))
    except BootstrapError as e:
        print(f"nova-ws bootstrap: {e}", file=sys.stderr)
        return FAILED
    for line in lines:
        print(line)
    return 0


def bootstrap(config_path: str, openrc: Path) -> list[str]:
    """Do the three steps; return the summary's lines.

    @raise BootstrapError: the config, the database or ``openrc`` is not usable.
    """
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from nova_ws.db import errors as db_errors
    from nova_ws.db.engine import database_url

    try:
        config = load_config(config_path)
    except ConfigError as e:
        raise BootstrapError(_one_line(e)) from None
    try:
        url = repr(database_url(config.database, config.default.state_path))  # password: ***
    except (SQLAlchemyError, ValueError) as e:
        raise BootstrapError(f"[database] connection: {_one_line(e)}") from None
    try:
        return _bootstrap(config, openrc, url)
    except (SQLAlchemyError, db_errors.DBError, CommandError, ImportError) as e:
        # CommandError: the database is at a revision this nova_ws does not know
        raise BootstrapError(f"database {url}: {_one_line(getattr(e, 'orig', None) or e)}"
                             ) from None


def _bootstrap(config: NovaConfig, openrc: Path, url: str) -> list[str]:
    from sqlalchemy.orm import Session

    from nova_ws.allinone.bootstrap import bootstrap_identity, ensure_openrc
    from nova_ws.db import migrate
    from nova_ws.db.engine import create_engine_from_config

    lines = [f"database: {url}"]
    engine = create_engine_from_config(config.database, state_path=config.default.state_path)
    try:
        was = migrate.current_revision(engine)
        now = migrate.upgrade(engine)
        lines.append(f"schema: {now} (up to date)" if now == was
                     else f"schema: {now} (migrated from {was or 'base'})")
        openrc_line, openrc_changed, credentials = _openrc(config, openrc, ensure_openrc)
        with Session(engine) as session:
            before = _State.read(session, credentials)
        bootstrap_identity(config, credentials)
        with Session(engine) as session:
            after = _State.read(session, credentials)
    finally:
        engine.dispose()
    report = _Report(before, after)
    lines.extend(report.lines())
    lines.append(openrc_line)
    if report.changed or openrc_changed or now != was:
        lines.append(f"bootstrap: done; `source {openrc}` for the admin, "
                     f"`source {openrc} demo demo` for the demo user")
    else:
        lines.append("bootstrap: already done, nothing changed")
    return lines


def _openrc(config: NovaConfig, path: Path, ensure_openrc: Any) -> tuple[str, bool, Any]:
    """Read or write ``openrc`` (then make sure only its owner can read it): its
    summary line, whether it changed, and the passwords it holds."""
    shown = path.absolute()
    try:
        old = path.read_text() if path.exists() else None
        credentials = ensure_openrc(config, path)
        mode = stat.S_IMODE(path.stat().st_mode)
        tightened = bool(mode & 0o077)
        if tightened:
            os.chmod(path, 0o600)
        new = path.read_text()
    except (OSError, ValueError) as e:
        raise BootstrapError(f"openrc {shown}: {_one_line(e)}; no user was made or changed"
                             ) from None
    if old is None:
        what = "created, mode 0600"
    elif old != new:
        what = "updated" + (f", mode {mode:04o} -> 0600" if tightened else "")
    elif tightened:
        what = f"mode {mode:04o} -> 0600"
    else:
        what = "unchanged"
    return f"openrc: {shown} ({what})", what != "unchanged", credentials


@dataclass
class _State:
    """What of the bootstrap's rows a database holds: (group, name) pairs."""

    present: set[tuple[str, str]] = field(default_factory=set)
    #: Users whose password is not the one in openrc.
    stale_password: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, session: Any, credentials: Any) -> _State:
        from sqlalchemy import select

        from nova_ws.allinone.bootstrap import DEFAULT_IMAGE
        from nova_ws.db.errors import NotFound
        from nova_ws.db.models import Flavor as FlavorRow
        from nova_ws.db.queries import flavors, identity, images

        state = cls()
        passwords = {"admin": credentials.admin_password, "demo": credentials.demo_password}
        try:
            identity.find_domain_id(session, domain_id=identity.DEFAULT_DOMAIN_ID)
            state.present.add(("domain", identity.DEFAULT_DOMAIN_NAME))
        except NotFound:
            pass  # nor any project or user (in it) then: the lookups below say NotFound
        roles = {role.name for role in identity.list_roles(session)}
        state.present.update(("roles", name) for name in identity.ROLE_NAMES if name in roles)
        for user_name, project_name, role in USERS:
            try:
                project = identity.find_project(session, project_name,
                                                domain_id=identity.DEFAULT_DOMAIN_ID)
                state.present.add(("projects", project_name))
            except NotFound:
                project = None
            try:
                user = identity.find_user(session, user_name,
                                          domain_id=identity.DEFAULT_DOMAIN_ID)
            except NotFound:
                continue
            state.present.add(("users", user_name))
            if identity.check_password(session, user.id, passwords[user_name]) is None:
                state.stale_password.add(user_name)
            if project is not None and role in {
                    r.name for r in identity.roles_on_project(session, user.id, project.id)}:
                state.present.add(("role assignments", f"{user_name} as {role} on {project_name}"))
        names = set(session.scalars(select(FlavorRow.name)))
        state.present.update(("flavors", name) for name in flavors.DEFAULT_FLAVORS
                             if name in names)
        if images.list_images(session, name=DEFAULT_IMAGE):
            state.present.add(("image", DEFAULT_IMAGE))
        return state


GROUPS = ("domain", "roles", "projects", "users", "role assignments", "flavors", "image")


@dataclass
class _Report:
    """The difference between two L{_State}s, as summary lines."""

    before: _State
    after: _State

    @property
    def changed(self) -> bool:
        return bool(self.after.present - self.before.present or self._password_set())

    def _password_set(self) -> set[str]:
        """Users that existed with another password, and have openrc's now."""
        return {name for name in self.before.stale_password
                if ("users", name) in self.before.present
                and name not in self.after.stale_password}

    def lines(self) -> list[str]:
        lines = []
        reset = self._password_set()
        for group in GROUPS:
            names = _ordered(group, {n for g, n in self.after.present if g == group})
            statuses: dict[str, list[str]] = {}
            for name in names:
                if (group, name) not in self.before.present:
                    status = "created"
                elif group == "users" and name in reset:
                    status = "found; password set to the one in openrc"
                else:
                    status = "found"
                statuses.setdefault(status, []).append(name)
            if statuses:
                parts = (f"{', '.join(members)} ({status})"
                         for status, members in statuses.items())
                lines.append(f"{group}: {'; '.join(parts)}")
        return lines


def _ordered(group: str, names: Iterable[str]) -> list[str]:
    """Names in the order the bootstrap makes them (flavors by size, not alphabet)."""
    from nova_ws.db.queries import flavors, identity

    order: dict[str, tuple[str, ...]] = {
        "roles": identity.ROLE_NAMES, "flavors": tuple(flavors.DEFAULT_FLAVORS),
        "projects": tuple(p for _, p, _ in USERS), "users": tuple(u for u, _, _ in USERS)}
    rank = {name: i for i, name in enumerate(order.get(group, ()))}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def _one_line(error: object) -> str:
    """An error's message on one line (drivers' messages can span several)."""
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
