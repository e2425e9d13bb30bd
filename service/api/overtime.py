"""A deadline for a request's work, kept by one thread per worker: past it, the statement the
request is running is cancelled, and so is each one it runs after, until the request ends. The
cancelled statement fails as one past its statement timeout does: 503, the database took too
long, nothing stored.

Each statement has its own timeout (TRACE_REGISTRY_STATEMENT_TIMEOUT_MS, 10 s), but a request
of several slow statements outlasted gunicorn's worker timeout (30 s), which kills the worker
and answers 500 (found in review: four tables locked one after the other, 500 after 30.2 s).
A timer per request, or a statement to lower the timeout before each statement, would cost the
hot path more than the few microseconds it spends here: a request's connection is one entry in
a set, and one long-lived thread sleeps until the earliest entry's deadline, as
service.api.watchdog does for bodies.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

log = logging.getLogger(__name__)

# How long a cancellation may take to reach the server, and how soon after one the next
# statement of a late request is cancelled.
CANCEL_SECONDS = 2.0
AGAIN_SECONDS = 0.5


class Cancellable(Protocol):
    def cancel_safe(self, *, timeout: float = ...) -> None: ...


class Watch:
    """One request's connection and when its work must have ended; `late` once cancelled."""

    __slots__ = ("at", "conn", "late")

    def __init__(self, conn: Cancellable, at: float) -> None:
        self.conn = conn
        self.at = at
        self.late = False


class Overtime:
    """Cancels the statements of requests still at work `seconds` after they started."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._watched: set[Watch] = set()
        self._thread: threading.Thread | None = None

    def watch(self, conn: Cancellable, started: float) -> Watch:
        """Start watching a request's connection (`started`: its start, time.monotonic());
        release() the watch before the connection goes back to the pool."""
        with self._lock:
            # Started by the first request, in the process that serves it: a thread started
            # before gunicorn forked its workers would not exist in them.
            if self._thread is None:
                self._thread = threading.Thread(target=self._keep, name="request overtime")
                self._thread.daemon = True
                self._thread.start()
            watch = Watch(conn, started + self.seconds)
            self._watched.add(watch)
        return watch

    def release(self, watch: Watch) -> None:
        """The request is over. Taken under the lock a cancellation holds, so that none reaches
        the connection once it is back in the pool (another request's, then)."""
        with self._lock:
            self._watched.discard(watch)

    def _keep(self) -> None:
        while (next_due := self._cancel_late()) is not None:
            time.sleep(max(next_due - time.monotonic(), 0))

    def _cancel_late(self) -> float | None:
        """Cancel the late requests' statements; return when the next could be late, or None
        once none is watched (the thread ends; the next request starts another)."""
        with self._lock:
            now = time.monotonic()
            for watch in [watch for watch in self._watched if watch.at <= now]:
                if not watch.late:
                    log.warning(
                        "a request ran past %g s: its statements are cancelled", self.seconds
                    )
                watch.late = True
                watch.at = now + AGAIN_SECONDS
                try:
                    watch.conn.cancel_safe(timeout=CANCEL_SECONDS)
                except Exception as error:  # the server unreachable: the statement ends anyway
                    log.warning("a late request's statement could not be cancelled: %s", error)
            if not self._watched:
                self._thread = None
                return None
            return min(watch.at for watch in self._watched)
