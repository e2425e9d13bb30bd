"""Writes while an import runs: a request that records a fact, POST /v1/events (the theft of one
of the registry's items, another item each time), sent every WRITE_INTERVAL_SECONDS from a
thread until told to stop, each answer's status and time kept. An import holds the item locks
of the items it touches that were stored before it from its alert list to its commit; a write
should never wait for the rest of it (before 9b2987c, a first import's alert list held every
item's lock, and a POST meanwhile waited for the import's commit: 1.9 s in one measurement)."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg

from bench import service
from bench.workload import Request

WRITE_INTERVAL_SECONDS = 0.2
TIMEOUT_SECONDS = 30.0
SAMPLED_ITEMS = 5_000


@dataclass(frozen=True)
class Writes:
    """The answers to the writes: milliseconds each, and how many were not 201."""

    latencies_ms: list[float]
    failures: int
    first_failure: str | None = None

    def line(self) -> str:
        if not self.latencies_ms:
            return "POST /v1/events during the import: none answered"
        answered = "all 201" if not self.failures else f"{self.failures} not 201"
        return (
            f"POST /v1/events every {WRITE_INTERVAL_SECONDS:g} s during the import: "
            f"{len(self.latencies_ms)} sent, {answered}, median "
            f"{statistics.median(self.latencies_ms):.1f} ms, slowest "
            f"{max(self.latencies_ms):.1f} ms"
            + (f" (first failure: {self.first_failure})" if self.first_failure else "")
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "interval_seconds": WRITE_INTERVAL_SECONDS,
            "sent": len(self.latencies_ms),
            "failures": self.failures,
            "median_ms": statistics.median(self.latencies_ms) if self.latencies_ms else None,
            "max_ms": max(self.latencies_ms, default=None),
            "first_failure": self.first_failure,
        }


@dataclass
class EventWriter:
    """Sends the thefts from a thread: start(), then stop() for what they got."""

    base_url: str
    key: str
    item_ids: list[str]
    party_id: str
    _stop: threading.Event = field(default_factory=threading.Event)
    _latencies_ms: list[float] = field(default_factory=list)
    _failures: list[str] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bench-writes", daemon=True)
        self._thread.start()

    def stop(self) -> Writes:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(TIMEOUT_SECONDS + 5)
        first = self._failures[0] if self._failures else None
        return Writes(list(self._latencies_ms), len(self._failures), first)

    def _run(self) -> None:
        sent = 0
        while not self._stop.is_set():
            item = self.item_ids[sent % len(self.item_ids)]
            sent += 1
            started = time.perf_counter()
            status = self._send(item)
            self._latencies_ms.append((time.perf_counter() - started) * 1000)
            if status != "201":
                self._failures.append(status)
            self._stop.wait(WRITE_INTERVAL_SECONDS)

    def _send(self, item_id: str) -> str:
        body = {"event_type": "THEFT", "occurred_on": "2024-01-01", "country": "MT",
                "from_party_id": self.party_id, "item_ids": [item_id]}  # fmt: skip
        request = Request("POST", "/v1/events", orjson.dumps(body).decode())
        try:
            status, answer = service.send(self.base_url, self.key, request, TIMEOUT_SECONDS)
        except OSError as error:
            return f"no answer: {error}"
        return str(status) if status == 201 else f"{status} {answer[:200]!r}"


def sample(url: str) -> tuple[list[str], str]:
    """Items of the registry to record thefts of, and a party to name as their holder."""
    with psycopg.connect(url) as conn:
        items = [str(row[0]) for row in conn.execute(
            "SELECT id FROM items ORDER BY id LIMIT %s", [SAMPLED_ITEMS])]  # fmt: skip
        party = conn.execute("SELECT id FROM parties ORDER BY id LIMIT 1").fetchone()
    if not items or party is None:
        raise RuntimeError("the data set has no items or no parties to write events of")
    return items, str(party[0])
