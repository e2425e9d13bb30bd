"""A deadline for a request's work, kept by one thread per worker: past it, the statement the
request is running is cancelled and its connection cut, so that the request ends at once, in
a 503 (the database took too long, nothing stored), whether it was in a statement or in Python
between statements.

Each statement has its own timeout (TRACE_REGISTRY_STATEMENT_TIMEOUT_MS, 10 s), but a request
of several slow statements outlasted gunicorn's worker timeout (30 s), which kills the worker
and answers 500 (found in review: four tables locked one after the other, 500 after 30.2 s).
A cancellation alone stops only a statement the server is running: one that starts after it,
while the request works in Python, would run on, so the connection's socket is shut down too
(the pool discards the connection). A timer per request, or a statement to lower the timeout
before each statement, would cost the hot path more than the microsecond it spends here: a
request's connection is one entry in a set, and one long-lived thread sleeps until the
earliest entry's deadline, as service.api.watchdog does for bodies.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
import time
from typing import Protocol

log = logging.getLogger(__name__)

# How long a cancellation may take to reach the server.
CANCEL_SECONDS = 2.0


class Cancellable(Protocol):
    def cancel_safe(self, *, timeout: float = ...) -> None: ...

    def fileno(self) -> int: ...


class Watch:
    """One request's connection and when its work must have ended; `late` once cut."""

    __slots__ = ("at", "conn", "late")

    def __init__(self, conn: Cancellable, at: float) -> None:
        self.conn = conn
        self.at = at
        self.late = False


class Overtime:
    """Cuts off the requests still at work `seconds` after they started."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._watched: set[Watch] = set()
        self._thread: threading.Thread | None = None
        self._asleep_until = math.inf

    def watch(self, conn: Cancellable, started: float) -> Watch:
        """Start watching a request's connection (`started`: its start, time.monotonic());
        release() the watch before the connection goes back to the pool."""
        watch = Watch(conn, started + self.seconds)
        with self._lock:
            self._watched.add(watch)
            # Started by the first request, in the process that serves it: a thread started
            # before gunicorn forked its workers would not exist in them.
            if self._thread is None:
                thread = threading.Thread(target=self._keep, name="request overtime", daemon=True)
                thread.start()
                self._thread = thread
            elif watch.at < self._asleep_until:
                self._wake.notify()  # one that started before those watched (threaded workers)
        return watch

    def release(self, watch: Watch) -> None:
        """The request is over. Taken under the lock a cut holds, so that none reaches the
        connection once it is back in the pool (another request's, then)."""
        with self._lock:
            self._watched.discard(watch)

    def _keep(self) -> None:
        with self._lock:
            while (due := self._cut_late()) is not None:
                self._asleep_until = due
                self._wake.wait(max(due - time.monotonic(), 0))
            self._asleep_until = math.inf

    def _cut_late(self) -> float | None:
        """Cut the late requests off; return when the next could be late, or None once none is
        watched (the thread ends; the next request starts another). Called under the lock."""
        now = time.monotonic()
        for watch in [w for w in self._watched if w.at <= now and not w.late]:
            watch.late = True
            log.warning("a request ran past %g s: its connection is cut", self.seconds)
            _cut(watch.conn)
        waiting = [watch.at for watch in self._watched if not watch.late]
        if not waiting:
            self._thread = None
            return None
        return min(waiting)


def _cut(conn: Cancellable) -> None:
    """Cancel the statement in progress (the server stops its work), then shut the socket down
    (the client stops its own: the statement in flight, or the next, fails at once)."""
    try:
        conn.cancel_safe(timeout=CANCEL_SECONDS)
    except Exception as error:  # the server unreachable: the shutdown ends the request anyway
        log.warning("a late request's statement could not be cancelled: %s", error)
    try:
        duplicate = socket.socket(fileno=os.dup(conn.fileno()))
    except Exception:  # closed meanwhile: nothing to cut
        return
    with duplicate, contextlib.suppress(OSError):
        duplicate.shutdown(socket.SHUT_RDWR)
