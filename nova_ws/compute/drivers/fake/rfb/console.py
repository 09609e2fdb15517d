"""One VNC console per fake guest: a framebuffer and the RFB server that shows it.

``RFBServerFactory`` builds the connections to one framebuffer and listens on
one TCP port. ``GuestConsole`` is what the fake driver holds per guest: create
it with the guest's name (and a VNC password, if any), ``listen`` on
127.0.0.1 port 0, hand out ``host``/``port``, write boot lines with ``log``,
follow the guest's power state with ``set_power_state``, ``stop`` on delete.

A console secured like QEMU's ``-vnc ...,tls-creds=...`` takes ``tls`` (see
``security.vencrypt_server_tls``): it then offers only VeNCrypt, X509Vnc when
it has a password, else X509None. With neither, it offers None, as before.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.interfaces import IAddress, IListeningPort, IReactorTCP
from twisted.internet.protocol import ServerFactory

from nova_ws.compute.drivers.fake.rfb.framebuffer import Framebuffer
from nova_ws.compute.drivers.fake.rfb.screen import PowerState
from nova_ws.compute.drivers.fake.rfb.security import RandomBytes, SecurityConfig
from nova_ws.compute.drivers.fake.rfb.server import RFBServerProtocol

if TYPE_CHECKING:
    from PIL.Image import Image


class RFBServerFactory(ServerFactory):
    """Builds RFB connections to one framebuffer; listens on one TCP port."""

    def __init__(self, framebuffer: Framebuffer, security: SecurityConfig | None = None) -> None:
        self.framebuffer = framebuffer
        self.security = security or SecurityConfig()
        self.clients: set[RFBServerProtocol] = set()
        self.listening: IListeningPort | None = None
        self._idle: list[Deferred[None]] = []

    def buildProtocol(self, addr: IAddress | None) -> RFBServerProtocol:
        proto = RFBServerProtocol(self.framebuffer, self.security)
        proto.factory = self
        proto.on_lost = self._lost
        proto.on_exclusive = self._exclusive
        self.clients.add(proto)
        return proto

    @property
    def port(self) -> int | None:
        """The bound TCP port once listening, else None."""
        if self.listening is None:
            return None
        address = self.listening.getHost()
        assert isinstance(address, (IPv4Address, IPv6Address))
        return address.port

    def listen(self, reactor: IReactorTCP, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host``:``port`` (0: any free port) and return the bound port.

        Raises twisted's CannotListenError when the address is taken.
        """
        if self.listening is not None:
            raise RuntimeError("already listening")
        self.listening = reactor.listenTCP(port, self, interface=host)
        bound = self.port
        assert bound is not None
        return bound

    def when_idle(self) -> Deferred[None]:
        """Fires once no client is connected (at once when none is)."""
        waiter: Deferred[None] = Deferred()
        if self.clients:
            self._idle.append(waiter)
        else:
            waiter.callback(None)
        return waiter

    def stop(self) -> Deferred[None]:
        """Stop listening and cut every client; fires when both are done."""
        stopping: list[Deferred[Any]] = []
        if self.listening is not None:
            stopping.append(maybeDeferred(self.listening.stopListening))
            self.listening = None
        for client in list(self.clients):
            client.close(abort=True)
        stopping.append(self.when_idle())
        done = DeferredList(stopping, consumeErrors=True)
        return done.addCallback(lambda _: None)

    def _lost(self, proto: RFBServerProtocol) -> None:
        self.clients.discard(proto)
        if not self.clients:
            waiters, self._idle = self._idle, []
            for waiter in waiters:
                waiter.callback(None)

    def _exclusive(self, proto: RFBServerProtocol) -> None:
        """A client asked for exclusive access (shared-flag 0): drop the others."""
        for other in list(self.clients):
            if other is not proto:
                other.drop("another client asked for exclusive access")


class GuestConsole:
    """A guest's VNC screen: the console framebuffer and its RFB server."""

    def __init__(
        self,
        name: str,
        password: str | None = None,
        width: int = 800,
        height: int = 600,
        random_bytes: RandomBytes = os.urandom,
        *,
        tls: Any = None,
    ) -> None:
        self.framebuffer = Framebuffer(name, width, height)
        self.factory = RFBServerFactory(
            self.framebuffer,
            SecurityConfig(password=password, random_bytes=random_bytes, tls=tls),
        )
        self.host: str | None = None

    @property
    def name(self) -> str:
        """The guest name shown in the title and sent as the desktop name."""
        return self.framebuffer.name

    @property
    def port(self) -> int | None:
        """The VNC port once listening, else None."""
        return self.factory.port

    @property
    def power_state(self) -> PowerState:
        """The power state the screen shows."""
        return self.framebuffer.power_state

    def listen(self, reactor: IReactorTCP, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve VNC on ``host``:``port`` (0: any free port); returns the bound port."""
        bound = self.factory.listen(reactor, host, port)
        self.host = host
        return bound

    def stop(self) -> Deferred[None]:
        """Stop serving and disconnect every viewer; fires when done."""
        self.host = None
        return self.factory.stop()

    def log(self, line: str) -> None:
        """Append a line (or several, split at newlines) to the boot log."""
        self.framebuffer.log(line)

    def set_power_state(self, state: PowerState) -> None:
        """Show ``running``, ``paused`` or ``shutdown``; ValueError otherwise."""
        self.framebuffer.set_power_state(state)

    def console_output(self) -> str:
        """The whole log kept so far, one line per line (for get_console_output)."""
        return "".join(line + "\n" for line in self.framebuffer.screen.log_lines)

    def text(self) -> str:
        """The screen as text (see ``Framebuffer.text``)."""
        return self.framebuffer.text()

    def screenshot(self) -> Image:
        """The screen as a Pillow RGB image."""
        return self.framebuffer.screenshot()
