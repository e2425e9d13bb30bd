"""A deadline for a whole request body, kept by one thread per worker.

The client socket's timeout bounds each read, not the body: a client sending a byte every few
seconds kept every read under it and held the sync worker until gunicorn killed it at its
timeout (30 s), and got a 500. A signal per request (SIGALRM) or a timer thread per request
would cost the hot path far more than the few microseconds it may spend here (every trace is a
POST with a small body); so a body being read is one entry in a set, and one long-lived thread,
asleep until the earliest entry's deadline, shuts the reading side of a late body's socket down:
the read blocked on it returns at once, empty, and the answer can still be written on it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class Watch:
    """One body being read: its client's socket and when it must have arrived; `cut` once the
    watchdog shut its reading side down."""

    __slots__ = ("_watchdog", "at", "client", "cut")

    def __init__(self, watchdog: Watchdog, client: socket.socket, at: float) -> None:
        self._watchdog = watchdog
        self.client = client
        self.at = at
        self.cut = False

    @property
    def seconds(self) -> float:
        return self._watchdog.seconds

    def release(self) -> None:
        """The body was read whole, or the request is over: no cut (Watchdog.release)."""
        self._watchdog.release(self)


class Watchdog:
    """Cuts off bodies not read whole within `seconds` of their watch."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._watched: set[Watch] = set()
        self._thread: threading.Thread | None = None

    def watch(self, client: socket.socket) -> Watch:
        """Start the clock on a body read from `client`; release() the watch once it is read."""
        with self._lock:
            # Started by the first body, in the process that reads it: a thread started before
            # gunicorn forked its workers would not exist in them.
            if self._thread is None:
                self._thread = threading.Thread(target=self._keep, name="body watchdog")
                self._thread.daemon = True
                self._thread.start()
            watch = Watch(self, client, time.monotonic() + self.seconds)
            self._watched.add(watch)
        return watch

    def release(self, watch: Watch) -> None:
        """The body was read whole, or the request is over: no cut. Before the socket is
        closed, so that the watchdog never shuts down a descriptor reused meanwhile."""
        with self._lock:
            self._watched.discard(watch)

    def _keep(self) -> None:
        while (next_due := self._cut_late()) is not None:
            time.sleep(max(next_due - time.monotonic(), 0))

    def _cut_late(self) -> float | None:
        """Cut the late bodies off; return when the next one could be late, or None once none
        is watched: the thread ends, and the next body starts another (a worker left idle, or
        a test's watchdog, keeps no thread waking up for nothing)."""
        with self._lock:
            now = time.monotonic()
            late = [watch for watch in self._watched if watch.at <= now]
            for watch in late:
                self._watched.discard(watch)
                watch.cut = True
                with contextlib.suppress(OSError):  # the client went away meanwhile
                    # The plain socket's: SSLSocket's own would drop its TLS state and write
                    # the refusal in clear. Under gunicorn's own TLS (--certfile, which the
                    # deployment does not use) OpenSSL fails the session at the early end all
                    # the same: the connection is closed without an answer, the worker freed.
                    socket.socket.shutdown(watch.client, socket.SHUT_RD)
            if not self._watched:
                self._thread = None
                return None
            return min(watch.at for watch in self._watched)
