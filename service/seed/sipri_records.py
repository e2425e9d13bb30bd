"""The SIPRI extract as import records: state-to-state deliveries through the bulk-import path.

Every new-built, state-to-state delivery of the extract (`../shared/data/`, or any extract of
the SIPRI trade register with the same columns) becomes: the supplier's manufacturer and the
recipient's armed forces (parties), one end-user certificate per deal, and for each delivery
year as many items as SIPRI counts delivered, with synthetic serials, made (MANUFACTURE),
exported under the certificate (EXPORT) and received (IMPORT), a shipment an event (split at
5,000 items). Only the deal (states, designation, numbers, years) is SIPRI's: every party
record, certificate, serial and event is synthetic, and says so (party names, the items'
`other_markings`, the certificates' stated end use).

    trace-registry import --sipri FILE.csv --agency NAME     # through importing.run
    python -m service.seed.sipri_records FILE.csv > sipri.ndjson   # for POST /v1/imports

Information from the SIPRI Arms Transfers Database.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO

import orjson

from service.domain.streams import PiecesStream
from service.schemas.registry import MAX_ITEMS_PER_EVENT
from service.seed.deliveries import KNOWN_MAKERS, the
from service.seed.sipri import CREDIT_LINE, Deal, group_deals, recordable

SYNTHETIC = f"SYNTHETIC: generated for a SIPRI deal, not a real serial. {CREDIT_LINE}."
Record = dict[str, Any]


# The columns of SIPRI's trade register that the records are made from.
COLUMNS = frozenset({
    "sipri_at_database_id", "supplier", "recipient", "designation", "description",
    "order_date", "numbers_delivered", "numbers_delivered_is_estimate", "delivery_year",
    "status", "local_production",
})  # fmt: skip


class UnreadableExtract(ValueError):
    """The file is not a SIPRI extract that records can be made from (the message says why)."""


def deals_in(csv_text: Iterable[str] | Iterable[bytes]) -> list[Deal]:
    """The recordable deals of an extract (lines starting with '#' are not data);
    UnreadableExtract for a file that is not one, naming its line where one is at fault."""
    at = _Numbered(csv_text)
    try:
        rows = csv.DictReader(line for line in at if not line.startswith("#"))
        missing = COLUMNS.difference(rows.fieldnames or ())
        if missing:
            raise UnreadableExtract(
                f"not a SIPRI extract: it has no column {', '.join(sorted(missing))}"
            )
        return group_deals(row for row in _whole_numbers(rows, at) if recordable(row))
    except UnreadableExtract:
        raise
    except UnicodeDecodeError:
        raise UnreadableExtract(f"not a SIPRI extract: line {at.line} is not UTF-8 text") from None
    except (csv.Error, ValueError) as exc:
        raise UnreadableExtract(f"not a SIPRI extract: line {at.line}: {exc}") from None


def _whole_numbers(rows: Iterable[dict[str, str]], at: _Numbered) -> Iterator[dict[str, str]]:
    """The rows, refusing one whose id, years or number delivered (blank: none) are not whole
    numbers (they were a ValueError from int(), with no line)."""
    for row in rows:
        for column in ("sipri_at_database_id", "order_date", "delivery_year", "numbers_delivered"):
            value = row[column] or ""
            if not value.isdecimal() and (value or column != "numbers_delivered"):
                raise UnreadableExtract(
                    f"not a SIPRI extract: line {at.line}: {column} is not a whole number: "
                    f"{value!r}"
                )
        yield row


class _Numbered:
    """Lines, counted as they are read, and read as UTF-8 when they come as bytes (a text
    file decodes ahead, and would name another line than the one that is not UTF-8)."""

    def __init__(self, lines: Iterable[str] | Iterable[bytes]) -> None:
        self.lines = iter(lines)
        self.line = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.line += 1
            yield line.decode("utf-8") if isinstance(line, bytes) else str(line)


def records(deals: Sequence[Deal]) -> Iterator[Record]:
    """Parties first (each once), then per deal its certificate, items and events."""
    seen: set[str] = set()
    for deal in deals:
        for party in _parties(deal):
            if party["ref"] not in seen:
                seen.add(party["ref"])
                yield party
    for deal in deals:
        yield from _deal_records(deal)


def _maker(deal: Deal) -> tuple[str, str]:
    name = KNOWN_MAKERS.get(
        (deal.supplier, deal.designation),
        f"Defence industry of {the(deal.supplier)} (maker not named)",
    )
    return f"SIPRI-MAKER-{deal.supplier_code}-{name}", name


def _forces_ref(deal: Deal) -> str:
    return f"SIPRI-FORCES-{deal.recipient_code}"


def _parties(deal: Deal) -> Iterator[Record]:
    maker_ref, maker = _maker(deal)
    yield {"record_type": "party", "ref": maker_ref, "name": f"{maker} (synthetic record)",
           "kind": "MANUFACTURER", "country": deal.supplier_code}  # fmt: skip
    yield {"record_type": "party", "ref": _forces_ref(deal),
           "name": f"Armed forces of {the(deal.recipient)} (synthetic record)",
           "kind": "ARMED_FORCES", "country": deal.recipient_code}  # fmt: skip


def _deal_records(deal: Deal) -> Iterator[Record]:
    maker_ref, maker = _maker(deal)
    euc_ref = f"SIPRI-EUC-{deal.sipri_id}"
    quantity = sum(delivery.number for delivery in deal.deliveries)
    yield {
        "record_type": "euc", "ref": euc_ref,
        "certificate_number": f"SIPRI-{deal.sipri_id}",
        "issuing_country": deal.recipient_code,
        "issuing_authority": f"Ministry of Defence of {the(deal.recipient)} (synthetic record)",
        "issued_on": f"{deal.order_year}-01-10",
        "exporter_party_ref": maker_ref, "end_user_party_ref": _forces_ref(deal),
        "destination_country": deal.recipient_code,
        "stated_end_use": f"Armed forces of {the(deal.recipient)} (synthetic certificate "
                          f"for SIPRI deal {deal.sipri_id})",
        "non_reexport_clause": True,
        "line_items": [{"description": deal.designation, "category": deal.category,
                        "model": deal.designation[:100], "quantity": quantity}],
    }  # fmt: skip
    for delivery in deal.deliveries:
        refs = [f"SIPRI-ITEM-{deal.sipri_id}-{delivery.year}-{n}" for n in range(delivery.number)]
        for n, ref in enumerate(refs):
            yield {
                "record_type": "item", "ref": ref, "manufacturer": maker,
                "model": deal.designation[:100], "category": deal.category,
                "serial_number": f"S{deal.sipri_id}-{delivery.year % 100:02d}-{n + 1:06d}",
                "country_of_manufacture": deal.supplier_code,
                "year_of_manufacture": delivery.year, "other_markings": SYNTHETIC,
            }  # fmt: skip
        for part, start in enumerate(range(0, len(refs), MAX_ITEMS_PER_EVENT)):
            shipment = refs[start : start + MAX_ITEMS_PER_EVENT]
            key = f"{deal.sipri_id}-{delivery.year}-{part}"
            yield {"record_type": "event", "ref": f"SIPRI-MADE-{key}",
                   "event_type": "MANUFACTURE", "occurred_on": f"{delivery.year}-01-15",
                   "country": deal.supplier_code, "to_party_ref": maker_ref,
                   "item_refs": shipment}  # fmt: skip
            yield {"record_type": "event", "ref": f"SIPRI-EXPORT-{key}", "event_type": "EXPORT",
                   "occurred_on": f"{delivery.year}-06-15", "country": deal.supplier_code,
                   "destination_country": deal.recipient_code, "from_party_ref": maker_ref,
                   "to_party_ref": _forces_ref(deal), "euc_ref": euc_ref, "euc_line_number": 1,
                   "item_refs": shipment}  # fmt: skip
            yield {"record_type": "event", "ref": f"SIPRI-IMPORT-{key}", "event_type": "IMPORT",
                   "occurred_on": f"{delivery.year}-07-01", "country": deal.recipient_code,
                   "from_party_ref": maker_ref, "to_party_ref": _forces_ref(deal),
                   "euc_ref": euc_ref, "item_refs": shipment}  # fmt: skip


def ndjson_stream(csv_text: Iterable[str] | Iterable[bytes]) -> BinaryIO:
    lines = (orjson.dumps(record) + b"\n" for record in records(deals_in(csv_text)))
    return io.BufferedReader(PiecesStream(lines))


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m service.seed.sipri_records EXTRACT.csv > sipri.ndjson",
              file=sys.stderr)  # fmt: skip
        return 2
    with open(argv[0], "rb") as extract:
        try:
            deals = deals_in(extract)
        except UnreadableExtract as exc:
            print(f"{argv[0]}: {exc}", file=sys.stderr)
            return 1
        for record in records(deals):
            sys.stdout.buffer.write(orjson.dumps(record) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
