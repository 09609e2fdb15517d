"""Smoke test of the API benchmark: ``bench/api.py --quick`` runs end to end.

Only that it works is checked, never how fast: speed is for the benchmark's
own report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
READS = ("token issue", "server list", "server list (detail)", "flavor list (detail)",
         "server show")


@pytest.mark.slow
def test_quick_api_benchmark(tmp_path: Path) -> None:
    """When bench/api.py runs --quick, it exits 0, prints its table, and every kind of
    request was answered as expected, at a nonzero rate.
    """
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "bench/api.py", "--quick", "--json", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "req/s" in done.stdout and "p99 ms" in done.stdout
    rows = {row["name"].strip(): row for row in json.loads(out.read_text())["results"]}
    assert set(READS) | {"server create + delete"} <= set(rows)
    for name in READS:
        assert rows[name]["requests"] == 40 and rows[name]["errors"] == 0, rows[name]
    for row in rows.values():
        assert row["per_second"] > 0 and row["p50_ms"] <= row["p99_ms"], row
    created = rows["server create alone"]
    assert created["requests"] == 40 and created["errors"] == 0, created
