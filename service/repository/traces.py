"""Candidate searches for trace requests, the chains of the candidates, and stored traces."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from uuid import UUID

import orjson

from service.db import NEAR_MISS_SIMILARITY, NEAR_MISS_WIDE_SIMILARITY, Connection
from service.domain.ids import NEWEST
from service.domain.matching import Candidate, ncic, skeleton, swapped_twice, swaps_and_gaps
from service.domain.text import KEPT_FORMAT_STRING
from service.domain.traces import TraceAnswer, TraceDisclosure, TraceSummary
from service.repository import audit, rows
from service.repository.audit import NewEntry
from service.repository.queries import load
from service.repository.rows import Row

SQL = load("traces")


@dataclass(frozen=True)
class Sought:
    """The items a search keeps first when more match than it keeps: the named manufacturer's
    (its key, and `resembled_key`, that of the one maker a name not in the table reads like),
    then the named model's (its key). Past the limit the rest were kept by id: of one maker's
    items in sequence, fifty of its other models' could crowd out the model named."""

    manufacturer_key: str | None = None
    resembled_key: str | None = None
    model_key: str | None = None

    def params(self) -> dict[str, str | None]:
        return {
            "manufacturer_key": self.manufacturer_key,
            "alike_key": _alike(self.manufacturer_key, self.resembled_key),
            "model_key": self.model_key,
        }


def strong_candidates(
    conn: Connection, serial_norm: str, as_marked: str, sought: Sought, limit: int
) -> tuple[list[Candidate], dict[UUID, list[Row]]]:
    """Items whose serial is the same normalised, in confusable skeleton, or NCIC form, and
    their chain entries (for service.repository.chains), in one round trip. Past `limit`, the
    stronger tiers are kept, and within a tier the sought maker's items, then the serial
    exactly as marked, then the sought model's items."""
    params = {
        "serial_norm": serial_norm,
        "serial_skeleton": skeleton(serial_norm),
        "serial_ncic": ncic(serial_norm),
        **sought.params(),
        "as_marked": as_marked,
        "showing_nothing": KEPT_FORMAT_STRING,
        "limit": limit,
    }
    with conn.pipeline():
        found = conn.execute(SQL["strong_candidates"], params)
        entries = conn.execute(SQL["strong_candidate_chains"], params)
        candidates = [Candidate(rows.item(row), row["manufacturer_key"]) for row in found]
        by_item: dict[UUID, list[Row]] = defaultdict(list)
        for row in entries:
            by_item[row["chain_item_id"]].append(row)
    return candidates, by_item


def _alike(manufacturer_key: str | None, resembled_key: str | None) -> str | None:
    """The key the searches put first beside the name's own: the maker a name not in the table
    reads like, or the name's key again (`IN (key, NULL)` would read another maker's item as
    NULL, not false, and put it among the items of no known maker)."""
    return manufacturer_key if resembled_key is None else resembled_key


def wildcard_candidates(
    conn: Connection, pattern: str, sought: Sought, limit: int
) -> list[Candidate]:
    """Items whose normalised serial matches a LIKE pattern, the sought ones first."""
    params = {"pattern": pattern, **sought.params(), "limit": limit}
    return _candidates(conn, SQL["wildcard_candidates"], params)


def loose_wildcard_candidates(
    conn: Connection, regex: str, sought: Sought, limit: int
) -> list[Candidate]:
    """Items whose normalised serial matches a partial reading read loosely (the regular
    expression of matching.loose_regex), the sought ones first."""
    params = {"regex": regex, **sought.params(), "limit": limit}
    return _candidates(conn, SQL["loose_wildcard_candidates"], params)


def near_miss_candidates(
    conn: Connection, searched: str, sought: Sought, limit: int, *, wide: bool = False
) -> list[Candidate]:
    """Items whose normalised serial shares trigrams with `searched` (a reading's normalised
    serial or its skeleton) and whose skeleton is a few edits from its skeleton, the sought
    ones first, then the closest. `wide` lowers the trigram similarity the search needs
    (slower; for a further try)."""
    params = {"searched": searched, "skeleton": skeleton(searched), **sought.params(),
              "limit": limit}  # fmt: skip
    if not wide:
        return _candidates(conn, SQL["near_miss_candidates"], params)
    with conn.pipeline():
        conn.execute(SQL["set_similarity"], {"threshold": str(NEAR_MISS_WIDE_SIMILARITY)})
        found = conn.execute(SQL["near_miss_candidates"], params)
        conn.execute(SQL["set_similarity"], {"threshold": str(NEAR_MISS_SIMILARITY)})
        return [Candidate(rows.item(row), row["manufacturer_key"]) for row in found]


def one_edit_candidates(
    conn: Connection, skeletons: set[str], sought: Sought, limit: int
) -> list[Candidate]:
    """Items whose confusable skeleton is one of these, the sought ones first."""
    params = {"skeletons": sorted(skeletons), **sought.params(), "limit": limit}
    return _candidates(conn, SQL["one_edit_candidates"], params)


def maker_near_miss_candidates(
    conn: Connection, serial_norm: str, sought: Sought, limit: int
) -> list[Candidate]:
    """Every item of the sought manufacturer (or of the one it reads like) whose confusable
    skeleton is within two edits of the reading's (a transposition counting one), the closest
    first, and of those as close, the sought model's."""
    if sought.manufacturer_key is None:
        raise ValueError("the maker's near misses are sought for a named maker only")
    own = skeleton(serial_norm)
    swaps = swaps_and_gaps(own)
    params = {
        "skeleton": own,
        "swapped_once": [swapped for swapped, _ in swaps],
        "swapped_apart": [apart for _, apart in swaps],
        "swapped_twice": sorted(swapped_twice(own)),
        **sought.params(),
        "limit": limit,
    }
    return _candidates(conn, SQL["maker_near_miss_candidates"], params)


