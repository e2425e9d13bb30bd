"""Webhook receivers that misbehave, for the delivery tests over HTTP and over TLS."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def trickling(
    wrap: Callable[[socket.socket], socket.socket] = lambda raw: raw,
) -> Iterator[int]:
    """A receiver on 127.0.0.1 that answers one byte of a header every 0.2 s, forever (`wrap`
    makes it speak TLS, say): its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer() -> None:
        with contextlib.suppress(OSError):
            raw, _ = listener.accept()
            with wrap(raw) as connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not stop.wait(0.2):
                    connection.sendall(b"z")

    threading.Thread(target=answer, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
