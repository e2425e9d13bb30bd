"""Traces while an agency's file is imported (issue 6: "keep answering traces in milliseconds while
it does"): exact traces at 8 clients on a copy of the registry, first alone, then beside
`trace-registry import` of the import benchmark's file into the same database.

The copy (`CREATE DATABASE ... TEMPLATE`, a few seconds for the 1,000,000-item registry) keeps
the data set itself as it was, and is dropped at the end. The trace load during the import
starts with the command and is stopped (SIGINT, which wrk takes as the end of its duration) when
the command ends: it covers every phase of the import, from reading the file to the commit.
Beside them, a few writes a second (bench/writes.py) say whether recording a fact waits for the
import.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import cpu, dataset, imports, load, service, writes
from bench.dataset import Database
from bench.imports import ImportRun
from bench.load import Result

CLIENTS = 8
COPY_NAME = "bench_beside_import"
WARM_UP_SECONDS = 5.0
# The longest the trace load may wait for the import to end (then the import is stopped too).
IMPORT_LIMIT_SECONDS = imports.IMPORT_LIMIT_SECONDS


@dataclass(frozen=True)
class BesideImport:
    """Exact traces at CLIENTS alone and during an import, and the import itself."""

    alone: Result
    importing: Result
    import_run: ImportRun
    records: int
    writes: writes.Writes

    @property
    def results(self) -> list[Result]:
        return [self.alone, self.importing]

    def lines(self) -> list[str]:
        slower = self.importing.p50_ms / self.alone.p50_ms if self.alone.p50_ms else float("nan")
        rate = self.importing.per_second / self.alone.per_second if self.alone.per_second else 0
        return [
            f"the import beside the traces: {self.import_run.seconds:.1f} s, "
            f"{self.import_run.per_second(self.records):,.0f} records/s "
            f"({self.records:,} records); the traces ran for all of it",
            f"    phases: {self.import_run.phases}",
            f"traces during the import: p50 {slower:.1f} times the p50 alone, "
            f"{rate:.2f} of the rate alone",
            self.writes.line(),
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "clients": CLIENTS,
            "alone": self.alone.as_dict(),
            "importing": self.importing.as_dict(),
            "import": {
                "records": self.records,
                "seconds": self.import_run.seconds,
                "records_per_second": self.import_run.per_second(self.records),
                "phases": self.import_run.phases,
                "summary": self.import_run.summary,
            },
            "writes": self.writes.as_json(),
        }


def measure(
    db: Database,
    request_file: Path,
    import_file: Path,
    records: int,
    seconds: float,
    work_dir: Path,
    create_key: Callable[..., str],
) -> BesideImport:
    """Serve a copy of the registry, load it with exact traces alone, then during an import of
    `import_file`, with writes beside. `create_key(url, scope=..., agency=...)` makes the keys
    (bench.main.create_key)."""
    if db.admin_url is None:
        raise ValueError("traces beside an import need the embedded server (to copy the data set)")
    postmaster = cpu.postmaster_pid(db.data_dir)
    with dataset.copy_of(db, COPY_NAME) as url:
        key = create_key(url)
        writer_key = create_key(url, scope="registry:write", agency="Benchmark writer")
        item_ids, party_id = writes.sample(url)
        with service.running(url, work_dir / "gunicorn-beside-import.log") as api:
            meter = cpu.Meter(api.master_pid, postmaster)
            load.run_wrk(api.base_url, request_file, key, "warm-up", CLIENTS, WARM_UP_SECONDS)
            with meter.measure() as usage:
                alone = load.run_wrk(api.base_url, request_file, key, "alone", CLIENTS, seconds)
            alone = replace(alone, cpu=usage[0])
            outcome: dict[str, ImportRun | BaseException] = {}
            done = threading.Event()
            importer = threading.Thread(
                target=_import, args=(url, import_file, outcome, done), name="bench-import"
            )
            writer = writes.EventWriter(api.base_url, writer_key, item_ids, party_id)
            with meter.measure() as usage:
                importer.start()
                writer.start()
                try:
                    importing = load.run_wrk_until(
                        done, api.base_url, request_file, key, "importing", CLIENTS,
                        IMPORT_LIMIT_SECONDS,
                    )  # fmt: skip
                    ran_to_the_end = done.is_set()
                finally:
                    importer.join()
                    written = writer.stop()
            importing = replace(importing, cpu=usage[0])
    if not ran_to_the_end:
        raise load.LoadError(
            f"the trace load stopped before the import ended ({IMPORT_LIMIT_SECONDS:g} s at most)"
        )
    run = outcome["run"]
    if isinstance(run, BaseException):
        raise RuntimeError(f"the import beside the traces failed: {run}") from run
    return BesideImport(alone, importing, run, records, written)


def _import(
    url: str,
    path: Path,
    outcome: dict[str, ImportRun | BaseException],
    done: threading.Event,
) -> None:
    # timed_import stops with SystemExit when the command fails: the main thread raises it.
    try:
        outcome["run"] = imports.timed_import(url, path)
    except BaseException as exc:
        outcome["run"] = exc
    finally:
        done.set()
