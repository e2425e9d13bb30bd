"""What the benchmark asks: serials sampled from the data set, typed four ways, as HTTP requests.

- exact: the serial exactly as marked;
- normalised: the same serial typed differently (lower case, separators dropped or changed,
  Cyrillic look-alikes typed as Latin letters), which normalises to the same serial;
- wildcard: two unreadable characters as `?`, or an unreadable tail as `*`, keeping at least
  five known characters (three of them in a row);
- near-miss: one or two characters substituted, dropped or transposed.

Everything here is pure and seeded: the same sample gives the same request files.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from service.domain.serials import LOOKALIKE_TO_LATIN, normalise_serial

KINDS = ("exact", "normalised", "wildcard", "near-miss")
CONTEXT = {"case_reference": "BENCH-0001", "purpose": "benchmark", "legal_basis": "benchmark run"}
MIN_KNOWN = 5
MIN_KNOWN_RUN = 3
_SEPARATORS = re.compile(r"[\s\-/.]")
_BOUNDARY = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_CYRILLIC_TWINS = {cyrillic: latin for cyrillic, latin in LOOKALIKE_TO_LATIN.items()}


@dataclass(frozen=True)
class Weapon:
    """An item of the data set, as a benchmark request names it."""

    serial_number: str
    serial_norm: str
    manufacturer: str
    model: str
    category: str


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: str = ""

    def line(self) -> str:
        """One line of a request file for bench/wrk/requests.lua."""
        return f"{self.method}\t{self.path}\t{self.body}"


@dataclass(frozen=True)
class Target:
    """An endpoint the benchmark can load, and the pgbench scripts (bench/pgbench/) to compare it
    with, by label: the first runs the SQL the endpoint runs, and sets the API/pgbench ratio."""

    name: str
    description: str
    expected_status: int
    pgbench_scripts: tuple[tuple[str, str], ...]
    build: Callable[[Weapon, str], Request]


def items_request(weapon: Weapon, serial: str) -> Request:
    """The stand-in: `GET /v1/items?serial_number=` (lookup by normalised serial)."""
    return Request("GET", f"/v1/items?serial_number={quote(serial, safe='')}")


def trace_request(weapon: Weapon, serial: str) -> Request:
    """`POST /v1/traces` with the weapon as read and the benchmark's case context."""
    body = {
        "weapon": {
            "serial_number": serial,
            "manufacturer": weapon.manufacturer,
            "model": weapon.model,
            "category": weapon.category,
        },
        "context": CONTEXT,
    }
    return Request("POST", "/v1/traces", json.dumps(body, ensure_ascii=False))


TARGETS = {
    "items": Target(
        "items",
        "GET /v1/items?serial_number= (stand-in for POST /v1/traces)",
        200,
        (("lookup", "items_lookup.sql"), ("lookup+chain", "items_with_chain.sql")),
        items_request,
    ),
    "traces": Target(
        "traces",
        "POST /v1/traces",
        201,
        (("trace reads", "trace.sql"), ("whole trace", "trace_whole.sql")),
        trace_request,
    ),
}


def variant(kind: str, weapon: Weapon, rng: random.Random) -> str | None:
    """The serial of `weapon` typed as `kind`, or None when this serial cannot be (too short)."""
    makers: dict[str, Callable[[Weapon, random.Random], str | None]] = {
        "exact": lambda w, _: w.serial_number,
        "normalised": retyped,
        "wildcard": with_wildcards,
        "near-miss": near_miss,
    }
    return makers[kind](weapon, rng)


def retyped(weapon: Weapon, rng: random.Random) -> str | None:
    """Cyrillic twins typed in Latin, separators dropped, changed or added where letters meet
    digits, and (mostly) lower case: all of it normalises to the same serial."""
    typed = "".join(_CYRILLIC_TWINS.get(char, char) for char in weapon.serial_number)
    if _SEPARATORS.search(typed):
        typed = _SEPARATORS.sub(rng.choice(["", " ", "-", "/"]), typed)
    elif rng.random() < 0.5:
        typed = _BOUNDARY.sub(rng.choice([" ", "-", "/"]), typed, count=1)
    if rng.random() < 0.7 or typed == weapon.serial_number:
        typed = typed.lower()
    if typed == weapon.serial_number:  # digits only, nothing to retype: split it
        typed = f"{typed[:3]} {typed[3:]}"
    assert normalise_serial(typed) == weapon.serial_norm, (typed, weapon)
    return typed


def with_wildcards(weapon: Weapon, rng: random.Random) -> str | None:
    """Two characters of the normalised serial as `?`, or its tail as `*`."""
    serial = weapon.serial_norm
    for _ in range(20):
        if len(serial) >= MIN_KNOWN + 2 and rng.random() < 0.5:
            chars = list(serial)
            for position in rng.sample(range(len(chars)), 2):
                chars[position] = "?"
            candidate = "".join(chars)
        elif len(serial) > MIN_KNOWN:
            keep = rng.randint(MIN_KNOWN, len(serial) - 1)
            candidate = serial[:keep] + "*"
        else:
            return None
        if _searchable(candidate):
            return candidate
    return None


def _searchable(partial: str) -> bool:
    known = [run for run in re.split(r"[?*]", partial) if run]
    return sum(map(len, known)) >= MIN_KNOWN and max(map(len, known)) >= MIN_KNOWN_RUN


def near_miss(weapon: Weapon, rng: random.Random) -> str | None:
    """One or two edits (substitution, deletion, transposition) of the normalised serial."""
    if len(weapon.serial_norm) < 4:
        return None
    return edited(weapon.serial_norm, rng.choice((1, 2)), rng)


def edited(serial: str, edits: int, rng: random.Random) -> str | None:
    """The serial with `edits` random edits (substitution, deletion, transposition); None when
    it is too short, or when they undo each other."""
    if len(serial) < 4:
        return None
    read = serial
    for _ in range(edits):
        read = rng.choice((_substitute, _delete, _transpose))(read, rng)
    return read if read != serial else None


def _substitute(serial: str, rng: random.Random) -> str:
    position = rng.randrange(len(serial))
    old = serial[position]
    pool = string.digits if old.isdigit() else string.ascii_uppercase
    return serial[:position] + rng.choice(pool.replace(old, "")) + serial[position + 1 :]


def _delete(serial: str, rng: random.Random) -> str:
    position = rng.randrange(len(serial))
    return serial[:position] + serial[position + 1 :]


def _transpose(serial: str, rng: random.Random) -> str:
    position = rng.randrange(len(serial) - 1)
    chars = list(serial)
    chars[position], chars[position + 1] = chars[position + 1], chars[position]
    return "".join(chars)


def requests_for(
    kind: str, weapons: Iterable[Weapon], target: Target, seed: int = 1
) -> list[Request]:
    """A request per weapon whose serial can be typed as `kind`."""
    rng = random.Random(f"{seed}:{kind}")  # a reproducible workload, not a secret
    requests = []
    for weapon in weapons:
        serial = variant(kind, weapon, rng)
        if serial is not None:
            requests.append(target.build(weapon, serial))
    return requests


def write_request_file(path: Path, requests: list[Request]) -> None:
    path.write_text("".join(request.line() + "\n" for request in requests), encoding="utf-8")
