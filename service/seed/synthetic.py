"""`trace-registry seed --items N --seed S`: a synthetic national registry at scale.

A million weapons and about eight million custody entries in a few minutes, written by
set-based SQL (`service/sql/synthetic.sql`, run by `service.repository.synthetic`): every value
is a function of the seed and a row number, so the same seed always gives the same registry.

What it looks like. Some seventy models of thirty-seven manufacturers, each marked the way that
maker marks (invented numbers, realistic formats): letters then digits on Glock and Walther
pistols, "27-012345" on Heckler & Koch, Cyrillic letter pairs on Soviet-era Kalashnikovs and a
Cyrillic "AK", a year code and a number on current ones, factory codes on Norinco rifles, year
codes and slashes on Bulgarian and Romanian rifles. Items are made in lots that carry consecutive
numbers. A lot is exported (four in five) under an end-user certificate, through an exporter, to a
state body or a dealer of one of about 120 countries, then passes from holder to holder there; the
rest stay at home. Chains hold 3 to 15 events (8 on average), and about one in twelve ends in a
loss, theft, seizure (a third of them abroad) or destruction. A few percent of serials are carried
by two items of different makers on purpose, as happens with plain numeric serials.

The load is one transaction, recorded by the agency "Synthetic Registry (seed S)", and runs
once: a second run finds that agency's records and only reports them. Into an empty registry it
drops the loaded tables' secondary indexes first and rebuilds them at the end (one pass each
instead of one insertion per row), then refreshes the planner's statistics. What the rows refer
to is checked as for any insert: once per statement, set-based (schema.sql, "References within
the ledger").
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache, partial
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from service.db import Connection
from service.domain.serials import LOOKALIKE_TO_LATIN, normalise_name
from service.domain.wording import counted
from service.repository import agencies
from service.repository import synthetic as sql
from service.repository.agencies import RecordCounts

DEFAULT_SEED = 1
MAX_ITEMS = 5_000_000
MAX_SEED = 2**31 - 1
# Items whose events one statement writes (progress is reported after each).
CHUNK_ITEMS = 250_000
# No event is dated after this day, so that the same seed gives the same dates on any day.
END_DATE = date(2025, 12, 31)
EXPORT_PER_MILLE = 800
SPECIAL_PER_MILLE = 80
TWIN_PER_MILLE = 50
# Ids: a UUIDv7 layout whose timestamp is END_DATE's midnight (see synthetic.sql).
_ID_MILLISECONDS = 1_767_139_200_000

Report = Callable[[str], None]

# Letters that stamp unambiguously (no I, O, Q), and nineteen Cyrillic capitals (A to Kha without
# the rare ones): those with a Latin twin fold to it in serial_norm, the others stay Cyrillic.
LATIN = "ABCDEFGHJKLMNPRSTUVWXYZ"
CYRILLIC = (
    "\u0410\u0411\u0412\u0413\u0414\u0415\u0416\u0418\u041a\u041b\u041c\u041d\u041f\u0420"
    "\u0421\u0422\u0423\u0424\u0425"
)
# Model prefixes in Cyrillic: A Ka (Kalashnikov), Ka De (Degtyarev's Kord), 9 Pe 39 (Igla).
_AK, _KD, _IGLA = "\u0410\u041a ", "\u041a\u0414 ", "9\u041f39 "


@dataclass(frozen=True)
class Body:
    """A serial format without a model's fixed prefix and suffix: how many distinct numbers it
    can carry, and a regular expression of what it looks like."""

    capacity: int
    pattern: str


_L, _C = f"[{LATIN}]", f"[{CYRILLIC}]"
BODIES: dict[str, Body] = {
    "L3D3": Body(23**3 * 10**3, f"{_L}{{3}}[0-9]{{3}}"),
    "L3D4": Body(23**3 * 10**4, f"{_L}{{3}}[0-9]{{4}}"),
    "L1D6": Body(23 * 10**6, f"{_L}[0-9]{{6}}"),
    "L2D5": Body(23**2 * 10**5, f"{_L}{{2}}[0-9]{{5}}"),
    "D2-D6": Body(10**8, "[0-9]{2}-[0-9]{6}"),
    "D3-D5": Body(10**8, "[0-9]{3}-[0-9]{5}"),
    "D5": Body(10**5, "[0-9]{5}"),
    "D6": Body(10**6, "[0-9]{6}"),
    "D7": Body(10**7, "[0-9]{7}"),
    "D8": Body(10**8, "[0-9]{8}"),
    "C2 D4": Body(19**2 * 10**4, f"{_C}{{2}} [0-9]{{4}}"),
    "YY D6": Body(10**6, "[0-9]{2} [0-9]{6}"),
    "YY/D6": Body(10**6, "[0-9]{2}/[0-9]{6}"),
}


@dataclass(frozen=True)
class Model:
    """A weapon model as its maker marks it. Models with the same body, prefix and suffix share
    one numbering (a "family"), so that their serials never repeat by accident."""

    manufacturer: str
    country: str
    name: str
    category: str
    caliber: str
    body: str
    years: tuple[int, int]
    weight: float
    lot_size: int
    civil_share: float = 0.0
    prefix: str = ""
    suffix: str = ""

    @property
    def family_key(self) -> tuple[str, str, str]:
        return (self.body, self.prefix, self.suffix)

    @property
    def serial_pattern(self) -> re.Pattern[str]:
        body = BODIES[self.body].pattern
        return re.compile(re.escape(self.prefix) + body + re.escape(self.suffix))


def _m(*args: Any, **kwargs: Any) -> Model:
    return Model(*args, **kwargs)


_NATO556, _NATO762, _P9 = "5.56x45mm NATO", "7.62x51mm NATO", "9x19mm"
MODELS: tuple[Model, ...] = (
    _m("Glock", "AT", "Glock 19", "PISTOL", _P9, "L3D3", (1988, 2023), 40, 50, 0.6),
    _m("Glock", "AT", "Glock 26", "PISTOL", _P9, "L3D3", (1995, 2023), 12, 50, 0.8),
    _m("Glock", "AT", "Glock 22", "PISTOL", ".40 S&W", "L3D3", (1990, 2023), 10, 50, 0.5),
    _m("Steyr Mannlicher", "AT", "AUG A3", "ASSAULT_RIFLE", _NATO556, "D2-D6", (1997, 2023), 8, 40),
    _m("Hirtenberger Defence Systems", "AT", "M6C-210", "MORTAR", "60mm", "D5", (2000, 2023),
       0.8, 10, prefix="HDS"),
    _m("FN Herstal", "BE", "FN FAL", "RIFLE", _NATO762, "D6", (1955, 1988), 10, 100),
    _m("FN Herstal", "BE", "Minimi", "MACHINE_GUN", _NATO556, "D6", (1982, 2023), 4, 20,
       prefix="MIN"),
    _m("FN Herstal", "BE", "Five-seveN", "PISTOL", "5.7x28mm", "D6", (1998, 2023), 6, 40, 0.3,
       prefix="386"),
    _m("FN Herstal", "BE", "P90", "SUBMACHINE_GUN", "5.7x28mm", "D6", (1991, 2023), 4, 30,
       prefix="FN"),
    _m("Heckler & Koch", "DE", "G3A3", "RIFLE", _NATO762, "D2-D6", (1963, 1995), 12, 100),
    _m("Heckler & Koch", "DE", "MP5A3", "SUBMACHINE_GUN", _P9, "D2-D6", (1970, 2023), 10, 40),
    _m("Heckler & Koch", "DE", "USP", "PISTOL", _P9, "D2-D6", (1993, 2023), 10, 50, 0.3),
    _m("Heckler & Koch", "DE", "HK416", "ASSAULT_RIFLE", _NATO556, "D2-D6", (2005, 2023), 6, 50),
    _m("Rheinmetall", "DE", "MG3", "MACHINE_GUN", _NATO762, "D2-D6", (1968, 2010), 4, 20),
    _m("Walther", "DE", "P99", "PISTOL", _P9, "L3D4", (1997, 2023), 10, 50, 0.6),
    _m("Walther", "DE", "PPQ", "PISTOL", _P9, "L3D4", (2011, 2023), 8, 50, 0.7),
    _m("Beretta", "IT", "PX4 Storm", "PISTOL", _P9, "D6", (2004, 2023), 12, 50, 0.5,
       prefix="PX"),
    _m("Beretta", "IT", "M9A3", "PISTOL", _P9, "D6", (2015, 2023), 8, 50, 0.2, prefix="M9-"),
    _m("Beretta", "IT", "ARX160", "ASSAULT_RIFLE", _NATO556, "D6", (2008, 2023), 4, 50,
       prefix="AX"),
    _m("SIG Sauer", "CH", "P226", "PISTOL", _P9, "D6", (1984, 2023), 10, 50, 0.5, prefix="U"),
    _m("SIG Sauer", "CH", "SG 550", "ASSAULT_RIFLE", "5.56x45mm GP 90", "D6", (1990, 2023), 5,
       50, prefix="A"),
    _m("Colt", "US", "M4 Carbine", "CARBINE", _NATO556, "D6", (1994, 2023), 10, 100,
       prefix="W"),
    _m("Colt", "US", "M16A2", "ASSAULT_RIFLE", _NATO556, "D6", (1983, 2010), 8, 100,
       prefix="LE"),
    _m("Smith & Wesson", "US", "M&P9", "PISTOL", _P9, "L3D4", (2005, 2023), 14, 50, 0.9),
    _m("Smith & Wesson", "US", "Model 686", "REVOLVER", ".357 Magnum", "L3D4", (1981, 2023), 5,
       30, 0.9),
    _m("Sturm, Ruger & Co.", "US", "Mini-14", "RIFLE", _NATO556, "D3-D5", (1974, 2023), 8, 50,
       0.9),
    _m("Sturm, Ruger & Co.", "US", "SR9", "PISTOL", _P9, "D3-D5", (2007, 2023), 6, 50, 0.95),
    _m("Sturm, Ruger & Co.", "US", "10/22", "RIFLE", ".22 LR", "D3-D5", (1964, 2023), 6, 50,
       1.0),
    _m("Remington Arms", "US", "Model 870", "SHOTGUN", "12 gauge", "L1D6", (1951, 2020), 8, 50,
       0.9, suffix="M"),
    _m("O.F. Mossberg & Sons", "US", "590A1", "SHOTGUN", "12 gauge", "D7", (1987, 2023), 6, 50,
       0.9, prefix="V"),
    _m("Česká zbrojovka", "CZ", "CZ P-10 C", "PISTOL", _P9, "L1D6", (2016, 2023), 8, 50, 0.6),
    _m("Česká zbrojovka", "CZ", "CZ 805 BREN", "ASSAULT_RIFLE", _NATO556, "L1D6", (2010, 2023),
       4, 50),
    _m("Česká zbrojovka", "CZ", "Scorpion EVO 3", "SUBMACHINE_GUN", _P9, "L1D6", (2009, 2023),
       4, 40, 0.2),
    _m("FEG", "HU", "PA-63", "PISTOL", "9x18mm Makarov", "L1D6", (1963, 1990), 4, 100, 0.3),
    _m("Fabryka Broni Łucznik-Radom", "PL", "Beryl wz. 96", "ASSAULT_RIFLE", _NATO556, "L1D6",
       (1997, 2020), 4, 50),
    _m("Fabryka Broni Łucznik-Radom", "PL", "MSBS Grot", "ASSAULT_RIFLE", _NATO556, "L1D6",
       (2017, 2023), 3, 50),
    _m("Sako", "FI", "TRG 42", "RIFLE", ".338 Lapua Magnum", "L1D6", (1999, 2023), 2, 20, 0.5),
    _m("Zastava Arms", "RS", "M92 PAP", "CARBINE", "7.62x39mm", "D6", (1992, 2023), 6, 100, 0.4),
    _m("Zastava Arms", "RS", "M84", "MACHINE_GUN", "7.62x54mmR", "D6", (1984, 2023), 4, 20),
    _m("Zastava Arms", "RS", "M76", "RIFLE", "7.92x57mm Mauser", "D6", (1976, 2010), 3, 30),
    _m("Zastava Arms", "RS", "CZ 99", "PISTOL", _P9, "D6", (1990, 2023), 4, 50, 0.3),
    _m("MKEK", "TR", "MPT-76", "ASSAULT_RIFLE", _NATO762, "D6", (2014, 2023), 4, 100),
    _m("MKEK", "TR", "G3A7", "RIFLE", _NATO762, "D6", (1967, 2010), 6, 100),
    _m("Arsenal AD", "BG", "AKK", "ASSAULT_RIFLE", "7.62x39mm", "C2 D4", (1965, 1995), 6, 100),
    _m("Arsenal AD", "BG", "AR-M1", "ASSAULT_RIFLE", "7.62x39mm", "YY/D6", (1998, 2023), 5, 100),
    _m("Uzina Mecanică Cugir", "RO", "PM md. 63", "ASSAULT_RIFLE", "7.62x39mm", "YY/D6",
       (1963, 1990), 6, 100),
    _m("Izhmash", "RU", "AKM", "ASSAULT_RIFLE", "7.62x39mm", "C2 D4", (1959, 1991), 20, 100),
    _m("Izhmash", "RU", "AK-74", "ASSAULT_RIFLE", "5.45x39mm", "C2 D4", (1974, 1991), 14, 100),
    _m("Izhmash", "RU", "Saiga-12", "SHOTGUN", "12 gauge", "C2 D4", (1997, 2013), 3, 50, 0.9),
    _m("Kalashnikov Concern", "RU", "AK-103", "ASSAULT_RIFLE", "7.62x39mm", "YY D6",
       (2001, 2023), 8, 100, prefix=_AK),
    _m("Kalashnikov Concern", "RU", "AK-105", "ASSAULT_RIFLE", "5.45x39mm", "YY D6",
       (2001, 2023), 4, 100, prefix=_AK),
    _m("Kalashnikov Concern", "RU", "AK-15", "ASSAULT_RIFLE", "7.62x39mm", "YY D6", (2018, 2023),
       2, 100, prefix=_AK),
    _m("Molot", "RU", "RPK-74", "MACHINE_GUN", "5.45x39mm", "C2 D4", (1974, 1995), 4, 40),
    _m("Degtyarev Plant", "RU", "PKM", "MACHINE_GUN", "7.62x54mmR", "C2 D4", (1969, 2023), 6, 20),
    _m("Degtyarev Plant", "RU", "Kord", "HEAVY_MACHINE_GUN", "12.7x108mm", "YY D6",
       (1998, 2023), 1.5, 10, prefix=_KD),
    _m("Bazalt", "RU", "RPG-7V", "ANTI_TANK_WEAPON", "40mm", "C2 D4", (1961, 2023), 4, 20),
    _m("KBM", "RU", "9K38 Igla", "MANPADS", "72mm", "YY D6", (1983, 2015), 1, 10,
       prefix=_IGLA),
    _m("Norinco", "CN", "Type 56-1", "ASSAULT_RIFLE", "7.62x39mm", "D7", (1963, 2010), 16, 200,
       prefix="66 "),
    _m("Norinco", "CN", "Type 81", "ASSAULT_RIFLE", "7.62x39mm", "D7", (1983, 2005), 6, 100,
       prefix="26 "),
    _m("Norinco", "CN", "Type 54", "PISTOL", "7.62x25mm Tokarev", "D7", (1954, 1995), 6, 100),
    _m("Norinco", "CN", "QBZ-95", "ASSAULT_RIFLE", "5.8x42mm", "D8", (1997, 2023), 5, 100),
    _m("Pakistan Ordnance Factories", "PK", "G3P4", "RIFLE", _NATO762, "D7", (1968, 2023), 6,
       100),
    _m("Ordnance Factory Board", "IN", "INSAS", "ASSAULT_RIFLE", _NATO556, "D7", (1998, 2020), 6,
       100),
    _m("Israel Weapon Industries", "IL", "Tavor TAR-21", "ASSAULT_RIFLE", _NATO556, "D8",
       (2001, 2023), 6, 50),
    _m("Israel Weapon Industries", "IL", "Jericho 941", "PISTOL", _P9, "D8", (1990, 2023), 4, 50,
       0.4),
    _m("Israel Weapon Industries", "IL", "Negev", "MACHINE_GUN", _NATO556, "D8", (1997, 2023), 2,
       20),
    _m("S&T Motiv", "KR", "K2", "ASSAULT_RIFLE", _NATO556, "D6", (1984, 2023), 5, 100,
       prefix="K2-"),
    _m("Taurus", "BR", "PT92", "PISTOL", _P9, "L2D5", (1983, 2023), 10, 50, 0.8),
    _m("Taurus", "BR", "Model 85", "REVOLVER", ".38 Special", "L2D5", (1980, 2023), 6, 50, 0.95),
    _m("IMBEL", "BR", "IA2", "ASSAULT_RIFLE", _NATO556, "L2D5", (2013, 2023), 3, 100),
    _m("Denel Land Systems", "ZA", "R4", "ASSAULT_RIFLE", _NATO556, "D6", (1982, 2005), 4, 100,
       prefix="R4-"),
    _m("Saab Bofors Dynamics", "SE", "Carl Gustaf M4", "RECOILLESS_RIFLE", "84mm", "D5",
       (2014, 2023), 0.6, 10, prefix="CG"),
    _m("Saab Bofors Dynamics", "SE", "AT4", "ANTI_TANK_WEAPON", "84mm", "D6", (1987, 2023), 2, 20,
       prefix="AT4-"),
)  # fmt: skip

# Where lots go, with rough weights (large civilian markets and large armed forces weigh more).
COUNTRIES: tuple[tuple[str, float], ...] = (
    ("US", 40), ("CA", 6), ("MX", 4), ("BR", 5), ("AR", 2), ("CL", 2), ("CO", 3), ("PE", 2),
    ("VE", 1), ("EC", 1), ("BO", 1), ("PY", 1), ("UY", 1), ("GT", 1), ("HN", 1), ("SV", 1),
    ("NI", 1), ("PA", 1), ("DO", 1), ("JM", 1), ("GB", 3), ("IE", 1), ("FR", 5), ("DE", 6),
    ("IT", 4), ("ES", 3), ("PT", 1), ("NL", 2), ("BE", 2), ("AT", 2), ("CH", 2), ("CZ", 2),
    ("SK", 1), ("PL", 3), ("HU", 1), ("SI", 1), ("HR", 1), ("BA", 1), ("RS", 1), ("ME", 1),
    ("MK", 1), ("AL", 1), ("GR", 2), ("BG", 1), ("RO", 1), ("MD", 1), ("UA", 3), ("BY", 1),
    ("LT", 1), ("LV", 1), ("EE", 1), ("FI", 2), ("SE", 2), ("NO", 2), ("DK", 1), ("TR", 5),
    ("GE", 1), ("AM", 1), ("AZ", 2), ("KZ", 2), ("UZ", 1), ("KG", 1), ("TJ", 1), ("RU", 2),
    ("MN", 1), ("CN", 2), ("KR", 3), ("JP", 1), ("TW", 1), ("PH", 3), ("VN", 2), ("TH", 3),
    ("KH", 1), ("MM", 1), ("MY", 2), ("SG", 1), ("ID", 4), ("AU", 4), ("NZ", 1), ("PG", 1),
    ("IN", 8), ("PK", 4), ("BD", 2), ("LK", 1), ("NP", 1), ("AF", 1), ("IQ", 3), ("JO", 2),
    ("LB", 1), ("IL", 3), ("SA", 6), ("AE", 4), ("QA", 2), ("KW", 2), ("OM", 1), ("BH", 1),
    ("YE", 1), ("EG", 4), ("LY", 1), ("TN", 1), ("DZ", 3), ("MA", 2), ("MR", 1), ("SN", 1),
    ("ML", 1), ("BF", 1), ("NE", 1), ("TD", 1), ("NG", 4), ("GH", 2), ("CI", 1), ("CM", 1),
    ("SD", 1), ("SS", 1), ("ET", 2), ("KE", 3), ("UG", 2), ("TZ", 2), ("RW", 1), ("CD", 2),
    ("AO", 2), ("ZM", 1), ("ZW", 1), ("MZ", 1), ("NA", 1), ("BW", 1), ("ZA", 3),
)  # fmt: skip

# State export agencies of makers' countries, where one is well known; the others get a generic
# "<country> Defence Exports (synthetic)". Party records are synthetic whatever their name.
EXPORTERS = {
    "RU": "Rosoboronexport",
    "CN": "Poly Technologies",
    "RS": "Yugoimport SDPR",
    "BG": "Kintex",
    "RO": "Romtehnica",
    "IL": "SIBAT",
}


@dataclass(frozen=True)
class SyntheticLoad:
    """What a run found or recorded, and how long it took."""

    seed: int
    requested_items: int
    already_loaded: bool
    counts: RecordCounts
    event_items: int
    seconds: float
    rows_written: int = 0
    rebuilt_indexes: bool = False

    @property
    def rows_per_second(self) -> float:
        return self.rows_written / self.seconds if self.seconds else 0.0


class SyntheticLoadError(ValueError):
    """The arguments ask for a registry the generator cannot make."""


def agency_name(seed: int) -> str:
    return f"Synthetic Registry (seed {seed})"


def load(
    conn: Connection, items: int, seed: int = DEFAULT_SEED, report: Report | None = None
) -> SyntheticLoad:
    """Load the synthetic registry of `items` items (once per seed); progress goes to `report`."""
    check(items, seed)
    progress = _Progress(report or (lambda line: None))
    with conn.transaction():
        agency, _ = agencies.ensure_agency(conn, agency_name(seed))
        already = agencies.recorded_counts(conn, agency.id)
        written, rebuilt = (
            (0, False) if already.total else _write(conn, agency.id, items, seed, progress)
        )
    if not already.total:
        progress.step("statistics", lambda: sql.analyze(conn))
    return SyntheticLoad(
        seed=seed,
        requested_items=items,
        already_loaded=bool(already.total),
        counts=agencies.recorded_counts(conn, agency.id),
        event_items=sql.event_item_count(conn, agency.id),
        seconds=progress.elapsed(),
        rows_written=written,
        rebuilt_indexes=rebuilt,
    )


def check(items: int, seed: int) -> None:
    """Refuse sizes and seeds the generator cannot honour."""
    if not 1 <= items <= MAX_ITEMS:
        raise SyntheticLoadError(f"--items must be between 1 and {MAX_ITEMS:,}")
    if not 0 <= seed <= MAX_SEED:
        raise SyntheticLoadError(f"--seed must be between 0 and {MAX_SEED}")


def _write(
    conn: Connection, agency_id: UUID, items: int, seed: int, progress: _Progress
) -> tuple[int, bool]:
    """Write the registry; returns the rows written and whether indexes were rebuilt."""
    sql.use_loading_settings(conn, work_mem="256MB", maintenance_work_mem="1GB")
    params = parameters(items, seed, agency_id)
    rebuild = sql.registry_is_empty(conn)
    aside = _set_aside(conn, progress) if rebuild else []
    sql.create_models(conn, params)
    progress.count("plan", partial(sql.create_plan, conn, params))
    written = _insert(conn, params, items, progress)
    _restore(conn, aside, progress)
    return written, rebuild


def _set_aside(conn: Connection, progress: _Progress) -> list[sql.IndexDefinition]:
    """Drop the loaded tables' secondary indexes (the registry is empty); the dropped ones."""
    aside = sql.secondary_indexes(conn)
    for index in aside:
        sql.drop_index(conn, index)
    progress.say(f"empty registry: {len(aside)} indexes set aside until the rows are in")
    return aside


