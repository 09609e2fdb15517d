"""
Tests for the nova-ws admin command.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nova_ws

REPO = Path(__file__).resolve().parent.parent


def _nova_ws(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nova_ws.cli", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_config_check_good() -> None:
    """
    When the shipped nova.conf is checked, it is OK.
    """
    result = _nova_ws("config", "check", "etc/nova.conf")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "etc/nova.conf: OK"


def test_config_check_bad(tmp_path: Path) -> None:
    """
    When a bad nova.conf is checked, the error names file, section and option, exit 1.
    """
    bad = tmp_path / "nova.conf"
    bad.write_text("[router]\nwebsocket_port = abc\n")
    result = _nova_ws("config", "check", str(bad))
    assert result.returncode == 1
    assert f"{bad}: [router] websocket_port: 'abc' is not an integer" in result.stderr
    assert "OK" not in result.stdout


def test_up_bad_config(tmp_path: Path) -> None:
    """
    When nova-ws up is given a bad config, it reports it and exits 1 without starting.
    """
    bad = tmp_path / "nova.conf"
    bad.write_text("[nope]\n")
    result = _nova_ws("up", "--config", str(bad))
    assert result.returncode == 1
    assert f"{bad}: [nope]: unknown section" in result.stderr


def test_version() -> None:
    """
    When --version is asked for, the package version is printed.
    """
    result = _nova_ws("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"nova-ws {nova_ws.__version__}"
