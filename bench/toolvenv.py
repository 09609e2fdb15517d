"""A virtualenv of its own for an anchor the benchmarks compare against.

Crossbar.io and websockify pin Twisted, Autobahn or numpy versions of their
own, so each lives in ``bench/.venv-<name>``, made on first use and made again
when its pinned requirements change (a stamp file records them).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def ensure_tool(venv: Path, requirements: Sequence[str], command: str,
                error: type[Exception] = RuntimeError) -> Path:
    """``venv/bin/<command>``, installing ``requirements`` into ``venv`` unless done.

    Raises ``error`` when pip cannot install them.
    """
    stamp, path = venv / ".bench-requirements", venv / "bin" / command
    wanted = "\n".join(requirements)
    if path.exists() and stamp.exists() and stamp.read_text() == wanted:
        return path
    print(f"installing {' '.join(requirements)} into {venv} ...", file=sys.stderr)
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", *requirements], stdout=sys.stderr)
    if done.returncode != 0 or not path.exists():
        raise error(f"pip could not install {list(requirements)} into {venv}")
    stamp.write_text(wanted)
    return path
