"""Smoke test of the console proxy benchmark: it runs end to end, --quick.

Only that it works is checked, never how fast: speed is for the benchmark's
own report. The first test needs nothing installed (``--only nova``: nova_ws
and plain TCP); the second runs websockify too, which the benchmark installs
into ``bench/.venv-websockify`` on first use.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# "guest -> browser      1,138 / 1,100     4,170 / 4,000 ..."  (best / median per target)
ROW = re.compile(r"^(guest -> browser|browser -> guest)((?:\s+[\d,]+ / [\d,]+)+)")
PAIR = re.compile(r"([\d,]+) / ([\d,]+)")
# "  aggregate MB/s, 50 busy (guest -> browser)        1,062"
AGGREGATE = re.compile(r"^\s+aggregate MB/s, (\d+) busy \(guest -> browser\)\s+([\d,.]+)\s*$")
OPEN_P50 = re.compile(r"^total\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$")


def _run(tmp_path: Path, *args: str) -> tuple[str, dict]:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "console.py"), "--quick", "--json", str(out),
         *args],
        cwd=REPO, capture_output=True, text=True, timeout=600,  # a safety net only
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    return done.stdout, json.loads(out.read_text())


def _rows(stdout: str) -> dict[str, list[float]]:
    """Direction -> best throughput of each target column, in table order."""
    rows = {}
    for line in stdout.splitlines():
        match = ROW.match(line)
        if match:
            rows[match[1]] = [float(best.replace(",", "")) for best, _ in
                              PAIR.findall(match[2])]
    return rows


def _check_open_time(stdout: str, results: dict) -> None:
    """Part 3 gives open times, or says plainly why it cannot yet."""
    part = results["results"]["open"]
    if "not_available" in part:
        assert "not available: " in stdout
        return
    assert "error" not in part, part
    assert len(part["samples"]) == part["opens"] == 5
    [total] = [m for m in map(OPEN_P50.match, stdout.splitlines()) if m]
    assert 0 < float(total[1]) <= float(total[2]) <= float(total[3])


@pytest.mark.slow
def test_quick_console_benchmark_of_nova_ws(tmp_path: Path) -> None:
    """When bench/console.py runs --quick --only nova, it exits 0, both directions move
    bytes through nova_ws and over plain TCP, 50 busy consoles move bytes, RSS is
    reported, and the open-time part gives numbers or says why it is not available."""
    stdout, results = _run(tmp_path, "--only", "nova")
    rows = _rows(stdout)
    assert sorted(rows) == ["browser -> guest", "guest -> browser"], stdout
    assert all(len(values) == 2 and all(v > 0 for v in values) for values in rows.values())
    [aggregate] = [m for m in map(AGGREGATE.match, stdout.splitlines()) if m]
    assert int(aggregate[1]) == 50 and float(aggregate[2].replace(",", "")) > 0, stdout
    many = results["results"]["many"]["nova_ws"]
    assert many["starved"] == 0 and many["busy_rss"] > 0
    assert "websockify" not in results["results"]["many"]
    _check_open_time(stdout, results)


@pytest.mark.slow
def test_quick_console_benchmark_with_websockify(tmp_path: Path) -> None:
    """When websockify is installed, --quick --parts 1,2 measures it beside nova_ws: a
    ratio per direction, and its idle consoles' process count and PSS."""
    stdout, results = _run(tmp_path, "--parts", "1,2")
    rows = _rows(stdout)
    assert all(len(values) == 3 and all(v > 0 for v in values) for values in rows.values())
    assert "ours/websockify" in stdout
    idle = results["results"]["many"]["websockify"]["idle"]
    assert idle["processes"] > 10 and idle["pss"] > 0  # a process per console, plus its own
