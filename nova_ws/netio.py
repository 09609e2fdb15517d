"""Writing to a Twisted TCP connection with fewer system calls and reactor turns.

Twisted's ``transport.write`` always buffers and asks the reactor to write on
its next turn, which costs two ``epoll_ctl`` calls and a turn per write. When
nothing is buffered before them, ``write_now`` and ``write_parts`` hand the
bytes straight to the socket (``send``/``sendmsg``) and give Twisted only
what the kernel did not take, so order, backpressure (producers are paused
as the buffer grows) and error handling stay Twisted's. TLS and other
transports always take the ordinary path. The router (every frame it
writes) and the console proxy (every chunk either way) both write this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet import tcp


def _idle(transport: Any) -> bool:
    """Whether ``transport`` is a plain TCP/Unix connection with nothing waiting to go."""
    try:
        return bool(isinstance(transport, tcp.Connection) and transport.TLS is False
                    and transport.connected and not transport.disconnecting
                    and not transport._writeDisconnected
                    and not transport.dataBuffer and not transport._tempDataBuffer
                    and not transport._aborting)
    except AttributeError:
        return False


def write_now(transport: Any, data: bytes) -> None:
    """Write ``data``: straight to the socket when nothing waits before it."""
    if _idle(transport):
        try:
            sent = transport.socket.send(data)
        except OSError:
            sent = 0  # would block, or broken: Twisted's own write finds out
        if sent >= len(data):
            return
        data = data[sent:]
    transport.write(data)


def write_parts(transport: Any, parts: Sequence[bytes]) -> None:
    """Write ``parts`` in order, as one ``sendmsg`` when nothing waits before them."""
    if _idle(transport):
        try:
            sent = transport.socket.sendmsg(parts)
        except OSError:
            sent = 0
        if sent:
            for index, part in enumerate(parts):
                if sent < len(part):
                    transport.writeSequence([part[sent:], *parts[index + 1:]])
                    return
                sent -= len(part)
            return
    transport.writeSequence(parts)
