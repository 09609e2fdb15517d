"""The fake guest's serial console over a real TCP connection."""

from __future__ import annotations

import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol

from nova_ws.compute.drivers.fake.driver import FakeDriver
from nova_ws.compute.drivers.interfaces import InstanceSpec


class Terminal(Protocol):
    """Collects what the console sends; ``wait_for(text)`` fires once it has arrived."""

    def __init__(self) -> None:
        self.received = b""
        self._waits: list[tuple[bytes, Deferred[None]]] = []

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        for text, d in list(self._waits):
            if text in self.received and not d.called:
                d.callback(None)

    def wait_for(self, text: bytes) -> Deferred[None]:
        from twisted.internet import reactor

        d: Deferred[None] = Deferred()
        self._waits.append((text, d))
        self.dataReceived(b"")
        return d.addTimeout(10, reactor)


@pytest_twisted.ensureDeferred
async def test_serial_console_shows_the_log_and_takes_input() -> None:
    """When a client connects, it gets the boot log; a typed line lands in the log and on screen."""
    from twisted.internet import reactor

    driver = FakeDriver(reactor)
    spec = InstanceSpec(uuid="u-serial", name="serialvm", vcpus=1, memory_mb=256, root_gb=1)
    await driver.spawn(spec)
    try:
        endpoint = await driver.get_console("u-serial", "serial")
        assert endpoint.kind == "serial" and endpoint.password is None
        term = Terminal()
        await connectProtocol(TCP4ClientEndpoint(reactor, endpoint.host, endpoint.port), term)
        await term.wait_for(b"serialvm login:")
        term.transport.write(b"unamx\x7fe -a\r")  # a typo, a backspace, then Enter
        await term.wait_for(b"$ uname -a")
        assert "$ uname -a" in await driver.get_console_output("u-serial")
        assert "$ uname -a" in driver.guests["u-serial"].console.text()
    finally:
        await driver.destroy("u-serial")
