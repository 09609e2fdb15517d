"""The benchmark's "guest": TCP console ports that source, sink or idle, in one process.

    python bench/console_guest.py

Listens on three ports of 127.0.0.1 (chosen by the kernel) and prints them
as one JSON line, ``{"source": P, "sink": P, "idle": P}``, then serves until
SIGTERM:

* source: sends without end (a 1 MiB buffer of random bytes, over and over)
  as fast as each connection takes it, and discards what it receives;
* sink: reads and discards everything;
* idle: accepts and holds the connection, sending nothing.

One thread, one epoll loop, non-blocking sockets, so a thousand connections
cost one process. It stands in for a guest's VNC server at full speed: the
bytes mean nothing.
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import signal
import socket
import sys
from typing import cast

CHUNK = 1 << 20
RECV = 1 << 18


def raise_fd_limit() -> None:
    """Lift the soft limit on open files to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    sock.setblocking(False)
    return sock


def serve() -> None:
    raise_fd_limit()
    data = memoryview(os.urandom(CHUNK))
    scratch = bytearray(RECV)
    sel = selectors.DefaultSelector()
    listeners = {kind: _listen() for kind in ("source", "sink", "idle")}
    for kind, listener in listeners.items():
        sel.register(listener, selectors.EVENT_READ, ("listen", kind))
    print(json.dumps({k: s.getsockname()[1] for k, s in listeners.items()}), flush=True)
    offsets: dict[socket.socket, int] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def drop(conn: socket.socket) -> None:
        sel.unregister(conn)
        offsets.pop(conn, None)
        conn.close()

    while not stopping:
        for key, events in sel.select(1.0):
            role, kind = key.data
            sock = cast(socket.socket, key.fileobj)
            if role == "listen":
                while True:
                    try:
                        conn, _ = sock.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    conn.setblocking(False)
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    mask = selectors.EVENT_READ
                    if kind == "source":
                        mask |= selectors.EVENT_WRITE
                        offsets[conn] = 0
                    sel.register(conn, mask, ("conn", kind))
                continue
            try:
                if events & selectors.EVENT_READ:
                    if sock.recv_into(scratch) == 0:
                        drop(sock)
                        continue
                if events & selectors.EVENT_WRITE:
                    offset = offsets[sock]
                    sent = sock.send(data[offset:])
                    offsets[sock] = (offset + sent) % CHUNK
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                drop(sock)


if __name__ == "__main__":
    try:
        serve()
    except KeyboardInterrupt:
        pass
    sys.exit(0)
