"""Ships the browser files in the wheel (everything else is in pyproject.toml).

The dashboard (``web/``, at the repository's root) and the console pages
(``nova_ws/console/assets``) are served from the source tree in a checkout.
A built wheel carries the files they serve, with the npm packages they load,
under the same relative paths: ``nova_ws/_web/`` and
``nova_ws/console/assets/``. Build after ``make deps-web deps-console`` (the
npm packages must be there); ``make dist`` does both.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent

#: (source in the checkout, destination in the package tree) of every browser file set.
BROWSER_FILES = (
    ("web/index.html", "nova_ws/_web/index.html"),
    ("web/app", "nova_ws/_web/app"),
    ("web/node_modules/autobahn-browser", "nova_ws/_web/node_modules/autobahn-browser"),
    ("web/node_modules/uplot/dist", "nova_ws/_web/node_modules/uplot/dist"),
    ("nova_ws/console/assets/novnc", "nova_ws/console/assets/novnc"),
    ("nova_ws/console/assets/serial", "nova_ws/console/assets/serial"),
    ("nova_ws/console/assets/spice", "nova_ws/console/assets/spice"),
    *((f"nova_ws/console/assets/node_modules/{p}", f"nova_ws/console/assets/node_modules/{p}")
      for p in ("@novnc/novnc/core", "@novnc/novnc/vendor", "@spice-project/spice-html5",
                "@xterm/xterm")),
)


class BuildWithBrowserFiles(build_py):
    """``build_py`` that also copies the browser files (not for editable installs)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install serves them from the checkout
        for source, destination in BROWSER_FILES:
            src = ROOT / source
            if not src.exists():
                raise SystemExit(f"{source} is missing: run `make deps-web deps-console` "
                                 "before building (or `make dist`)")
            dst = Path(self.build_lib) / destination
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns(".*", "*.map", "*.ts"))
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)


setup(cmdclass={"build_py": BuildWithBrowserFiles})
