"""``nova-ws image create|list`` as a subprocess against a migrated SQLite file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nova_ws.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])


def test_create_then_list(tmp_path: Path) -> None:
    """When an image is created, it is listed; bad properties are refused with exit 1."""
    conf = tmp_path / "nova.conf"
    conf.write_text(f"[DEFAULT]\nstate_path = {tmp_path}\n"
                    f"[database]\nconnection = sqlite:///{tmp_path}/nova.sqlite\n")
    assert _run("db", "sync", "--config", str(conf)).returncode == 0
    made = _run("image", "create", "ubuntu", "--config", str(conf), "--min-disk", "2",
                "--property", "architecture=x86_64")
    assert made.returncode == 0, made.stderr
    uuid = made.stdout.strip()
    listed = _run("image", "list", "--config", str(conf))
    assert listed.returncode == 0 and f"{uuid}  ubuntu  active  public" in listed.stdout
    bad = _run("image", "create", "x", "--config", str(conf), "--property", "novalue")
    assert bad.returncode == 1 and "KEY=VALUE" in bad.stderr
