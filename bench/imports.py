"""`bench/import`: bulk-import throughput, as an agency's operator sees it.

Generates (or reuses) a deterministic NDJSON file of parties, items and custody events that refer
to each other by the sender's references, imports it with `trace-registry import` into a fresh
database, then imports it again twice: the same bytes (the re-sent nightly file, answered from
the first import without being read), and the same records in other bytes (the file with a
blank line added: read and checked, every record found present). It prints records per second
for each, the target, and the importing process's peak memory.

The database is the embedded server in bench/data/ (a database of its own, made anew each run),
or BENCH_IMPORT_DATABASE_URL: an empty database that the benchmark may fill.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import checkouts, cpu, dataset
from bench.dataset import DATA_DIR, ROOT
from service import embedded

TARGET_RECORDS_PER_SECOND = 20_000
CLI = [sys.executable, "-m", "service.cli"]
DATABASE = "bench_import"
MAKERS = (
    ("FN Herstal", "BE", ("FAL", "FNC", "P90", "Minimi")),
    ("Kalashnikov Concern", "RU", ("AK-74M", "AKM", "PKM", "SVD")),
    ("Glock", "AT", ("G17", "G19")),
    ("Beretta", "IT", ("92FS", "ARX160")),
    ("Ceska zbrojovka", "CZ", ("CZ 75", "Bren 2")),
    ("Heckler & Koch", "DE", ("G3", "MP5", "HK416")),
)
CATEGORIES = {"FAL": "RIFLE", "FNC": "ASSAULT_RIFLE", "P90": "SUBMACHINE_GUN",
              "Minimi": "MACHINE_GUN", "AK-74M": "ASSAULT_RIFLE", "AKM": "ASSAULT_RIFLE",
              "PKM": "MACHINE_GUN", "SVD": "RIFLE", "G17": "PISTOL", "G19": "PISTOL",
              "92FS": "PISTOL", "ARX160": "ASSAULT_RIFLE", "CZ 75": "PISTOL",
              "Bren 2": "ASSAULT_RIFLE", "G3": "RIFLE", "MP5": "SUBMACHINE_GUN",
              "HK416": "ASSAULT_RIFLE"}  # fmt: skip
HOLDER_COUNTRIES = ("KE", "UG", "TZ", "NG", "GH", "SN", "ML", "TD", "CM", "ET")


def records(total: int, seed: int, certified: bool = False) -> Iterator[dict[str, object]]:
    """`total` records: 1% parties (makers and armies), then items and their events in turn
    (a manufacture, and for every other item an export to an army). `certified`: each export
    under the end-user certificate of its maker and army (a certificate record before the
    first), and one exported item in a hundred stolen from the army since, so that every
    exported item's alert state is derived and some are listed."""
    rng = random.Random(seed)
    certificates: set[tuple[int, int]] = set()
    parties = max(len(MAKERS) + len(HOLDER_COUNTRIES), total // 100)
    for n, (name, country, _) in enumerate(MAKERS):
        yield {"record_type": "party", "ref": f"P-M{n}", "name": name, "kind": "MANUFACTURER",
               "country": country, "registration_number": f"{country}-REG-{n}"}  # fmt: skip
    for n in range(parties - len(MAKERS)):
        country = HOLDER_COUNTRIES[n % len(HOLDER_COUNTRIES)]
        yield {"record_type": "party", "ref": f"P-H{n}", "name": f"Unit {n} of {country}",
               "kind": "ARMED_FORCES", "country": country}  # fmt: skip
    written = parties
    item = 0
    while written < total:
        maker = rng.randrange(len(MAKERS))
        name, country, models = MAKERS[maker]
        model = models[rng.randrange(len(models))]
        year = 1990 + rng.randrange(35)
        yield {"record_type": "item", "ref": f"I-{item}", "manufacturer": name, "model": model,
               "category": CATEGORIES[model], "serial_number": f"{year % 100:02d}-{item:08d}",
               "country_of_manufacture": country, "year_of_manufacture": year}  # fmt: skip
        written += 1
        if written < total:
            yield {"record_type": "event", "ref": f"E-M{item}", "event_type": "MANUFACTURE",
                   "occurred_on": f"{year}-03-01", "country": country,
                   "to_party_ref": f"P-M{maker}", "item_refs": [f"I-{item}"]}  # fmt: skip
            written += 1
        if written < total and item % 2 == 0:
            holder = rng.randrange(parties - len(MAKERS))
            destination = HOLDER_COUNTRIES[holder % len(HOLDER_COUNTRIES)]
            certificate: dict[str, object] = {}
            if certified:
                if (maker, holder) not in certificates and written < total - 1:
                    certificates.add((maker, holder))
                    yield {"record_type": "euc", "ref": f"C-{maker}-{holder}",
                           "certificate_number": f"{destination}-EUC-{maker}-{holder}",
                           "issuing_country": destination, "issuing_authority": "Ministry",
                           "issued_on": "1990-01-01", "exporter_party_ref": f"P-M{maker}",
                           "end_user_party_ref": f"P-H{holder}",
                           "destination_country": destination, "stated_end_use": "Army",
                           "non_reexport_clause": True,
                           "line_items": [{"description": "Arms", "quantity": 10_000}]}  # fmt: skip
                    written += 1
                if (maker, holder) in certificates:
                    certificate = {"euc_ref": f"C-{maker}-{holder}", "euc_line_number": 1}
            yield {"record_type": "event", "ref": f"E-X{item}", "event_type": "EXPORT",
                   "occurred_on": f"{year}-09-01", "country": country,
                   "destination_country": destination,
                   "from_party_ref": f"P-M{maker}", "to_party_ref": f"P-H{holder}",
                   "item_refs": [f"I-{item}"], **certificate}  # fmt: skip
            written += 1
            if certified and written < total and item % 200 == 0:
                yield {"record_type": "event", "ref": f"E-T{item}", "event_type": "THEFT",
                       "occurred_on": f"{year + 1}-02-01", "country": destination,
                       "from_party_ref": f"P-H{holder}", "item_refs": [f"I-{item}"]}  # fmt: skip
                written += 1
        item += 1


def ensure_file(total: int, seed: int, certified: bool = False) -> Path:
    path = DATA_DIR / f"import-{total}-s{seed}{'-certified' if certified else ''}.ndjson"
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        for record in records(total, seed, certified):
            out.write(orjson.dumps(record) + b"\n")
    partial.rename(path)
    return path


@contextmanager
def fresh_database() -> Iterator[str]:
    configured = os.environ.get("BENCH_IMPORT_DATABASE_URL")
    if configured:
        yield configured
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        server = embedded.start(DATA_DIR)
    try:
        dataset.recreate(str(server.get_uri()), DATABASE)
        yield str(server.get_uri(database=DATABASE))
    finally:
        server.cleanup()


@dataclass(frozen=True)
class ImportRun:
    """One `trace-registry import` of the file: seconds, its summary line, its peak RSS, and
    where the time went (the command's --timings line)."""

    seconds: float
    summary: str
    peak_rss_bytes: int
    phases: str

    def per_second(self, records: int) -> float:
        return records / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class ImportFigures:
    """The file, its first import into an empty database, the same file sent again, and the
    same records sent again in other bytes."""

    records: int
    file: Path
    file_bytes: int
    first: ImportRun
    again: ImportRun
    records_again: ImportRun
    reading: ReaderFigures

    @property
    def rate(self) -> float:
        return self.first.per_second(self.records)

    @property
    def met(self) -> bool:
        return self.rate >= TARGET_RECORDS_PER_SECOND

    def lines(self) -> list[str]:
        runs = (
            ("first import", self.first),
            ("sent again", self.again),
            ("other bytes", self.records_again),
        )
        return [
            f"file: {self.file} ({self.records:,} records, {self.file_bytes / 1e6:,.0f} MB)",
            self.reading.line(),
            *(
                f"{label + ':':<14}{run.seconds:8.1f} s  {run.per_second(self.records):>9,.0f} "
                f"records/s  peak RSS {run.peak_rss_bytes / 2**20:,.0f} MiB\n    {run.summary}"
                f"\n    phases: {run.phases}"
                for label, run in runs
            ),
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "file_bytes": self.file_bytes,
            "target_records_per_second": TARGET_RECORDS_PER_SECOND,
            "reading_microseconds_per_record": {
                "schemas": self.reading.schemas,
                "compiled": self.reading.compiled,
            },
            **{
                label: {
                    "seconds": run.seconds,
                    "records_per_second": run.per_second(self.records),
                    "peak_rss_bytes": run.peak_rss_bytes,
                    "summary": run.summary,
                    "phases": run.phases,
                }
                for label, run in (
                    ("first", self.first),
                    ("again", self.again),
                    ("records_again", self.records_again),
                )
            },
        }


@dataclass(frozen=True)
class ReaderFigures:
    """Microseconds per record to check and make the file's first records: with the marshmallow
    schemas alone, and with their compiled happy path (service/schemas/compiled.py) as the
    import reads them. In one process, one after the other: the ratio is the figure."""

    records: int
    schemas: float
    compiled: float

    def line(self) -> str:
        return (
            f"reading alone (first {self.records:,} records): schemas {self.schemas:.1f} "
            f"µs/record, compiled {self.compiled:.1f} µs/record ({self.ratio:.1f}x)"
        )

    @property
    def ratio(self) -> float:
        return self.schemas / self.compiled if self.compiled else 0.0


def reader_figures(path: Path, records: int = 20_000) -> ReaderFigures:
    from service.schemas.fields import InputContext
    from service.schemas.imports import COMPILED, SCHEMAS

    with path.open("rb") as lines:
        documents = [orjson.loads(line) for _, line in zip(range(records), lines, strict=False)]
    countries = frozenset(country for _, country, _ in MAKERS) | frozenset(HOLDER_COUNTRIES)

    def schemas(document: dict[str, Any]) -> object:
        return SCHEMAS[document["record_type"]].load(document)

    def compiled(document: dict[str, Any]) -> object:
        """As the import reads: the compiled happy path where a record type has one."""
        fast = COMPILED.get(document["record_type"])
        return fast.load(document, countries) if fast else schemas(document)

    timings = []
    with InputContext({"countries": countries}):
        for load in (schemas, compiled):
            started = time.perf_counter()
            for document in documents:
                if load(document) is None:
                    raise SystemExit(f"a benchmark record did not load: {document}")
            timings.append((time.perf_counter() - started) / len(documents) * 1e6)
    return ReaderFigures(len(documents), *timings)


# The longest an import may take before the benchmark gives up on it (and stops it).
IMPORT_LIMIT_SECONDS = 1800.0


def timed_import(
    url: str, path: Path, limit: float = IMPORT_LIMIT_SECONDS, code: Path = ROOT
) -> ImportRun:
    """Seconds, the command's summary line, and its peak resident memory in bytes, for the
    import command of the checkout `code`. An import still running after `limit` seconds is
    stopped, and the benchmark with it (SystemExit)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [*CLI, "import", str(path), "--agency", "Import Benchmark", "--timings"],
        env={**checkouts.environment(code), "DATABASE_URL": url},
        cwd=code,
        stdout=subprocess.PIPE,
        text=True,
    )
    # wait4 for the child's own peak memory; polled, so that a hung import cannot hang the run.
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - started > limit:
            process.kill()
            process.wait()
            raise SystemExit(f"trace-registry import of {path.name} ran past {limit:g} s: stopped")
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    output = process.stdout.read() if process.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"trace-registry import failed:\n{output}")
    *_, phases, summary = output.strip().splitlines()
    return ImportRun(seconds, summary, usage.ru_maxrss * 1024, phases.partition(": ")[2])


def measure(records: int, seed: int, certified: bool = False) -> ImportFigures:
    """Make (or reuse) the file, import it into a fresh database, then send it again, as it is
    and with a blank line added."""
    path = ensure_file(records, seed, certified)
    print(f"import benchmark: {records:,} records from {path.name}", flush=True)
    with _other_bytes(path) as other_bytes, fresh_database() as url:
        first = timed_import(url, path)
        again = timed_import(url, path)
        records_again = timed_import(url, other_bytes)
    return ImportFigures(
        records, path, path.stat().st_size, first, again, records_again, reader_figures(path)
    )


@contextmanager
def _other_bytes(path: Path) -> Iterator[Path]:
    """The same records in other bytes: the file with a blank line added (removed at the end)."""
    other_bytes = path.with_name(f"{path.stem}.blank-line-added.ndjson")
    with path.open("rb") as original, other_bytes.open("wb") as copy:
        shutil.copyfileobj(original, copy, 1 << 20)
        copy.write(b"\n")
    try:
        yield other_bytes
    finally:
        other_bytes.unlink()


@dataclass(frozen=True)
class Turn:
    """One version's imports in one round of a comparison: the first import into a fresh
    database and the same records in other bytes, with the machine's speed just before."""

    version: str
    round: int
    interpreter_ns: float
    first: ImportRun
    other_bytes: ImportRun

    def line(self, records: int) -> str:
        return (
            f"round {self.round}, {self.version} (timeit {self.interpreter_ns:.1f} ns): first "
            f"import {self.first.seconds:.1f} s, {self.first.per_second(records):,.0f} records/s"
            f" ({self.first.phases}); other bytes {self.other_bytes.seconds:.1f} s"
        )


def compare(
    records: int, seed: int, against: str, rounds: int, certified: bool = False
) -> list[str]:
    """The code as it stands and the commit `against`, each importing the same file into a
    fresh database and then the same records in other bytes, in turns (ABBA: the version that
    goes first alternates), `rounds` times; the report's lines."""
    path = ensure_file(records, seed, certified)
    print(f"import benchmark: {records:,} records from {path.name}, against {against}")
    turns: list[Turn] = []
    with _other_bytes(path) as other_bytes, checkouts.checkouts(against) as versions:
        for n in range(1, rounds + 1):
            for name, code in versions if n % 2 else versions[::-1]:
                speed = cpu.interpreter_ns()
                with fresh_database() as url:
                    first = timed_import(url, path, code=code)
                    again = timed_import(url, other_bytes, code=code)
                turns.append(Turn(name, n, speed, first, again))
                print(turns[-1].line(records), flush=True)
    return _comparison(records, rounds, [name for name, _ in versions], turns)


def _comparison(records: int, rounds: int, names: list[str], turns: list[Turn]) -> list[str]:
    lines = ["", f"{records:,} records, median of {rounds} rounds:"]
    for name in names:
        own = [t for t in turns if t.version == name]
        first = statistics.median(t.first.seconds for t in own)
        again = statistics.median(t.other_bytes.seconds for t in own)
        lines.append(
            f"  {name}: first import {first:.1f} s ({records / first:,.0f} records/s), "
            f"other bytes {again:.1f} s"
        )
    this, other = names
    by_round = {(t.version, t.round): t for t in turns}
    for label, run in (("first import", "first"), ("other bytes", "other_bytes")):
        ratios = [
            getattr(by_round[this, n], run).seconds / getattr(by_round[other, n], run).seconds
            for n in range(1, rounds + 1)
        ]
        lines.append(
            f"  {this} / {other}, {label} time: {statistics.median(ratios):.3f} "
            f"(each round's: {', '.join(f'{r:.3f}' for r in ratios)}; below 1 is faster)"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/import", description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--certified",
        action="store_true",
        help="exports under end-user certificates, and some items stolen since: every exported "
        "item's alert state is derived (by default no chain in the file can be listed)",
    )
    parser.add_argument(
        "--against",
        metavar="REF",
        help="compare with this commit instead: both import the file (first import, then the "
        "same records in other bytes), in turns, --rounds times; no target is judged",
    )
    parser.add_argument("--rounds", type=int, default=2, help="with --against; default 2")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.against:
        report = compare(args.records, args.seed, args.against, args.rounds, args.certified)
        print("\n".join(report))
        return 0
    speed_before = cpu.interpreter_ns()
    figures = measure(args.records, args.seed, args.certified)
    speed_after = cpu.interpreter_ns()
    print("\n".join(figures.lines()))
    met = "met" if figures.met else "NOT met"
    print(f"target: {TARGET_RECORDS_PER_SECOND:,} records/s: {met} "
          f"({figures.rate / TARGET_RECORDS_PER_SECOND:.2f} of it)")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}; "
          f"{time.strftime('%Y-%m-%d')}; max RSS of this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")  # fmt: skip
    print(cpu.speed_line([("before", speed_before), ("after", speed_after)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
