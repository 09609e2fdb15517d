"""A fake guest's serial console: a TCP port speaking plain text.

A client that connects first gets the boot log so far, then every new line
as the guest writes it; what it types is echoed back, and each line it ends
with Enter goes into the guest's log as ``$ <line>`` (as on the VNC screen).
This is what ``nova-serialproxy`` connects browsers to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.protocol import Factory, Protocol

MAX_LINE = 4096


class SerialProtocol(Protocol):
    """One client of a guest's serial console."""

    factory: SerialConsoleFactory
    transport: Any

    def __init__(self) -> None:
        self._line = bytearray()
        self.closed: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        self.factory.clients.add(self)
        for line in self.factory.history():
            self.transport.write(line.encode("utf-8", "replace") + b"\r\n")

    def connectionLost(self, reason: Any = None) -> None:
        self.factory.clients.discard(self)
        self.closed.callback(None)

    def dataReceived(self, data: bytes) -> None:
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._line:
                    self.transport.write(b"\r\n")
                    self.factory.typed(self._line.decode("utf-8", "replace"))
                    self._line.clear()
            elif byte in (0x08, 0x7F):
                if self._line:
                    self._line.pop()
                    self.transport.write(b"\b \b")
            elif len(self._line) < MAX_LINE:
                self._line.append(byte)
                self.transport.write(bytes([byte]))


class SerialConsoleFactory(Factory):
    """The serial console of one guest."""

    protocol = SerialProtocol  # type: ignore[assignment]

    def __init__(self, history: Callable[[], list[str]], typed: Callable[[str], None]) -> None:
        self.history = history
        self.typed = typed
        self.clients: set[SerialProtocol] = set()
        self.port: Any = None

    def write_line(self, line: str) -> None:
        """Send a line the guest wrote to every connected client."""
        data = line.encode("utf-8", "replace") + b"\r\n"
        for client in list(self.clients):
            client.transport.write(data)

    def listen(self, reactor: Any, host: str = "127.0.0.1") -> int:
        """Listen on a free port; returns it."""
        self.port = reactor.listenTCP(0, self, interface=host)
        return int(self.port.getHost().port)

    def stop(self) -> Deferred[Any]:
        """Stop listening and disconnect every client."""
        waits: list[Deferred[Any]] = []
        if self.port is not None:
            waits.append(maybeDeferred(self.port.stopListening))  # a Deferred or None
        for client in list(self.clients):
            waits.append(client.closed)
            client.transport.loseConnection()
        return DeferredList(waits)

