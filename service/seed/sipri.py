"""The extract of the SIPRI Arms Transfers Database that the demo builds its export chains on.

`data/sipri-deliveries.csv` holds the rows of a few dozen deals, copied unchanged from the trade
register (see `data/README.md`); the service reads it from the installed package, never from the
source tree. `python -m service.seed.sipri FULL_EXTRACT.csv` makes that file again from the full
extract, with the deterministic selection in `select_deals`.

Information from the SIPRI Arms Transfers Database.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TextIO

CREDIT_LINE = "Information from the SIPRI Arms Transfers Database"
DATA_FILE = "sipri-deliveries.csv"
Row = dict[str, str]

# SIPRI's names of states -> ISO 3166-1 alpha-2. Non-state recipients (marked with '*'),
# "unknown ..." and entities without an ISO code (Northern Cyprus) are deliberately absent: a
# delivery to or from them cannot be recorded against a country and is skipped.
COUNTRY_CODES: dict[str, str] = {
    "Afghanistan": "AF", "Albania": "AL", "Algeria": "DZ", "Angola": "AO", "Argentina": "AR",
    "Armenia": "AM", "Australia": "AU", "Austria": "AT", "Azerbaijan": "AZ", "Bahrain": "BH",
    "Bangladesh": "BD", "Belarus": "BY", "Belgium": "BE", "Benin": "BJ", "Bolivia": "BO",
    "Bosnia-Herzegovina": "BA", "Botswana": "BW", "Brazil": "BR", "Brunei": "BN",
    "Bulgaria": "BG", "Burkina Faso": "BF", "Cambodia": "KH", "Cameroon": "CM", "Canada": "CA",
    "Chad": "TD", "Chile": "CL", "China": "CN", "Colombia": "CO", "Congo": "CG",
    "Cote d'Ivoire": "CI", "Croatia": "HR", "Cyprus": "CY", "Czechia": "CZ", "DR Congo": "CD",
    "Denmark": "DK", "Djibouti": "DJ", "Ecuador": "EC", "Egypt": "EG", "El Salvador": "SV",
    "Equatorial Guinea": "GQ", "Eritrea": "ER", "Estonia": "EE", "Ethiopia": "ET",
    "Finland": "FI", "France": "FR", "Georgia": "GE", "Germany": "DE", "Ghana": "GH",
    "Greece": "GR", "Guinea": "GN", "Hungary": "HU", "India": "IN", "Indonesia": "ID",
    "Iran": "IR", "Iraq": "IQ", "Ireland": "IE", "Israel": "IL", "Italy": "IT", "Japan": "JP",
    "Jordan": "JO", "Kazakhstan": "KZ", "Kenya": "KE", "Kosovo": "XK", "Kuwait": "KW",
    "Kyrgyzstan": "KG", "Laos": "LA", "Latvia": "LV", "Lebanon": "LB", "Libya": "LY",
    "Lithuania": "LT", "Luxembourg": "LU", "Malaysia": "MY", "Mauritania": "MR",
    "Mexico": "MX", "Moldova": "MD", "Montenegro": "ME", "Morocco": "MA", "Myanmar": "MM",
    "Namibia": "NA", "Netherlands": "NL", "New Zealand": "NZ", "Niger": "NE", "Nigeria": "NG",
    "North Korea": "KP", "North Macedonia": "MK", "Norway": "NO", "Oman": "OM",
    "Pakistan": "PK", "Papua New Guinea": "PG", "Peru": "PE", "Philippines": "PH",
    "Poland": "PL", "Portugal": "PT", "Qatar": "QA", "Romania": "RO", "Russia": "RU",
    "Rwanda": "RW", "Saudi Arabia": "SA", "Senegal": "SN", "Serbia": "RS", "Seychelles": "SC",
    "Sierra Leone": "SL", "Singapore": "SG", "Slovakia": "SK", "Slovenia": "SI",
    "South Africa": "ZA", "South Korea": "KR", "South Sudan": "SS", "Spain": "ES",
    "Sri Lanka": "LK", "Sudan": "SD", "Sweden": "SE", "Switzerland": "CH", "Syria": "SY",
    "Taiwan": "TW", "Tajikistan": "TJ", "Tanzania": "TZ", "Thailand": "TH", "Tunisia": "TN",
    "Turkiye": "TR", "Turkmenistan": "TM", "UAE": "AE", "Uganda": "UG", "Ukraine": "UA",
    "United Kingdom": "GB", "United States": "US", "Uruguay": "UY", "Uzbekistan": "UZ",
    "Venezuela": "VE", "Viet Nam": "VN", "Yemen": "YE", "Zambia": "ZM", "Zimbabwe": "ZW",
}  # fmt: skip

# SIPRI's description -> the registry's item category.
CATEGORIES = {
    "portable SAM": "MANPADS",
    "anti-tank missile": "ATGM",
    "anti-tank/air-to-surface missile": "ATGM",
    "mortar": "MORTAR",
    "towed gun": "ARTILLERY",
}

# How many deals of each description the selection keeps, and of one supplier.
QUOTAS = {
    "anti-tank missile": 9,
    "portable SAM": 9,
    "towed gun": 7,
    "mortar": 7,
    "anti-tank/air-to-surface missile": 4,
}
PER_SUPPLIER = 4
# The extract covers deliveries from this year on.
FIRST_YEAR = 1995


@dataclass(frozen=True, order=True)
class Delivery:
    year: int
    number: int
    number_is_estimate: bool


@dataclass(frozen=True)
class Deal:
    """One SIPRI deal between two states, with its deliveries in year order."""

    sipri_id: int
    supplier: str
    recipient: str
    designation: str
    description: str
    order_year: int
    deliveries: tuple[Delivery, ...]

    @property
    def supplier_code(self) -> str:
        """ISO 3166-1 alpha-2."""
        return COUNTRY_CODES[self.supplier]

    @property
    def recipient_code(self) -> str:
        """ISO 3166-1 alpha-2."""
        return COUNTRY_CODES[self.recipient]

    @property
    def category(self) -> str:
        """The registry's item category."""
        return CATEGORIES[self.description]


