"""The request deadline's thread: a late request's statements are cancelled until it ends."""

from __future__ import annotations

import threading
import time

from service.api.overtime import AGAIN_SECONDS, Overtime


class Connection:
    def __init__(self) -> None:
        self.cancelled: list[float] = []
        self.first = threading.Event()

    def cancel_safe(self, *, timeout: float = 30.0) -> None:
        self.cancelled.append(time.monotonic())
        self.first.set()


def test_a_late_request_has_its_statements_cancelled_until_it_is_released() -> None:
    overtime = Overtime(0.2)
    conn = Connection()
    watch = overtime.watch(conn, time.monotonic())

    assert conn.first.wait(5)
    time.sleep(AGAIN_SECONDS * 2.5)  # a statement it runs after the first is cancelled too
    overtime.release(watch)
    count = len(conn.cancelled)
    time.sleep(AGAIN_SECONDS * 2)

    assert watch.late
    assert count >= 2
    assert len(conn.cancelled) == count  # none once it is released


def test_a_request_released_in_time_is_never_cancelled() -> None:
    overtime = Overtime(0.3)
    conn = Connection()
    overtime.release(overtime.watch(conn, time.monotonic()))
    later = Connection()
    overtime.release(overtime.watch(later, time.monotonic()))

    time.sleep(0.6)

    assert conn.cancelled == [] and later.cancelled == []


def test_a_failed_cancellation_does_not_stop_the_watch() -> None:
    class Unreachable(Connection):
        def cancel_safe(self, *, timeout: float = 30.0) -> None:
            super().cancel_safe(timeout=timeout)
            raise OSError("connection refused")

    overtime = Overtime(0.1)
    failing, other = Unreachable(), Connection()
    watches = [overtime.watch(conn, time.monotonic()) for conn in (failing, other)]

    assert failing.first.wait(5) and other.first.wait(5)
    for watch in watches:
        overtime.release(watch)