def _candidates(conn: Connection, query: str, params: Mapping[str, object]) -> list[Candidate]:
    return [
        Candidate(rows.item(row), row["manufacturer_key"]) for row in conn.execute(query, params)
    ]


def insert(conn: Connection, answer: TraceAnswer, key_prefix: str, entry: NewEntry) -> None:
    """Store a trace with its whole answer and the request's audit entry, in one statement:
    outside a transaction they commit together."""
    params = _trace_params(answer, key_prefix, _stored(answer))
    params.update({f"audit_{name}": value for name, value in audit.parameters(entry).items()})
    conn.execute(SQL["insert_trace"], params)


def insert_many(conn: Connection, answers: list[TraceAnswer], key_prefix: str) -> None:
    """Store several traces at once (a batch), all or nothing; the request's audit entry is
    the caller's to write."""
    with conn.transaction(), conn.cursor() as cursor:
        cursor.executemany(
            SQL["insert_trace"],
            [
                {**_trace_params(answer, key_prefix, _stored(answer)), **_NO_AUDIT_ENTRY}
                for answer in answers
            ],
        )


def _stored(answer: TraceAnswer) -> bytes:
    # Compact: the indented JSON the API answers with is 1.7 times as long (1.3 times once
    # compressed), for PostgreSQL to validate, compress and keep for as long as the trace.
    return orjson.dumps(answer, option=orjson.OPT_UTC_Z)


# insert_trace's audit parameters when it appends no entry.
_NO_AUDIT_ENTRY = {f"audit_{field.name}": None for field in fields(NewEntry)}


# Candidates that count as hits, which the agencies that recorded them are told of.
HIT_BASES = ("EXACT", "NORMALISED", "CONFUSABLE")


def _trace_params(answer: TraceAnswer, key_prefix: str, document: bytes) -> dict[str, object]:
    context = answer.context
    hits = [c for c in answer.candidates if c.match_basis in HIT_BASES]
    return {
        "id": answer.id,
        "agency_id": answer.agency.id,
        "key_prefix": key_prefix,
        "batch_id": answer.batch_id,
        "case_reference": context.case_reference,
        "purpose": context.purpose,
        "legal_basis": context.legal_basis,
        "requesting_officer": context.requesting_officer,
        "seizure_country": context.seizure_country,
        "seized_on": context.seized_on,
        "serial_number": answer.weapon.serial_number,
        "status": answer.status,
        "candidate_item_ids": [candidate.item.id for candidate in answer.candidates],
        "answer": document.decode(),
        "created_at": answer.created_at,
        "hit_item_ids": [c.item.id for c in hits],
        "hit_bases": [c.match_basis for c in hits],
    }


def get(conn: Connection, trace_id: UUID, agency_id: UUID) -> bytes | None:
    """A stored answer, as it was given, if the agency made that trace."""
    row = conn.execute(SQL["get_trace"], {"id": trace_id, "agency_id": agency_id}).fetchone()
    return None if row is None else str(row["answer"]).encode()


def batch_answers(conn: Connection, batch_id: UUID, agency_id: UUID) -> Iterator[bytes]:
    """The stored answers of an agency's batch, in the order they were given, read a few at a
    time (a server-side cursor, in the caller's transaction): a batch's answers can outgrow a
    worker's memory."""
    with conn.cursor(name="batch_answers") as cursor:
        cursor.itersize = BATCH_ANSWERS_READ
        cursor.execute(SQL["batch_answers"], {"batch_id": batch_id, "agency_id": agency_id})
        for row in cursor:
            yield str(row["answer"]).encode()


def disclosed(
    conn: Connection,
    agency_id: UUID,
    *,
    trace_id: UUID | None = None,
    batch_id: UUID | None = None,
) -> list[TraceDisclosure]:
    """What the agency's stored trace (by id) or batch (by batch id) disclosed, in the order
    the traces were answered."""
    params = {"agency_id": agency_id, "trace_id": trace_id, "batch_id": batch_id}
    return [
        TraceDisclosure(
            id=row["id"],
            case_reference=row["case_reference"],
            purpose=row["purpose"],
            serial_number=row["serial_number"],
            candidate_item_ids=tuple(row["candidate_item_ids"]),
        )
        for row in conn.execute(SQL["disclosed"], params)
    ]


# Stored answers fetched at a time when a batch's answer is made again: up to 60 KB each.
BATCH_ANSWERS_READ = 20


def find(
    conn: Connection,
    agency_id: UUID,
    *,
    case_reference: str | None,
    batch_id: UUID | None,
    created_from: datetime | None,
    created_before: datetime | None,
    before: UUID | None,
    limit: int,
) -> list[TraceSummary]:
    """The agency's traces, newest first."""
    params = {
        "agency_id": agency_id,
        "case_reference": case_reference,
        "batch_id": batch_id,
        "created_from": created_from,
        "created_before": created_before,
        "before": before or NEWEST,
        "limit": limit,
    }
    return [TraceSummary(**row) for row in conn.execute(_listing(params), params)]


def _listing(params: Mapping[str, object]) -> str:
    # Each filter that narrows to a few traces reads through its own index (a generic plan
    # would use none for an optional one): the batch's, then the case's.
    if params["batch_id"] is not None:
        return SQL["list_batch_traces"]
    if params["case_reference"] is not None:
        return SQL["list_case_traces"]
    return SQL["list_traces"]
