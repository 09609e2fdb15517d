"""Smoke test of the router benchmark: it runs end to end against nova_ws alone.

Only that it works is checked, never how fast: speed is for the benchmark's
own report. Crossbar is not involved (``--only nova``), so nothing is installed.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PORTS = (8080, 8081)  # the benchmark's fixed router ports
# "  calls/s, 1 outstanding      1,234      -      -"
ROW = re.compile(r"^\s+(calls/s|events/s), .*?\s{2,}([\d,]+)\s+-\s+-\s*$")


def _in_use(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_quick_benchmark_of_nova_router(tmp_path: Path) -> None:
    """When bench/router.py runs --quick --only nova, it exits 0 and its table has
    nonzero calls/s and events/s for nova_ws on every transport."""
    busy = [p for p in PORTS if _in_use(p)]
    if busy:
        pytest.skip(f"ports {busy} are in use; the benchmark needs them")
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "router.py"), "--quick", "--only", "nova",
         "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,  # a safety net only
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    assert "nova_ws" in done.stdout and "crossbar" in done.stdout
    rows = [ROW.match(line) for line in done.stdout.splitlines()]
    values = [(m.group(1), int(m.group(2).replace(",", ""))) for m in rows if m]
    assert sorted({kind for kind, _ in values}) == ["calls/s", "events/s"]
    assert len(values) == 12, done.stdout  # 3 transports x (2 RPC + 2 pub/sub cells)
    assert all(value > 0 for _, value in values), done.stdout
    results = json.loads(out.read_text())["results"]
    assert list(results) == ["nova_ws"]
    assert all("error" not in cell for cells in results["nova_ws"].values()
               for cell in cells.values())
