"""The body watchdog (service.api.watchdog): a late body's socket shut for reading, once, and
only while it is watched."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from service.api.watchdog import Watchdog

SECONDS = 0.3


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    with server, client:
        yield server, client


def test_a_body_not_read_in_time_is_cut_and_the_answer_can_still_be_written(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    server, client = pair
    server.settimeout(5)
    watch = Watchdog(SECONDS).watch(server)
    client.sendall(b"a")  # a trickle: then nothing more before the deadline
    started = time.monotonic()

    assert server.recv(10) == b"a"
    assert server.recv(10) == b""  # the blocked read returns, empty, at the deadline
    waited = time.monotonic() - started

    assert watch.cut
    assert SECONDS * 0.9 <= waited < SECONDS + 1
    server.sendall(b"400")
    assert client.recv(10) == b"400"


def test_a_body_released_in_time_is_never_cut(pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    watchdog = Watchdog(SECONDS)
    released = watchdog.watch(server)
    released.release()
    with socket.socket() as other:
        late = watchdog.watch(other)  # another body, left to run out
        time.sleep(SECONDS * 2)
    client.sendall(b"more")

    assert late.cut and not released.cut
    server.settimeout(1)
    assert server.recv(10) == b"more"


def test_one_thread_watches_the_bodies_and_ends_when_none_is_left(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    server, _ = pair
    watchdog = Watchdog(SECONDS)
    first, second = watchdog.watch(server), watchdog.watch(server)
    thread = watchdog._thread

    assert thread is not None and thread.daemon
    first.release()
    second.release()
    thread.join(SECONDS * 3)
    assert not thread.is_alive() and watchdog._thread is None
    assert not (first.cut or second.cut)
    watchdog.watch(server).release()
    assert watchdog._thread is not None
