"""
Tests for C{nova-ws db sync} and C{nova-ws db version}, run as the command.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from nova_ws.db import migrate
from nova_ws.db.models import Base

REPO = Path(__file__).resolve().parents[2]


def _nova_ws(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nova_ws.cli", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _config(tmp_path: Path, connection: str = "sqlite:///nova.sqlite") -> str:
    path = tmp_path / "nova.conf"
    path.write_text(f"[DEFAULT]\nstate_path = {tmp_path}\n[database]\nconnection = {connection}\n")
    return str(path)


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


def test_sync_creates_schema(tmp_path: Path) -> None:
    """
    When db sync runs against a new SQLite file in state_path, it creates every
    table, prints the head revision, and running it again changes nothing.
    """
    config = _config(tmp_path)
    head = migrate.head_revision()
    before = _nova_ws("db", "version", "--config", config)
    assert before.returncode == 0, before.stderr
    assert before.stdout.strip() == "base"
    first = _nova_ws("db", "sync", "--config", config)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == head
    database = tmp_path / "nova.sqlite"
    assert _tables(database) == set(Base.metadata.tables) | {"alembic_version"}
    again = _nova_ws("db", "sync", "--config", config)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == head
    version = _nova_ws("db", "version", "--config", config)
    assert version.stdout.strip() == head


def test_sync_unreachable_database(tmp_path: Path) -> None:
    """
    When the database cannot be reached, db sync says which (password hidden) and exits 1.
    """
    config = _config(tmp_path, "mysql+pymysql://nova:hunter2@127.0.0.1:1/nova")
    result = _nova_ws("db", "sync", "--config", config)
    assert result.returncode == 1
    assert "nova-ws db sync: " in result.stderr
    assert "127.0.0.1:1" in result.stderr
    assert "hunter2" not in result.stderr


def test_sync_bad_config(tmp_path: Path) -> None:
    """
    When the config is invalid, db sync reports it and exits 1.
    """
    path = tmp_path / "nova.conf"
    path.write_text("[database]\nmax_pool_size = 0\n")
    result = _nova_ws("db", "sync", "--config", str(path))
    assert result.returncode == 1
    assert f"{path}: [database] max_pool_size: " in result.stderr
