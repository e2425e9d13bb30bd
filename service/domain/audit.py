"""The audit trail's hash chains, checked in Python, independently of the database.

PostgreSQL links each entry as it is inserted (`audit_link()` in schema.sql): entry_hash is
SHA-256 over the previous entry's hash and a message built from the entry's fields. This module
builds the same message from the stored values and walks each chain, so that `audit verify`
trusts neither the stored hashes nor the database's own functions: an entry changed, removed or
slipped in breaks a link or a hash, and the verifier says which entry and how.

It cannot see the newest entries of a chain removed together (nothing follows them to break);
that is what the heads are for: keep the heads of one verification and hand them to the next
(`audit verify --expect`), and a chain that no longer reaches its old head is reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An audit entry as stored, with the text forms the message is built from."""

    id: str
    chain: int
    chain_seq: int
    recorded_at_micros: int
    agency_id: str | None
    key_prefix: str | None
    method: str
    route: str
    path: str
    status: int
    serials_text: str
    record_ids_text: str
    case_reference: str | None
    purpose: str | None
    records_returned: int
    details_text: str
    previous_hash: bytes
    entry_hash: bytes


def genesis_hash(chain: int) -> bytes:
    """What the first entry of a chain links to."""
    return hashlib.sha256(f"trace-registry audit chain {chain}".encode()).digest()


def _field(value: str | None) -> bytes:
    if value is None:
        return b"-"
    encoded = value.encode()
    return str(len(encoded)).encode() + b":" + encoded


def message(entry: StoredEntry) -> bytes:
    """The bytes that are hashed, field by field as `audit_message()` in schema.sql builds them."""
    return b"".join(
        _field(value)
        for value in (
            str(entry.chain),
            str(entry.chain_seq),
            str(entry.recorded_at_micros),
            entry.id,
            entry.agency_id,
            entry.key_prefix,
            entry.method,
            entry.route,
            entry.path,
            str(entry.status),
            entry.serials_text,
            entry.record_ids_text,
            entry.case_reference,
            entry.purpose,
            str(entry.records_returned),
            entry.details_text,
        )
    )


def entry_hash(previous_hash: bytes, entry: StoredEntry) -> bytes:
    return hashlib.sha256(previous_hash + message(entry)).digest()


@dataclass(frozen=True, slots=True)
class Problem:
    """One break in a chain: which entry, and what is wrong with it."""

    chain: int
    chain_seq: int
    entry_id: str | None
    kind: str  # CHANGED, MISSING, INSERTED, HEAD_MISSING
    detail: str


@dataclass(frozen=True, slots=True)
class Head:
    """The last entry of a chain: what a later verification must still find."""

    chain: int
    chain_seq: int
    entry_hash: str


@dataclass
class Verification:
    entries: int = 0
    chains: int = 0
    problems: list[Problem] = field(default_factory=list)
    heads: list[Head] = field(default_factory=list)
    # the last entry walked (where a verification in parts goes on from)
    last: StoredEntry | None = None

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(
    entries: Iterable[StoredEntry],
    expected_heads: Iterable[Head] = (),
    previous: StoredEntry | None = None,
) -> Verification:
    """Walk entries ordered by (chain, chain_seq) and report every break.

    An entry whose hash does not match its own fields was CHANGED. A gap in chain_seq, or an
    entry that does not link to the one before it while its own hash holds, means entries are
    MISSING before it, or that it was INSERTED (a forged entry with a consistent hash of its
    own; the entry after it then fails to link back). `expected_heads` are heads from an earlier
    verification: a chain that no longer holds one of them lost its newest entries.
    `previous` is the entry that comes before the first of `entries` in its chain, when the
    walk goes on from an earlier part of it.
    """
    result = Verification()
    expected = {(head.chain, head.chain_seq): head.entry_hash for head in expected_heads}
    seen: set[tuple[int, int]] = set()
    current_chain: int | None = None if previous is None else previous.chain
    # A part that goes on from `previous`: its chain's head, unless this part walks further on it
    # (a part that ended just at the end of a chain left that chain's head to this one).
    last: dict[int, StoredEntry] = {} if previous is None else {previous.chain: previous}
    for entry in entries:
        result.entries += 1
        if entry.chain != current_chain:
            current_chain, previous = entry.chain, None
            result.chains += 1
        result.problems.extend(_check(entry, previous))
        position = (entry.chain, entry.chain_seq)
        if position in expected:
            seen.add(position)
            if entry.entry_hash.hex() != expected[position]:
                result.problems.append(_head_problem(entry.chain, entry.chain_seq, entry.id))
        previous = entry
        last[entry.chain] = entry
        result.last = entry
    result.heads = [
        Head(chain, entry.chain_seq, entry.entry_hash.hex())
        for chain, entry in sorted(last.items())
    ]
    for chain, chain_seq in sorted(expected.keys() - seen):
        result.problems.append(_head_problem(chain, chain_seq, None))
    return result


def _head_problem(chain: int, chain_seq: int, entry_id: str | None) -> Problem:
    return Problem(
        chain,
        chain_seq,
        entry_id,
        "HEAD_MISSING",
        f"chain {chain} no longer holds the entry #{chain_seq} an earlier verification saw "
        "as its last: its newest entries were removed or replaced",
    )


def _check(entry: StoredEntry, previous: StoredEntry | None) -> Iterator[Problem]:
    where = f"entry {entry.id} (chain {entry.chain}, #{entry.chain_seq})"
    own_hash_holds = entry_hash(entry.previous_hash, entry) == entry.entry_hash
    if not own_hash_holds:
        yield Problem(
            entry.chain,
            entry.chain_seq,
            entry.id,
            "CHANGED",
            f"{where} does not match its hash: a field was changed after it was recorded",
        )
    expected_seq = 1 if previous is None else previous.chain_seq + 1
    expected_link = genesis_hash(entry.chain) if previous is None else previous.entry_hash
    if entry.chain_seq > expected_seq:
        missing = entry.chain_seq - expected_seq
        yield Problem(
            entry.chain,
            entry.chain_seq,
            entry.id,
            "MISSING",
            f"{missing} entr{'y' if missing == 1 else 'ies'} missing before {where}",
        )
    elif entry.chain_seq < expected_seq:
        yield Problem(
            entry.chain,
            entry.chain_seq,
            entry.id,
            "INSERTED",
            f"{where} repeats a position in its chain: it was inserted",
        )
    elif entry.previous_hash != expected_link:
        kind = "INSERTED" if own_hash_holds else "CHANGED"
        yield Problem(
            entry.chain,
            entry.chain_seq,
            entry.id,
            kind,
            f"{where} does not link to the entry before it: "
            + (
                "it, or the entry before it, was slipped in or replaced"
                if own_hash_holds
                else "its link was changed"
            ),
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An audit entry as `GET /v1/admin/audit` shows it."""

    id: UUID
    recorded_at: datetime
    agency_id: UUID | None
    agency_name: str | None
    key_prefix: str | None
    method: str
    route: str
    path: str
    status: int
    serials: tuple[str, ...]
    record_ids: tuple[UUID, ...]
    case_reference: str | None
    purpose: str | None
    records_returned: int
    details: dict[str, object]
    chain: int
    chain_seq: int
    entry_hash: str
