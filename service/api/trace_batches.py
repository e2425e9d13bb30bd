"""A batch trace's answer, written as it is made.

A batch of 1,000 weapons read with wildcards answers about 125 MB of indented JSON (ten
candidates a weapon, each with its chain of custody). Built whole, as one document, it took a
worker to 395 MB. Here the weapons are answered and stored a few at a time, and each answer is
written out at once to a spooled file (memory up to `IN_MEMORY`, disk beyond), which the
response then streams: the worker holds one chunk of answers, whatever the batch's size.

The bytes are those `json_response` would give for `{"batch_id": ..., "traces": [...]}`, so an
answer made again from the stored traces (an idempotent replay) is the same, byte for byte.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import IO
from uuid import UUID

import orjson
from flask import Response
from werkzeug.wsgi import FileWrapper

from service.api import audit
from service.db import Connection
from service.deadlines import Deadline
from service.domain.traces import ObservedWeapon, TraceAnswer, TraceContext
from service.errors import BatchTooSlow
from service.repository import traces
from service.tracing import Tracer

# Weapons answered and stored together: enough to amortise the round trips, few enough that
# their answers (up to 60 KB of JSON each, more as Python objects) stay small.
CHUNK = 25
IN_MEMORY = 1 << 20
_READ_SIZE = 1 << 16
# Each trace is an element of the "traces" list, two levels in: four more spaces.
_NESTED = b"\n    "
_ANSWER_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z


class BatchDocument:
    """`{"batch_id": ..., "traces": [...]}`, indented as json_response indents, added to one
    trace at a time. Work on it in a `with` block: if that fails, its file (up to 125 MB on
    disk) goes at once; once it is a response, the response closes it when sent."""

    def __init__(self, batch_id: UUID) -> None:
        # Outlives this call: the response closes it once sent (close() if it is never sent).
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115
        self._count = 0
        try:
            self._file.write(b'{\n  "batch_id": "%s",\n  "traces": [' % str(batch_id).encode())
        except BaseException:
            self._file.close()
            raise

    def add(self, answer: object) -> None:
        """One trace's answer (a TraceAnswer, or a stored answer as read back)."""
        indented = orjson.dumps(answer, option=_ANSWER_OPTIONS)
        self._file.write(b"," if self._count else b"")
        self._file.write(_NESTED)
        self._file.write(indented.replace(b"\n", _NESTED))
        self._count += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> BatchDocument:
        return self

    def __exit__(self, failure: type[BaseException] | None, *_: object) -> None:
        if failure is not None:
            self.close()

    def response(self, status: int, location: str) -> Response:
        self._file.write(b"\n  ]\n}\n" if self._count else b"]\n}\n")
        length = self._file.tell()
        self._file.seek(0)
        response = Response(
            FileWrapper(self._file, _READ_SIZE),
            status,
            mimetype="application/json",
            headers={"Location": location},
            direct_passthrough=True,
        )
        response.content_length = length
        return response


def answer(
    tracer: Tracer,
    conn: Connection,
    key_prefix: str,
    batch_id: UUID,
    weapons: Sequence[ObservedWeapon],
    context: TraceContext,
    budget: Deadline,
) -> BatchDocument:
    """Answer and store every weapon under one batch id (in the caller's transaction: all or
    none), noting every disclosed item in the request's audit entry; BatchTooSlow once the
    budget is spent with weapons still to answer."""
    # For the audit entry, once the answer is sure to be given: a refused batch discloses nothing.
    trace_ids: list[UUID] = []
    disclosed: list[UUID] = []
    answers: list[TraceAnswer] = []  # the chunk being answered

    def too_slow() -> BatchTooSlow:
        return _too_slow(budget, len(trace_ids) + len(answers), len(weapons))

    with BatchDocument(batch_id) as document:
        for start in range(0, len(weapons), CHUNK):
            answers.clear()
            with budget.cancels_as(too_slow):
                for weapon in weapons[start : start + CHUNK]:
                    budget.keep(conn, too_slow)
                    answers.append(tracer.answer(weapon, context, batch_id))
                traces.insert_many(conn, answers, key_prefix)
            for answered in answers:
                trace_ids.append(answered.id)
                disclosed.extend(candidate.item.id for candidate in answered.candidates)
                document.add(answered)
        budget.release(conn)
    audit.traces_answered(trace_ids, disclosed)
    return document


def _too_slow(budget: Deadline, done: int, total: int) -> BatchTooSlow:
    return BatchTooSlow(
        f"this batch was not answered within {budget.seconds:g} s ({done:,} of its "
        f"{total:,} weapons were), and nothing of it was stored: send its weapons in "
        "smaller batches"
    )


def made_again(conn: Connection, batch_id: UUID, agency_id: UUID) -> BatchDocument:
    """The answer a batch gave, from its stored traces."""
    with BatchDocument(batch_id) as document:
        for stored in traces.batch_answers(conn, batch_id, agency_id):
            document.add(orjson.loads(stored))
    return document
