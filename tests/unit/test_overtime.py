"""The request deadline's thread: a late request's statement is cancelled and its connection
cut; a request released in time is left alone."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from service.api.overtime import Overtime


class Connection:
    """A connection's two ends: the one the request holds (its socket) and the server's."""

    def __init__(self) -> None:
        self.mine, self.servers = socket.socketpair()
        self.cancelled = threading.Event()

    def cancel_safe(self, *, timeout: float = 30.0) -> None:
        self.cancelled.set()

    def fileno(self) -> int:
        return self.mine.fileno()

    def cut(self) -> bool:
        """Whether the server's end reads the end of the connection."""
        self.servers.settimeout(5)
        return self.servers.recv(1) == b""

    def close(self) -> None:
        self.mine.close()
        self.servers.close()


@pytest.fixture
def connections() -> Iterator[list[Connection]]:
    made: list[Connection] = []
    yield made
    for conn in made:
        conn.close()


def test_a_late_request_is_cancelled_and_its_connection_cut(
    connections: list[Connection],
) -> None:
    overtime = Overtime(0.2)
    connections.append(conn := Connection())
    watch = overtime.watch(conn, time.monotonic())

    assert conn.cancelled.wait(5)
    assert conn.cut()  # a statement it sends after the cancellation fails too
    assert watch.late
    with pytest.raises(OSError):
        conn.mine.sendall(b"SELECT 1")
    overtime.release(watch)


def test_a_request_released_in_time_is_never_cut(connections: list[Connection]) -> None:
    overtime = Overtime(0.3)
    connections.extend([first := Connection(), second := Connection()])
    overtime.release(overtime.watch(first, time.monotonic()))
    overtime.release(overtime.watch(second, time.monotonic()))

    time.sleep(0.6)

    assert not first.cancelled.is_set() and not second.cancelled.is_set()
    first.mine.sendall(b"x")  # still open
    assert first.servers.recv(1) == b"x"


def test_a_request_that_started_before_those_watched_is_cut_in_its_time(
    connections: list[Connection],
) -> None:
    # Threaded workers: the thread, asleep until the first request's deadline, is woken for
    # a request whose own comes first.
    overtime = Overtime(5)
    connections.extend([later := Connection(), earlier := Connection()])
    watches = [
        overtime.watch(later, time.monotonic()),
        overtime.watch(earlier, time.monotonic() - 4.8),
    ]

    assert earlier.cancelled.wait(2)
    assert not later.cancelled.is_set()
    for watch in watches:
        overtime.release(watch)


def test_a_failed_cancellation_still_cuts_the_connection(connections: list[Connection]) -> None:
    class Unreachable(Connection):
        def cancel_safe(self, *, timeout: float = 30.0) -> None:
            super().cancel_safe(timeout=timeout)
            raise OSError("connection refused")

    overtime = Overtime(0.1)
    connections.extend([failing := Unreachable(), other := Connection()])
    watches = [overtime.watch(conn, time.monotonic()) for conn in (failing, other)]

    assert failing.cut() and other.cut()
    for watch in watches:
        overtime.release(watch)
