"""Smoke test of the boot benchmark: it runs end to end, --quick, on SQLite.

Only that it works is checked, never how fast: speed is for the benchmark's
own report.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# "  servers ACTIVE / ERROR / unsettled                50 / 0 / 0"
SERVERS = re.compile(r"^\s+servers ACTIVE / ERROR / unsettled\s+(\d+) / (\d+) / (\d+)\s*$")
# "  servers/s, build call -> last ACTIVE                    21.8"
STORM_RATE = re.compile(r"^\s+servers/s, build call -> last ACTIVE\s+([\d,.]+)\s*$")
# "  hosts over an allocation ratio                        0 of 5"
OVER = re.compile(r"^\s+hosts over an allocation ratio\s+(\d+) of (\d+)\s*$")
# "  direct, 16 at once          147   108.60 ..."  (decisions/s is the first number)
DECISIONS = re.compile(r"^\s+(direct|wamp), (1 at a time|\d+ at once)\s+([\d,]+)\s")


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _matches(pattern: re.Pattern[str], stdout: str) -> list[re.Match[str]]:
    return [m for m in map(pattern.match, stdout.splitlines()) if m]


@pytest.mark.slow
def test_quick_boot_benchmark(tmp_path: Path) -> None:
    """When bench/boot.py runs --quick, it exits 0, its table shows every server
    ACTIVE with no host over its ratios, and every rate it reports is nonzero."""
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "boot.py"), "--quick", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,  # a safety net only
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    stdout = done.stdout
    [servers] = _matches(SERVERS, stdout)
    assert (int(servers[1]), int(servers[2]), int(servers[3])) == (50, 0, 0), stdout
    [rate] = _matches(STORM_RATE, stdout)
    assert _number(rate[1]) > 0, stdout
    [over] = _matches(OVER, stdout)
    assert (int(over[1]), int(over[2])) == (0, 5), stdout
    rows = _matches(DECISIONS, stdout)
    assert [(m[1], m[2]) for m in rows] == [("direct", "1 at a time"), ("direct", "16 at once"),
                                            ("wamp", "1 at a time"), ("wamp", "16 at once")]
    assert all(_number(m[3]) > 0 for m in rows), stdout
    results = json.loads(out.read_text())["results"]
    assert results["storm"]["active"] == 50
    assert all(mode["failures"] == 0 for mode in results["scheduler"]["modes"])
