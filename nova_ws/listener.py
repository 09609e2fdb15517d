"""An HTTP(S) listener as a Twisted service, shared by nova-api and the console proxies.

``HttpListener`` listens while running, over TLS when it is given a
certificate and key (``tls=(cert_file, key_file)``), and records the port
it got (port 0 picks a free one).
"""

from __future__ import annotations

from typing import Any

from twisted.application.service import Service
from twisted.logger import Logger
from twisted.web.server import Site

log = Logger()


class HttpListener(Service):
    """Listens on a TCP (or TLS) port with a resource while running."""

    def __init__(self, reactor: Any, resource: Any, host: str, port: int, *,
                 name: str = "http", tls: tuple[str, str] | None = None) -> None:
        self.reactor = reactor
        self.site = Site(resource)
        self.host, self.port_number = host, port
        self.label = name
        self.tls = tls
        self.port: Any = None

    @property
    def scheme(self) -> str:
        """``https`` when listening over TLS, else ``http``."""
        return "https" if self.tls else "http"

    def startService(self) -> None:
        super().startService()
        if self.tls:
            from nova_ws.router.tls import server_tls_options

            options = server_tls_options(*self.tls)
            self.port = self.reactor.listenSSL(self.port_number, self.site, options,
                                               interface=self.host)
        else:
            self.port = self.reactor.listenTCP(self.port_number, self.site, interface=self.host)
        address = self.port.getHost()
        log.info("{name}: {scheme}://{host}:{port}/", name=self.label, scheme=self.scheme,
                 host=address.host, port=address.port)

    def stopService(self) -> Any:
        super().stopService()
        port, self.port = self.port, None
        return port.stopListening() if port is not None else None
