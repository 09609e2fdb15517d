"""
Tests for C{nova-ws bootstrap}, run as the command: against a new SQLite file,
twice (the second run changes nothing), its errors, and against a new
PostgreSQL and MariaDB database (as C{tests/db} reaches them).
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from nova_ws.db import migrate
from nova_ws.db.queries.flavors import DEFAULT_FLAVORS
from nova_ws.db.queries.identity import verify_password

#: The rows the bootstrap makes, and the tables they are in.
TABLES = ("identity_domains", "identity_roles", "identity_projects", "identity_users",
          "identity_role_assignments", "flavors", "images", "image_properties")
PASSWORD = re.compile(r"^NOVA_WS_(ADMIN|DEMO)_PASSWORD='([^']+)'$", re.M)


def _nova_ws(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nova_ws.cli", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _config(tmp_path: Path, connection: str) -> Path:
    path = tmp_path / "nova.conf"
    path.write_text(f"[DEFAULT]\nstate_path = {tmp_path}\n[database]\nconnection = {connection}\n")
    return path


def _dump(url: str) -> dict[str, list[str]]:
    """Every row of the bootstrap's tables, as text, sorted: equal dumps, equal data."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {table: sorted(str(tuple(row)) for row in
                                  connection.execute(text(f"SELECT * FROM {table}")))
                    for table in TABLES}
    finally:
        engine.dispose()


