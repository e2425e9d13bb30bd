"""Folding every stored key again under this interpreter's Unicode version (`trace-registry db
refold`), and recording that version (schema.sql, key_folding).

The keys are folded in Python (service.domain.serials, service.domain.registrations), so they
are folded again here, by the same functions: items' serial_norm, manufacturer_key and model_key
(and their copy in item_serials), certificates' certificate_key, parties' registration_number_key
and manufacturer aliases' alias_key. Every row is read once, in batches, in the order recorded;
only the rows whose key changes are written, the ledger's append-only triggers set aside for them
alone (as migration 0010 did). A row whose new key another row holds keeps its key as it was and
is named in the result, with that row (as 0010's NOTICEs): nothing is merged or refused; an
examiner decides whether the two are one record. Of rows that would take the same new key, the
earliest recorded takes it, and rows are moved in passes until one moves none (a key one row
gives up may be another's new one).

All in one transaction, under the keyed tables' EXCLUSIVE locks (readers go on; writers, which
fold keys themselves, wait): the registry's keys are all of one version, or of the one before.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from service import auditing
from service.db import Connection
from service.domain import registrations, serials
from service.domain.wording import counted
from service.repository import key_folding, settings
from service.repository.rows import Row
from service.schema_setup import act_as_owner

BATCH = 10_000
COMMAND = "trace-registry db refold"


@dataclass(frozen=True, slots=True)
class Move:
    """A row to be given new keys: `keys` holds its id (an alias: its key before) and them."""

    kind: str
    text: str
    keys: dict[str, object]
    was: str


# Each kind of keyed row, in the plural.
_PLURAL = {
    "manufacturer alias": "manufacturer aliases",
    "item": "items",
    "certificate": "certificates",
    "party": "parties",
}


@dataclass(frozen=True)
class Refolding:
    """What `db refold` found and did: the version the keys were folded under before and now,
    how many rows of each kind took new keys, and each row that kept its key, and why."""

    before: str | None
    now: str
    moved: dict[str, int]
    kept: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        changed = ", ".join(
            counted(count, kind, _PLURAL[kind], grouped=True) for kind, count in self.moved.items()
        )
        return (
            f"keys folded again under Unicode {self.now} (before: "
            f"{self.before or 'no version recorded'}); new keys for {changed}; "
            f"{counted(len(self.kept), 'row')} kept {'its' if len(self.kept) == 1 else 'their'} "
            "keys"
        )


def refold(conn: Connection) -> Refolding:
    """Fold every stored key again under this interpreter's Unicode version and record it, in
    one transaction (with its audit entry); the schema must be at this code's version."""
    now = unicodedata.unidata_version
    with conn.transaction():
        # It reads every keyed row: as long as the registry makes it.
        settings.set_for_transaction(conn, "statement_timeout", "0")
        act_as_owner(conn, "folding the keys again")
        key_folding.lock_for_refolding(conn)
        before = key_folding.folded_under(conn)
        kept: list[str] = []
        # The aliases first: an item's manufacturer key is its alias's manufacturer's.
        moved = {"manufacturer alias": _apply(conn, _alias_moves(conn), kept)}
        manufacturer_of = {
            row["alias_key"]: row["manufacturer_key"] for row in key_folding.aliases(conn)
        }
        moved["item"] = _apply(conn, _item_moves(conn, manufacturer_of), kept)
        moved["certificate"] = _apply(conn, _certificate_moves(conn), kept)
        moved["party"] = _apply(conn, _party_moves(conn), kept)
        key_folding.record(conn, now)
        auditing.command_run(
            conn,
            COMMAND,
            [],
            [],
            {"key_folding": {"before": before, "now": now, "moved": moved, "kept": len(kept)}},
        )
    return Refolding(before, now, moved, tuple(kept))


def _alias_moves(conn: Connection) -> list[Move]:
    return [
        Move(
            "manufacturer alias",
            row["alias"],
            {"key": row["alias_key"], "new_key": new_key},
            row["alias_key"],
        )
        for row in key_folding.aliases(conn)
        if (new_key := serials.fold_serial(row["alias"])) != row["alias_key"]
    ]


def _item_moves(conn: Connection, manufacturer_of: dict[str, str]) -> Iterator[Move]:
    for row in key_folding.keyed_rows(conn, "item", BATCH):
        name_key = serials.fold_serial(row["manufacturer"])
        keys = {
            "serial_norm": serials.fold_serial(row["serial_number"]),
            # as items.sql's manufacturer_key_for(): an alias's manufacturer's key
            "manufacturer_key": manufacturer_of.get(name_key, name_key),
            "model_key": serials.fold_serial(row["model"]),
        }
        yield from _changed(row, "item", row["serial_number"], keys)


def _certificate_moves(conn: Connection) -> Iterator[Move]:
    for row in key_folding.keyed_rows(conn, "certificate", BATCH):
        keys = {"certificate_key": serials.fold_serial(row["certificate_number"])}
        yield from _changed(row, "certificate", row["certificate_number"], keys)


def _party_moves(conn: Connection) -> Iterator[Move]:
    for row in key_folding.keyed_rows(conn, "party", BATCH):
        number = row["registration_number"]
        keys = {"registration_number_key": registrations.registration_key(number)}
        yield from _changed(row, "party", number, keys)


def _changed(row: Row, kind: str, text: str, keys: dict[str, str]) -> list[Move]:
    if all(row[name] == key for name, key in keys.items()):
        return []
    was = ", ".join(str(row[name]) for name in keys)
    return [Move(kind, text, {"id": row["id"], **keys}, was)]


def _apply(conn: Connection, moves: Iterable[Move], kept: list[str]) -> int:
    """Give each row its new keys where no other row holds them; the others keep theirs and are
    named in `kept`. How many moved."""
    pending: list[Move] = []
    for move in moves:  # all read before any is written
        if "" in move.keys.values():  # the tables' CHECKs refuse an empty key
            kept.append(f"{_named(move)} keeps its keys ({move.was}): it folds to nothing now")
        else:
            pending.append(move)
    if not pending:
        return 0
    done: list[Move] = []
    with key_folding.ledger_trigger_set_aside(conn, pending[0].kind):
        while pending:
            still: list[Move] = []
            for move in pending:
                (done if key_folding.move(conn, move.kind, move.keys) else still).append(move)
            if len(still) == len(pending):
                break
            pending = still
    if done and done[0].kind == "item":
        key_folding.move_item_serials(conn, [move.keys for move in done])
    kept += [_held(conn, move) for move in pending]  # those no pass could move
    return len(done)


def _held(conn: Connection, move: Move) -> str:
    holder = key_folding.holding(conn, move.kind, move.keys)
    new = ", ".join(str(value) for name, value in move.keys.items() if name not in ("id", "key"))
    by = "another" if holder is None else f"{move.kind} {holder.get('id') or ''}".rstrip()
    if holder is not None:
        by += f" ({_quoted(holder['text'])})"
    return f"{_named(move)} keeps its keys ({move.was}): {by} holds those it folds to now ({new})"


def _named(move: Move) -> str:
    return f"{move.kind} {move.keys.get('id', move.keys.get('key'))} ({_quoted(move.text)})"


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
