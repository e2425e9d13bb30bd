"""A request's time, for work that must end before gunicorn cuts its worker off (30 s): a batch of
traces, a file imported while the client waits. Its last seconds also bound each statement (the
statement timeout cut down to what is left), so that one slow statement cannot carry the work
past its time either."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import psycopg

from service.db import Connection
from service.repository import settings

# A cancelled statement counts as the deadline's when it came this close to it (the server's
# timer runs on its own clock).
_CANCEL_MARGIN_MS = 100


class Deadline:
    """`seconds` from the request's start, `spent` of them already gone. `statement_timeout_ms`
    is the transaction's own statement timeout (0: none, as in an import's transaction); a
    lower one is set only once less time than it is left."""

    def __init__(self, seconds: float, spent: float, statement_timeout_ms: int) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds - spent
        self._statement_timeout_ms = statement_timeout_ms
        self._bounded = False

    def _left_ms(self) -> int:
        return int((self._at - time.monotonic()) * 1000)

    def bound(self, conn: Connection) -> None:
        """The transaction's statement timeout cut down to the time left, when it is less."""
        left = self._left_ms()
        if self._statement_timeout_ms == 0 or left < self._statement_timeout_ms:
            self._set_statement_timeout(conn, max(left, 1))
            self._bounded = True

    def release(self, conn: Connection) -> None:
        """The statement timeout as it was, for the request's audit entry and commit."""
        if self._bounded:
            self._set_statement_timeout(conn, self._statement_timeout_ms)
            self._bounded = False

    def keep(self, conn: Connection, too_slow: Callable[[], Exception]) -> None:
        """Before the next step: `too_slow()` raised once the time is out, else the statements
        bounded by what is left."""
        if self._left_ms() <= 0:
            raise too_slow()
        self.bound(conn)

    @contextlib.contextmanager
    def cancels_as(self, too_slow: Callable[[], Exception]) -> Iterator[None]:
        """A statement cancelled by this deadline's statement timeout raises `too_slow()`
        instead: the work's time spent, not a database that took too long (503)."""
        try:
            yield
        except psycopg.errors.QueryCanceled as error:
            if not self._cut_it():
                raise
            raise too_slow() from error

    def _cut_it(self) -> bool:
        # A little early by this clock: the server's timer runs on its own.
        return self._bounded and self._left_ms() <= _CANCEL_MARGIN_MS

    @staticmethod
    def _set_statement_timeout(conn: Connection, milliseconds: int) -> None:
        settings.set_for_transaction(conn, "statement_timeout", f"{milliseconds}ms")
