"""``nova-ws user|project|role`` as subprocesses against a migrated SQLite file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from nova_ws.db.queries import identity


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nova_ws.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])


def test_people_and_projects(tmp_path: Path) -> None:
    """When an admin makes a project and a user in it, the user can log in with the
    printed password and holds the role; a second password revokes nothing it should not."""
    conf = tmp_path / "nova.conf"
    conf.write_text(f"[DEFAULT]\nstate_path = {tmp_path}\n"
                    f"[database]\nconnection = sqlite:///{tmp_path}/nova.sqlite\n")
    assert _run("db", "sync", "--config", str(conf)).returncode == 0
    made = _run("project", "create", "team", "--config", str(conf))
    assert made.returncode == 0, made.stderr
    user = _run("user", "create", "ana", "--project", "team", "--config", str(conf))
    assert user.returncode == 0, user.stderr
    password = user.stdout.split("password: ")[1].strip()
    engine = create_engine(f"sqlite:///{tmp_path}/nova.sqlite")
    with Session(engine) as session:
        ana = identity.authenticate_password(session, "ana", password)
        team = identity.find_project(session, "team")
        assert ana is not None and ana.default_project_id == team.id
        assert [r.name for r in identity.roles_on_project(session, ana.id, team.id)] == ["member"]
    again = _run("role", "add", "--user", "ana", "--project", "team", "--role", "reader",
                 "--config", str(conf))
    assert again.returncode == 0 and "now has reader on team" in again.stdout
    changed = _run("user", "password", "ana", "--password", "n3w-secret", "--config", str(conf))
    assert changed.returncode == 0, changed.stderr
    with Session(engine) as session:
        assert identity.authenticate_password(session, "ana", password) is None
        assert identity.authenticate_password(session, "ana", "n3w-secret") is not None
    assert "ana" in _run("user", "list", "--config", str(conf)).stdout
    assert "team" in _run("project", "list", "--config", str(conf)).stdout
    duplicate = _run("user", "create", "ana", "--config", str(conf))
    assert duplicate.returncode == 1 and "ana" in duplicate.stderr
    missing = _run("role", "add", "--user", "ana", "--project", "nope", "--role", "member",
                   "--config", str(conf))
    assert missing.returncode == 1 and "nope" in missing.stderr
    engine.dispose()
