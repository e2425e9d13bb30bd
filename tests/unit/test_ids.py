"""uuid7: time-ordered ids that sort in the order they were made, from any thread."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from itertools import pairwise
from uuid import UUID

import pytest

from service.domain import ids
from service.domain.ids import uuid7


def milliseconds(value: UUID) -> int:
    """The Unix time in milliseconds held in the first 48 bits (RFC 9562, section 5.7)."""
    return value.int >> 80


def test_the_version_is_7_and_the_variant_rfc_4122() -> None:
    for _ in range(1_000):
        value = uuid7()

        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        assert str(value)[14] == "7"
        assert str(value)[19] in "89ab"


def test_the_timestamp_is_the_time_it_was_made() -> None:
    before = time.time()
    value = uuid7()
    after = time.time()

    made_at = milliseconds(value) / 1000
    assert before - 1 < made_at < after + 1
    assert abs(made_at - time.time()) < 1


def test_successive_ids_increase() -> None:
    made = [uuid7() for _ in range(20_000)]

    assert all(earlier < later for earlier, later in pairwise(made))
    assert all(earlier.int < later.int for earlier, later in pairwise(made))
    assert all(str(earlier) < str(later) for earlier, later in pairwise(made))


def test_ids_made_in_several_threads_are_distinct_and_increase_in_each() -> None:
    threads_count, per_thread = 8, 5_000
    made: list[list[UUID]] = [[] for _ in range(threads_count)]
    start = threading.Barrier(threads_count)

    def make(into: list[UUID]) -> None:
        start.wait()
        into.extend(uuid7() for _ in range(per_thread))

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({value for values in made for value in values}) == threads_count * per_thread
    for values in made:
        assert len(values) == per_thread
        assert all(earlier < later for earlier, later in pairwise(values))


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """time.time_ns as uuid7 sees it, set by the test (a clock that stalls or goes back). The
    last timestamp given out is put back afterwards, so that a clock moved forward here does not
    leave later ids in the future."""
    now = [time.time_ns()]
    monkeypatch.setattr(ids.time, "time_ns", lambda: now[0])
    monkeypatch.setattr(ids, "_last", ids._last)
    yield now


def test_ids_increase_while_the_clock_stands_still(frozen_clock: list[int]) -> None:
    # More than the 4096 sub-millisecond steps of one millisecond: the count carries over.
    made = [uuid7() for _ in range(10_000)]

    assert all(earlier < later for earlier, later in pairwise(made))
    assert all(value.version == 7 and value.variant == uuid.RFC_4122 for value in made)
    # Ahead of the clock by no more than the ids made (4096 a millisecond).
    assert milliseconds(made[-1]) - frozen_clock[0] // 1_000_000 <= 10_000 // 4096 + 1


def test_ids_increase_when_the_clock_goes_back(frozen_clock: list[int]) -> None:
    first = uuid7()
    frozen_clock[0] -= 5 * 1_000_000_000  # an NTP step five seconds back

    second = uuid7()

    assert first < second


def test_the_clock_moving_on_is_followed(frozen_clock: list[int]) -> None:
    first = uuid7()
    frozen_clock[0] += 3_000_000_000

    second = uuid7()

    assert milliseconds(second) == frozen_clock[0] // 1_000_000
    assert milliseconds(second) - milliseconds(first) >= 2_990


def test_the_12_bits_after_the_version_count_fractions_of_the_millisecond(
    frozen_clock: list[int],
) -> None:
    # Ahead of every id made so far, a quarter of the way into a millisecond.
    whole_ms = frozen_clock[0] // 1_000_000 + 1_000
    frozen_clock[0] = whole_ms * 1_000_000 + 250_000

    value = uuid7()

    assert milliseconds(value) == whole_ms
    assert (value.int >> 64) & 0xFFF == 1024


def test_a_forked_process_draws_other_random_bits_than_its_parent() -> None:
    """Random bits are read from the OS in blocks; a gunicorn worker forked after the block was
    read must not hand out the bits its parent (or a sibling) will hand out next."""
    uuid7()  # the parent now holds a block it has only begun to use
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child only writes and exits
        os.write(writer, b"".join(uuid7().bytes[8:] for _ in range(4)))
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    childs = os.read(reader, 64)
    os.close(reader)
    parents = b"".join(uuid7().bytes[8:] for _ in range(4))

    assert len(childs) == 32
    # Without a fresh block in the child the two would be the same 4 x 62 bits.
    assert childs != parents