def _insert(conn: Connection, params: dict[str, Any], items: int, progress: _Progress) -> int:
    """Every row of the registry; returns how many."""
    steps: list[tuple[str, Callable[[], int]]] = [
        ("parties", partial(sql.insert_parties, conn, params)),
        ("items", partial(sql.insert_items, conn, params)),
        ("certificates and lines", lambda: sum(sql.insert_certificates(conn, params))),
        ("exports and imports", partial(sql.insert_shipments, conn, params)),
    ]
    for first in range(1, items + 1, CHUNK_ITEMS):
        last = min(items, first + CHUNK_ITEMS - 1)
        steps.append(
            (f"events of items {first:,}-{last:,}", partial(_chains, conn, params, first, last))
        )
    return sum(progress.count(label, action) for label, action in steps)


def _chains(conn: Connection, params: dict[str, Any], first: int, last: int) -> int:
    return sum(sql.insert_chains(conn, params, first, last))


def _restore(conn: Connection, aside: list[sql.IndexDefinition], progress: _Progress) -> None:
    """Build the indexes that were set aside."""
    for index in aside:
        progress.step(f"index {index.name}", partial(sql.create_index, conn, index))


def parameters(items: int, seed: int, agency_id: UUID) -> dict[str, Any]:
    """Everything the queries of synthetic.sql take."""
    codes = [code for code, _ in COUNTRIES]
    return {
        "items": items,
        "agency_id": agency_id,
        "hash_seed": seed * 64,
        "id_high": (_ID_MILLISECONDS << 16) | 0x7000,
        "id_low": -(2**63) + (_digest_int(f"ids:{seed}") % 2**22 << 40),
        "models": Jsonb(model_rows(seed)),
        "model_bounds": _bounds([model.weight for model in MODELS]),
        "countries": codes,
        "country_bounds": _bounds([weight for _, weight in COUNTRIES]),
        "country_count": len(codes),
        "maker_countries": sorted({model.country for model in MODELS}),
        "exporters": Jsonb(EXPORTERS),
        "latin": LATIN,
        "cyrillic": CYRILLIC,
        "lookalikes": "".join(LOOKALIKE_TO_LATIN),
        "latin_twins": "".join(LOOKALIKE_TO_LATIN.values()),
        "export_per_mille": EXPORT_PER_MILLE,
        "special_per_mille": SPECIAL_PER_MILLE,
        "twin_per_mille": TWIN_PER_MILLE,
        "end_date": END_DATE,
    }


def model_rows(seed: int) -> list[dict[str, Any]]:
    """The catalogue as rows for the synthetic_models table; families numbered per seed."""
    families = _families()
    makers = list(dict.fromkeys(model.manufacturer for model in MODELS))
    countries = [code for code, _ in COUNTRIES]
    rows = []
    for number, model in enumerate(MODELS, start=1):
        family = families[model.family_key]
        blocks = BODIES[model.body].capacity // 100
        rows.append(
            {
                "model_no": number,
                "maker_no": makers.index(model.manufacturer) + 1,
                "manufacturer": model.manufacturer,
                "name_key": normalise_name(model.manufacturer),
                "model": model.name,
                "model_key": normalise_name(model.name),
                "category": model.category,
                "caliber": model.caliber,
                "country": model.country,
                "country_no": countries.index(model.country),
                "body": model.body,
                "prefix": model.prefix,
                "suffix": model.suffix,
                "family": family.number,
                "first_year": model.years[0],
                "last_year": model.years[1],
                "lot_size": model.lot_size,
                "civil_per_mille": round(model.civil_share * 1000),
                "family_makers": family.makers,
                "blocks": blocks,
                "multiplier": _multiplier(blocks),
                "shift": _digest_int(f"family:{seed}:{family.number}") % blocks,
            }
        )
    return rows


@dataclass(frozen=True)
class Family:
    number: int
    makers: int
    share: float
    capacity: int


@cache
def _families() -> dict[tuple[str, str, str], Family]:
    total = sum(model.weight for model in MODELS)
    keys = list(dict.fromkeys(model.family_key for model in MODELS))
    families = {}
    for number, key in enumerate(keys, start=1):
        members = [model for model in MODELS if model.family_key == key]
        families[key] = Family(
            number=number,
            makers=len({model.manufacturer for model in members}),
            share=sum(model.weight for model in members) / total,
            capacity=BODIES[key[0]].capacity,
        )
    return families


def largest_registry() -> int:
    """The most items the catalogue can number without running out of serials or of lot numbers
    (with room for a 20 % deviation from the expected share of each family and model)."""
    total = sum(model.weight for model in MODELS)
    by_family = [family.capacity / (family.share * 1.2) for family in _families().values()]
    # certificate numbers and licences carry a lot's number in five digits
    by_lots = [100_000 * model.lot_size / (model.weight / total * 1.2) for model in MODELS]
    return int(min(by_family + by_lots))


def _multiplier(blocks: int) -> int:
    """A multiplier coprime with `blocks` near its golden section: consecutive blocks scatter."""
    candidate = int(blocks * 0.6180339887)
    while math.gcd(candidate, blocks) != 1:
        candidate += 1
    return candidate


