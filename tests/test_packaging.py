"""The browser files travel with nova_ws: in the checkout and in a built wheel.

Every file the dashboard and the console pages load is followed from the
pages themselves (``tests.page_files``) and must be found where the site
looks for it; a wheel built as ``make dist`` builds it, installed on its own,
must serve all of them from the installed package, not from this checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.page_files import report

ROOT = Path(__file__).resolve().parents[1]


def test_every_file_the_pages_load_is_served_from_the_checkout() -> None:
    """Following each page's references finds no file the site would 404."""
    found = report()
    assert found["web"] == str(ROOT / "web")
    assert {kind: found[kind] for kind in ("dashboard", "novnc", "spice-html5", "serial")} == \
        {"dashboard": [], "novnc": [], "spice-html5": [], "serial": []}


@pytest.mark.slow
def test_an_installed_wheel_serves_every_page_file(tmp_path: Path) -> None:
    """A wheel has the pages and their npm packages; installed alone, it serves them all."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(ROOT)], check=True, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("nova_ws-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("nova_ws/_web/index.html", "nova_ws/_web/app/main.js",
                 "nova_ws/console/assets/novnc/vnc_lite.html",
                 "twisted/plugins/nova_ws_services.py"):
        assert name in names
    assert not [n for n in names if n.startswith("nova_ws/console/assets/") and
                n.endswith((".ts", ".map"))]
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                    "--target", str(site), str(wheel)], check=True, cwd=tmp_path)
    # the installed copy of nova_ws comes first; tests.page_files from this checkout
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    out = subprocess.run([sys.executable, "-m", "tests.page_files"], check=True, cwd=tmp_path,
                         env=env, capture_output=True, text=True).stdout
    found = json.loads(out)
    assert found["web"] == str(site / "nova_ws" / "_web")
    assert found["assets"] == str(site / "nova_ws" / "console" / "assets")
    assert {kind: found[kind] for kind in ("dashboard", "novnc", "spice-html5", "serial")} == \
        {"dashboard": [], "novnc": [], "spice-html5": [], "serial": []}