def deals() -> list[Deal]:
    """The deals of the packaged extract, in SIPRI id order."""
    text = (resources.files(__package__) / "data" / DATA_FILE).read_text(encoding="utf-8")
    return group_deals(read_rows(text))


def read_rows(text: str) -> list[Row]:
    """CSV rows; lines starting with '#' (the credit line) are not data."""
    lines = (line for line in io.StringIO(text) if not line.startswith("#"))
    return list(csv.DictReader(lines))


def group_deals(rows: Iterable[Row]) -> list[Deal]:
    """One Deal per SIPRI id; the file has one row per deal and delivery year."""
    by_id: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_id[int(row["sipri_at_database_id"])].append(row)
    return [_deal(sipri_id, by_id[sipri_id]) for sipri_id in sorted(by_id)]


def _deal(sipri_id: int, rows: list[Row]) -> Deal:
    first = rows[0]
    deliveries = sorted(
        Delivery(
            int(row["delivery_year"]),
            int(row["numbers_delivered"]),
            row["numbers_delivered_is_estimate"] == "Yes",
        )
        for row in rows
    )
    return Deal(
        sipri_id=sipri_id,
        # SIPRI keeps trailing spaces in a few designations ("9M119 ").
        supplier=first["supplier"],
        recipient=first["recipient"],
        designation=first["designation"].strip(),
        description=first["description"],
        order_year=int(first["order_date"]),
        deliveries=tuple(deliveries),
    )


def recordable(row: Row) -> bool:
    """A new-built, state-to-state delivery that the demo can record as an export chain.

    Second-hand deliveries and licensed production would need a different chain (the weapons
    were not made by the supplier's industry for this deal), so they are left out.
    """
    return (
        row["supplier"] in COUNTRY_CODES
        and row["recipient"] in COUNTRY_CODES
        and row["supplier"] != row["recipient"]
        and row["status"] == "New"
        and row["local_production"] == "No"
        and row["description"] in CATEGORIES
        and int(row["numbers_delivered"] or 0) > 0
        # Deals ordered before the extract's window may have deliveries missing from it.
        and int(row["order_date"]) >= FIRST_YEAR
    )


def select_deals(rows: Sequence[Row]) -> list[Row]:
    """A few dozen diverse deals, chosen deterministically.

    Deals are visited in the order of a hash of their SIPRI id, which spreads them over the whole
    period (SIPRI's ids roughly follow the order dates); a deal is kept when its description and
    supplier are under quota and its recipient and designation are new.
    """
    by_id: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_id[int(row["sipri_at_database_id"])].append(row)
    kept: list[Row] = []
    per_description: Counter[str] = Counter()
    per_supplier: Counter[str] = Counter()
    seen: set[str] = set()
    for sipri_id in sorted(by_id, key=_shuffled):
        deal_rows = by_id[sipri_id]
        first = deal_rows[0]
        description, supplier = first["description"], first["supplier"]
        keys = {"recipient:" + first["recipient"], "designation:" + first["designation"].strip()}
        if (
            not all(recordable(row) for row in deal_rows)
            or per_description[description] >= QUOTAS.get(description, 0)
            or per_supplier[supplier] >= PER_SUPPLIER
            or keys & seen
        ):
            continue
        per_description[description] += 1
        per_supplier[supplier] += 1
        seen |= keys
        kept.extend(deal_rows)
    return kept


def _shuffled(sipri_id: int) -> bytes:
    return hashlib.sha256(str(sipri_id).encode()).digest()


def write_extract(rows: Sequence[Row], out: TextIO | None = None) -> None:
    """The selected rows, with the credit line above the header."""
    stream = out or sys.stdout
    stream.write(f"# {CREDIT_LINE}. Rows copied unchanged; see README.md.\n")
    writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def main(argv: Sequence[str]) -> int:
    """Print the packaged extract made from the full SIPRI extract named on the command line."""
    if len(argv) != 1:
        print("usage: python -m service.seed.sipri FULL_EXTRACT.csv", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8", newline="") as source:
        write_extract(select_deals(list(csv.DictReader(source))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
