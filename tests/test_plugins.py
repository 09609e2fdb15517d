"""
Tests for the twistd plugins in twisted/plugins/nova_ws_services.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from twisted.application.service import IServiceMaker
from twisted.plugin import getPlugins

from nova_ws.allinone.services import SERVICES, load_tap

REPO = Path(__file__).resolve().parent.parent
CONFIG = str(REPO / "etc" / "nova.conf")

DESIGN_SERVICES = {
    "nova-router",
    "nova-api",
    "nova-scheduler",
    "nova-conductor",
    "nova-compute",
    "nova-novncproxy",
    "nova-spicehtml5proxy",
    "nova-serialproxy",
    "nova-consoleauth",
    "nova-cert",
    "nova-allinone",
}

TWISTD = "import sys; from twisted.scripts.twistd import run; sys.exit(run())"


def _run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.run(
        [sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_every_service_has_a_plugin() -> None:
    """
    When Twisted lists its service makers, every nova_ws service is there.
    """
    found = {maker.tapname: maker for maker in getPlugins(IServiceMaker)}
    assert DESIGN_SERVICES <= set(found)
    assert {s.tapname for s in SERVICES} == DESIGN_SERVICES
    for name in DESIGN_SERVICES:
        assert IServiceMaker.providedBy(found[name])
        assert found[name].description


def test_missing_tap_module_says_so() -> None:
    """
    When a service's tap module is missing from an install, its command still
    takes --config, then says so and exits 2 instead of a traceback.
    """
    from nova_ws.allinone.services import Service
    from twisted.plugins.nova_ws_services import _NovaService

    maker = _NovaService(Service("nova-missing", "nova_ws.no_such_package.tap", "missing"))
    options = maker.options()
    options.parseOptions(["--config", CONFIG])
    assert options["config"] == CONFIG
    with pytest.raises(SystemExit) as info:
        maker.makeService(options)
    assert info.value.code == 2


def test_load_tap_absent_module() -> None:
    """
    When a tap module is absent, load_tap says so with None; present ones import.
    """
    assert load_tap("nova_ws.no_such_package.tap") is None
    assert load_tap("nova_ws.allinone.tap") is not None


def test_twistd_help_lists_services(tmp_path: Path) -> None:
    """
    When twistd --help runs, it lists every nova_ws service.
    """
    result = _run("-c", TWISTD, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in DESIGN_SERVICES:
        assert name in result.stdout


