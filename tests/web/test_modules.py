"""The dashboard's pure modules (states, the servers store, error messages) under node.

``tests/web/js/*.test.mjs`` import the very files nova-api serves from
``web/app`` and run on node's own test runner; this runs them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent / "js"


def test_modules_under_node() -> None:
    """When node runs the modules' tests, every one passes."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node.js (20 or newer)")
    files = sorted(str(p) for p in TESTS.glob("*.test.mjs"))
    assert files
    done = subprocess.run([node, "--test", *files], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout
