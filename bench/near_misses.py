"""`bench/near_misses`: how often a near-miss trace finds its weapon. Weapons of the data set are
read one and two edits away (characters wrong, missing or transposed, as the load's near-miss
readings), traced with their manufacturer, model and category named, and each answer is sorted
by what it shows of the weapon:

- listed (and first);
- not listed, a nearer serial listed: the registry holds a serial nearer the reading, which an
  investigator is right to be shown first (one edit away, or the reading itself);
- not listed, as near listed: as many serials as near as the weapon's, the weapon not among
  them (the answer shows 10 and a search keeps 50);
- lost: nothing as near listed. These are the misses that count.

With `--wildcards`, the weapons are read as the load's wildcard readings are (two characters
unreadable, or the tail), and each answer is sorted by whether it lists the weapon (and first),
and if not, whether a search found as many items as it keeps (`search_limited`). A partial
reading often fits several items of the maker and model named that nothing else tells apart;
`--max-candidates N` asks each trace to list N.

The traces run in one process per version (Flask's test client, no HTTP), on a copy of the data
set; with `--against REF` the other commit answers the same readings, in its own process.

    bench/near_misses                          # 1,000 readings of each edit count
    bench/near_misses --against 58df310 --readings 2000
    bench/near_misses --unnamed                # the serial alone, no maker, model or category
    bench/near_misses --wildcards --max-candidates 50
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import dataset
from bench.checkouts import checkouts, environment
from bench.inprocess import child_figures, service_environment
from bench.workload import CONTEXT, Weapon, edited, trace_request, with_wildcards

RUN_COPY = "bench_near_misses"
OUTCOMES = ("listed", "first", "nearer listed", "as near listed", "lost")
WILDCARD_OUTCOMES = ("listed", "first", "not listed, limited", "not listed")
# The scripts below run in a child process whose `service` is imported from the given checkout
# (sys.argv[1]), reading the file of readings (sys.argv[2]); each starts with this.
_CHILD_START = r"""
import collections, json, logging, os, sys, time
sys.path.insert(0, sys.argv[1])
logging.disable(logging.INFO)
from service import create_app
from service.domain import matching
from service.domain.serials import normalise_serial

client = create_app({"pool_min_size": 1, "pool_max_size": 1}).test_client()
headers = {"Authorization": f"Bearer {os.environ['BENCH_KEY']}",
           "Content-Type": "application/json"}


# The answer, its candidates as (normalised serial, maker, model), and the seconds it took.
def traced(read, body):
    started = time.perf_counter()
    answer = client.post("/v1/traces", data=body, headers=headers)
    seconds = time.perf_counter() - started
    if answer.status_code != 201:
        sys.exit(f"{read}: {answer.status_code} {answer.get_data(as_text=True)[:300]}")
    answer = answer.get_json()
    listed = [
        (normalise_serial(c["item"]["serial_number"]), c["item"]["manufacturer"],
         c["item"]["model"])
        for c in answer["candidates"]
    ]
    return answer, listed, seconds
"""
# Prints a JSON line of counts by edits and outcome, and the mean milliseconds a trace took.
TRACE = (
    _CHILD_START
    + r"""


def distance(read, registered):
    if read == registered:
        return 0
    edits = matching.look_alike_script(read, registered)
    return 3 if edits is None else len(edits[0])


counts = collections.Counter()
spent = collections.Counter()
for line in open(sys.argv[2], encoding="utf-8"):
    edits, weapon_serial, weapon_maker, weapon_model, read, body = json.loads(line)
    _, listed, seconds = traced(read, body)
    spent[edits] += seconds
    weapon = (weapon_serial, weapon_maker, weapon_model)
    counts[edits, "readings"] += 1
    if weapon in listed:
        counts[edits, "listed"] += 1
        counts[edits, "first"] += listed[0] == weapon
        continue
    own = distance(read, weapon_serial)
    nearest = min((distance(read, serial) for serial, _, _ in listed), default=4)
    outcome = "nearer listed" if nearest < own else "as near listed" if nearest == own else "lost"
    counts[edits, outcome] += 1
print(json.dumps({
    "counts": [[edits, outcome, n] for (edits, outcome), n in counts.items()],
    "mean_ms": {edits: 1e3 * s / counts[edits, "readings"] for edits, s in spent.items()},
}))
"""
)
# The same for wildcard readings (lines of `[serial, maker, model, read, body]`): counts by
# outcome, the mean milliseconds, and the mean of candidates listed.
WILDCARD_TRACE = (
    _CHILD_START
    + r"""
counts = collections.Counter()
spent = 0.0
for line in open(sys.argv[2], encoding="utf-8"):
    weapon_serial, weapon_maker, weapon_model, read, body = json.loads(line)
    answer, listed, seconds = traced(read, body)
    spent += seconds
    weapon = (weapon_serial, weapon_maker, weapon_model)
    counts["readings"] += 1
    counts["candidates"] += len(listed)
    if weapon in listed:
        counts["listed"] += 1
        counts["first"] += listed[0] == weapon
    elif answer["interpretation"]["search_limited"]:
        counts["not listed, limited"] += 1
    else:
        counts["not listed"] += 1