def _names(url: str) -> dict[str, object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            def column(query: str) -> list[str]:
                return sorted(connection.execute(text(query)).scalars())

            return {
                "domains": column("SELECT id FROM identity_domains"),
                "roles": column("SELECT name FROM identity_roles"),
                "projects": column("SELECT name FROM identity_projects"),
                "users": column("SELECT name FROM identity_users"),
                "assignments": sorted(":".join(row) for row in connection.execute(text(
                    "SELECT u.name, r.name, p.name FROM identity_role_assignments a "
                    "JOIN identity_users u ON u.id = a.user_id "
                    "JOIN identity_roles r ON r.id = a.role_id "
                    "JOIN identity_projects p ON p.id = a.project_id"))),
                "flavors": column("SELECT name FROM flavors"),
                "images": column("SELECT name FROM images"),
                "revision": connection.execute(
                    text("SELECT version_num FROM alembic_version")).scalar_one(),
                "hashes": {name: stored for name, stored in connection.execute(
                    text("SELECT name, password_hash FROM identity_users"))},
            }
    finally:
        engine.dispose()


def _check_bootstrapped(url: str, openrc: Path) -> None:
    """The rows exist once each, and openrc's passwords are the users' passwords."""
    found = _names(url)
    assert found["domains"] == ["default"]
    assert found["roles"] == ["admin", "member", "reader"]
    assert found["projects"] == ["admin", "demo"]
    assert found["users"] == ["admin", "demo"]
    assert found["assignments"] == ["admin:admin:admin", "demo:member:demo"]
    assert found["flavors"] == sorted(DEFAULT_FLAVORS)
    assert found["images"] == ["cirros"]
    assert found["revision"] == migrate.head_revision()
    passwords = dict(PASSWORD.findall(openrc.read_text()))
    hashes = found["hashes"]
    assert isinstance(hashes, dict)
    assert verify_password(passwords["ADMIN"], hashes["admin"])
    assert verify_password(passwords["DEMO"], hashes["demo"])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _no_secrets(openrc: Path, *results: subprocess.CompletedProcess[str]) -> None:
    for _, password in PASSWORD.findall(openrc.read_text()):
        for result in results:
            assert password not in result.stdout + result.stderr


def _bootstrap_twice(tmp_path: Path, connection: str, url: str) -> None:
    """
    Run the bootstrap twice in tmp_path (so ./openrc is the default): the first
    makes everything, the second finds everything and changes no row and no byte.
    """
    config = _config(tmp_path, connection)
    openrc = tmp_path / "openrc"
    first = _nova_ws("bootstrap", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    for line in ("domain: Default (created)", "roles: admin, member, reader (created)",
                 "projects: admin, demo (created)", "users: admin, demo (created)",
                 "role assignments: admin as admin on admin, demo as member on demo (created)",
                 "flavors: m1.tiny, m1.small, m1.medium, m1.large, m1.xlarge (created)",
                 "image: cirros (created)", f"openrc: {openrc} (created, mode 0600)"):
        assert line in first.stdout.splitlines(), first.stdout
    assert f"schema: {migrate.head_revision()} (migrated from base)" in first.stdout
    assert _mode(openrc) == 0o600
    _check_bootstrapped(url, openrc)
    content, rows = openrc.read_bytes(), _dump(url)

    second = _nova_ws("bootstrap", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""
    assert "(created)" not in second.stdout
    assert "password" not in second.stdout
    assert f"schema: {migrate.head_revision()} (up to date)" in second.stdout
    assert f"openrc: {openrc} (unchanged)" in second.stdout
    assert second.stdout.splitlines()[-1] == "bootstrap: already done, nothing changed"
    assert openrc.read_bytes() == content
    assert _mode(openrc) == 0o600
    assert _dump(url) == rows
    _no_secrets(openrc, first, second)


def test_bootstrap_sqlite_twice(tmp_path: Path) -> None:
    """
    When bootstrap runs twice against a new SQLite file, the first run migrates
    it and makes the users, projects, roles, flavors, image and a 0600 ./openrc
    holding their passwords; the second reports nothing new and changes nothing.
    """
    _bootstrap_twice(tmp_path, "sqlite:///nova.sqlite", f"sqlite:///{tmp_path}/nova.sqlite")


def test_bootstrap_lost_openrc(tmp_path: Path) -> None:
    """
    When openrc is lost, the next bootstrap writes a new one and sets the users'
    passwords to its ones (and says so, without printing them); an openrc that
    others can read is made 0600; a path given with --openrc is used.
    """
    config = _config(tmp_path, "sqlite:///nova.sqlite")
    url = f"sqlite:///{tmp_path}/nova.sqlite"
    openrc = tmp_path / "etc" / "admin-openrc"
    openrc.parent.mkdir()
    args = ("bootstrap", "--config", str(config), "--openrc", str(openrc))
    assert _nova_ws(*args, cwd=tmp_path).returncode == 0
    old = openrc.read_text()
    openrc.unlink()
    again = _nova_ws(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "users: admin, demo (found; password set to the one in openrc)" in again.stdout
    assert f"openrc: {openrc} (created, mode 0600)" in again.stdout
    assert openrc.read_text() != old
    _check_bootstrapped(url, openrc)
    _no_secrets(openrc, again)
    openrc.chmod(0o644)
    loose = _nova_ws(*args, cwd=tmp_path)
    assert loose.returncode == 0, loose.stderr
    assert f"openrc: {openrc} (mode 0644 -> 0600)" in loose.stdout
    assert _mode(openrc) == 0o600
    assert not (tmp_path / "openrc").exists()


@pytest.mark.parametrize(("config_text", "message"), [
    (None, "cannot read"),
    ("[database]\nmax_pool_size = 0\n", "[database] max_pool_size"),
    ("[database]\nconnection = postgresql://nova:hunter2@127.0.0.1:1/nova\n",
     "database postgresql+psycopg://nova:***@127.0.0.1:1/nova: "),
    ("[database]\nconnection = sqlite:////nonexistent/nova.sqlite\n",
     "unable to open database file"),
])
def test_bootstrap_errors(tmp_path: Path, config_text: str | None, message: str) -> None:
    """
    When the config is missing or invalid, or the database cannot be reached,
    bootstrap says why on one line (no traceback, no password), exits 2, and
    writes no openrc.
    """
    config = tmp_path / "nova.conf"
    if config_text is not None:
        config.write_text(config_text)
    result = _nova_ws("bootstrap", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("nova-ws bootstrap: ")
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "hunter2" not in result.stderr
    assert not (tmp_path / "openrc").exists()


def test_bootstrap_openrc_not_writable(tmp_path: Path) -> None:
    """
    When openrc cannot be written, bootstrap exits 2 before touching any user:
    no password exists anywhere but in memory, so none is lost or shown.
    """
    config = _config(tmp_path, "sqlite:///nova.sqlite")
    openrc = tmp_path / "missing" / "openrc"
    result = _nova_ws("bootstrap", "--config", str(config), "--openrc", str(openrc),
                      cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"nova-ws bootstrap: openrc {openrc}: [Errno 2] No such file or directory: "
        f"'{openrc}'; no user was made or changed")
    assert _names(f"sqlite:///{tmp_path}/nova.sqlite")["users"] == []


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.integration),
                        pytest.param("mysql", marks=pytest.mark.integration)])
def server_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a new, empty database on PostgreSQL or MariaDB, dropped afterwards."""
    from tests.db.conftest import scratch_database

    with scratch_database(request.param) as url:
        yield url


def test_bootstrap_server_twice(tmp_path: Path, server_database: str) -> None:
    """
    When bootstrap runs twice against a new PostgreSQL or MariaDB database, it
    does there what it does on SQLite: everything once, then nothing.
    """
    _bootstrap_twice(tmp_path, server_database, server_database)