def _bounds(weights: list[float]) -> list[float]:
    """Lower bounds of each weight's share of [0, 1), for width_bucket()."""
    total, running, bounds = sum(weights), 0.0, []
    for weight in weights:
        bounds.append(running / total)
        running += weight
    return bounds


def _digest_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@dataclass
class _Progress:
    """Times each step and prints a line per step."""

    report: Report
    started: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def say(self, text: str) -> None:
        self.report(f"[{self.elapsed():7.1f} s] {text}")

    def step(self, label: str, action: Callable[[], object]) -> None:
        began = time.perf_counter()
        action()
        self.say(f"{label}: {time.perf_counter() - began:.1f} s")

    def count(self, label: str, action: Callable[[], int]) -> int:
        began = time.perf_counter()
        rows = action()
        seconds = time.perf_counter() - began
        rate = f", {rows / seconds:,.0f} rows/s" if seconds > 0 else ""
        self.say(f"{label}: {rows:,} rows in {seconds:.1f} s{rate}")
        return rows


def summary(result: SyntheticLoad) -> str:
    """What the registry holds, and how fast it was written."""
    counts = result.counts
    name = agency_name(result.seed)
    if result.already_loaded:
        head = f"Synthetic registry (seed {result.seed}) was already loaded; nothing was added."
    else:
        head = (
            f"Synthetic registry (seed {result.seed}) loaded in {result.seconds:.1f} s: "
            f"{result.rows_written:,} rows, {result.rows_per_second:,.0f} rows/s, "
            f"{counts.items / result.seconds:,.0f} items/s."
        )
    lines = [
        head,
        f"  recorded by {name!r}: {counted(counts.items, 'item', grouped=True)}, "
        f"{counted(counts.parties, 'party', 'parties', grouped=True)}, "
        f"{counted(counts.eucs, 'end-user certificate', grouped=True)}, "
        f"{counted(counts.events, 'custody event', grouped=True)} "
        f"covering {counted(result.event_items, 'item entry', 'item entries', grouped=True)} "
        f"({result.event_items / max(counts.items, 1):.1f} per item).",
    ]
    if result.already_loaded and counts.items != result.requested_items:
        lines.append(
            f"  note: {result.requested_items:,} items were asked for; this seed's registry holds "
            f"{counts.items:,}. Use another seed or database for another size."
        )
    # Deriving every item's place on the list would take longer than the load (a review found
    # GET /v1/alerts empty on a seeded registry, with no word of why).
    lines.append(
        "  The alert list is not derived by the load: `trace-registry alerts rebuild` lists the "
        "items on alert."
    )
    return "\n".join(lines)
