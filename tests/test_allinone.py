"""
Tests for L{nova_ws.allinone.tap}: one MultiService of every implemented service.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from twisted.application.service import MultiService
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from zope.interface import implementer

from nova_ws.allinone.services import Service
from nova_ws.allinone.tap import Options, makeService, makeServiceFromConfig
from nova_ws.config import parse_config

SHARED = """
from twisted.application.service import Service

def makeServiceFromConfig(config):
    service = Service()
    service.config = config
    return service
"""

OPTIONS_ONLY = """
from twisted.application.service import Service
from twisted.python import usage

class Options(usage.Options):
    optParameters = [["config", "c", None, "nova.conf"]]

def makeService(options):
    service = Service()
    service.configPath = options["config"]
    return service
"""


@implementer(ILogObserver)
class _Events(list[LogEvent]):
    """
    Collects log events.
    """

    def __call__(self, event: LogEvent) -> None:
        self.append(event)


@pytest.fixture
def taps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Service, ...]]:
    """
    Three components: one sharing the config, one taking --config, one absent.
    """
    package = tmp_path / "allinone_taps"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "shared.py").write_text(SHARED)
    (package / "options_only.py").write_text(OPTIONS_ONLY)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield (
        Service("svc-shared", "allinone_taps.shared", ""),
        Service("svc-missing", "allinone_taps.missing", ""),
        Service("svc-options", "allinone_taps.options_only", ""),
    )
    for name in [m for m in sys.modules if m.split(".")[0] == "allinone_taps"]:
        del sys.modules[name]


def test_builds_implemented_services(taps: tuple[Service, ...]) -> None:
    """
    When some components exist, the all-in-one holds exactly those, in order,
    sharing the parsed config, and logs one line for the missing one.
    """
    config = parse_config("[DEFAULT]\nhost = h\n", "my.conf")
    events = _Events()
    globalLogPublisher.addObserver(events)
    try:
        allinone = makeServiceFromConfig(config, "my.conf", taps)
    finally:
        globalLogPublisher.removeObserver(events)
    assert isinstance(allinone, MultiService)
    assert [s.name for s in allinone] == ["svc-shared", "svc-options"]
    assert allinone.getServiceNamed("svc-shared").config is config
    assert allinone.getServiceNamed("svc-options").configPath == "my.conf"
    skipped = [e for e in events if e.get("tapname") == "svc-missing"]
    assert len(skipped) == 1


def test_broken_tap_is_an_error(taps: tuple[Service, ...], tmp_path: Path) -> None:
    """
    When a tap module exists but its own import fails, the error is not hidden.
    """
    (tmp_path / "allinone_taps" / "broken.py").write_text("import allinone_taps.nowhere\n")
    importlib.invalidate_caches()
    with pytest.raises(ModuleNotFoundError):
        makeServiceFromConfig(parse_config(""), None, [Service("x", "allinone_taps.broken", "")])


def test_make_service_reads_config(tmp_path: Path) -> None:
    """
    When --config names a bad file, makeService raises the config error.
    """
    bad = tmp_path / "nova.conf"
    bad.write_text("[router]\nwebsocket_port = x\n")
    options = Options()
    options.parseOptions(["--config", str(bad)])
    with pytest.raises(ValueError, match="websocket_port"):
        makeService(options)