print(json.dumps({
    "counts": [["wildcard", outcome, n] for outcome, n in counts.items()],
    "mean_ms": {"wildcard": 1e3 * spent / max(counts["readings"], 1)},
}))
"""
)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/near_misses", description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=1_000, help="of each edit count")
    parser.add_argument("--against", metavar="REF", help="a commit to compare with")
    parser.add_argument("--items", type=int, default=1_000_000, help="data set size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--unnamed", action="store_true", help="trace the serial alone: no maker, model or category"
    )
    parser.add_argument(
        "--wildcards", action="store_true", help="read the serials as the load's wildcard readings"
    )
    parser.add_argument(
        "--max-candidates", type=int, metavar="N", help="ask each trace to list N candidates"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    with dataset.database(args.items, args.seed) as db, checkouts(args.against) as versions:
        dataset.ensure(db, args.items, args.seed)
        weapons = dataset.sample(db.url, args.seed, args.readings * 2)
        made = _wildcard_readings if args.wildcards else _readings
        readings = made(weapons, args.readings, args.seed, args.unnamed, args.max_candidates)
        script = WILDCARD_TRACE if args.wildcards else TRACE
        with dataset.copy_of(db, RUN_COPY) as url, tempfile.TemporaryDirectory() as work:
            env = service_environment(url)
            file = Path(work) / "readings.ndjson"
            file.write_text("".join(json.dumps(r) + "\n" for r in readings), encoding="utf-8")
            found = {
                name: child_figures(root, script, [str(file)], {**env, **environment(root)})
                for name, root in versions
            }
    if args.wildcards:
        _report_wildcards(args, found)
    else:
        _report(args, found)
    return 0


def _readings(
    weapons: list[Weapon], count: int, seed: int, unnamed: bool, max_candidates: int | None
) -> list[list[Any]]:
    """`count` readings of each edit count, one and two: a weapon's normalised serial with that
    many edits (the reading differing from it), as a line of the child's file; `unnamed`, the
    serial alone in the trace."""
    rng = random.Random(f"{seed}:near-misses")  # a reproducible workload, not a secret
    readings = []
    for edits in (1, 2):
        made = 0
        for weapon in weapons:
            read = edited(weapon.serial_norm, edits, rng)
            if read is None:
                continue
            body = _body(weapon, read, unnamed, max_candidates)
            readings.append([edits, weapon.serial_norm, weapon.manufacturer, weapon.model, read,
                             body])  # fmt: skip
            made += 1
            if made == count:
                break
    return readings


def _wildcard_readings(
    weapons: list[Weapon], count: int, seed: int, unnamed: bool, max_candidates: int | None
) -> list[list[Any]]:
    """`count` readings with wildcards, as the load's (bench.workload.with_wildcards)."""
    rng = random.Random(f"{seed}:wildcards")  # a reproducible workload, not a secret
    readings = []
    for weapon in weapons:
        read = with_wildcards(weapon, rng)
        if read is None:
            continue
        body = _body(weapon, read, unnamed, max_candidates)
        readings.append([weapon.serial_norm, weapon.manufacturer, weapon.model, read, body])
        if len(readings) == count:
            break
    return readings


def _body(weapon: Weapon, read: str, unnamed: bool, max_candidates: int | None) -> str:
    """The trace request: the weapon as read (`unnamed`, the serial alone), and the candidates
    to list when given."""
    request = (
        {"weapon": {"serial_number": read}, "context": CONTEXT}
        if unnamed
        else json.loads(trace_request(weapon, read).body)
    )
    if max_candidates is not None:
        request["max_candidates"] = max_candidates
    return json.dumps(request, ensure_ascii=False)


def _report(args: argparse.Namespace, found: dict[str, dict[str, Any]]) -> None:
    named = "the serial alone" if args.unnamed else "the maker named"
    print(
        f"near-miss traces of weapons of the {args.items:,}-item data set, read one and two "
        f"edits away, {named}:"
    )
    header = "edits  version               readings" + "".join(f"{o:>16}" for o in OUTCOMES)
    print(header + "   mean ms")
    for edits in (1, 2):
        for name, figures in found.items():
            counts = {(e, o): n for e, o, n in figures["counts"]}
            total = counts.get((edits, "readings"), 0)
            cells = "".join(
                f"{counts.get((edits, o), 0):>8} ({counts.get((edits, o), 0) / max(total, 1):.2f})"
                for o in OUTCOMES
            )
            mean = figures["mean_ms"].get(str(edits), 0.0)
            print(f"{edits:>5}  {name[:20]:<20} {total:>9}{cells}   {mean:>7.1f}")


def _report_wildcards(args: argparse.Namespace, found: dict[str, dict[str, Any]]) -> None:
    named = "the serial alone" if args.unnamed else "the maker, model and category named"
    listed = f"{args.max_candidates} candidates asked" if args.max_candidates else "10 listed"
    print(f"wildcard traces of weapons of the {args.items:,}-item data set, {named}, {listed}:")
    header = "version               readings" + "".join(f"{o:>24}" for o in WILDCARD_OUTCOMES)
    print(header + "   listed   mean ms")
    for name, figures in found.items():
        counts = {o: n for _, o, n in figures["counts"]}
        total = counts.get("readings", 0)
        cells = "".join(
            f"{counts.get(o, 0):>16} ({counts.get(o, 0) / max(total, 1):.2f})"
            for o in WILDCARD_OUTCOMES
        )
        per_trace = counts.get("candidates", 0) / max(total, 1)
        mean = figures["mean_ms"].get("wildcard", 0.0)
        print(f"{name[:20]:<20} {total:>9}{cells}   {per_trace:>6.1f}   {mean:>7.1f}")


if __name__ == "__main__":
    sys.exit(main())
