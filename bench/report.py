"""The benchmark's report: a table per tool, the API/pgbench ratio, the targets of the issue with
PASS or FAIL, the workers' memory, and the same as JSON under bench/results/."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cpu
from bench.beside import BesideImport
from bench.dataset import ROOT
from bench.imports import TARGET_RECORDS_PER_SECOND, ImportFigures
from bench.load import Result
from bench.service import WORKERS

RATIO_TARGET = 0.25
RSS_TARGET_MB = 150.0
# Cores taken by other processes during a run above which its figures are flagged.
NOISY_CORES = 0.25
HEADER = (
    f"{'kind':<12} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
    f"{'max ms':>8} {'non-2xx':>8} {'errors':>7}  cores: service/db/load/other"
)


@dataclass
class Check:
    label: str
    passed: bool | None  # None: not measured in this run
    detail: str

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a "}[self.passed]


@dataclass
class Report:
    target: str
    target_description: str
    pgbench_scripts: tuple[tuple[str, str], ...]
    items: int
    seed: int
    seconds_per_run: float
    api: list[Result]
    pgbench: list[Result]
    worker_peaks_kib: dict[int, int]
    facts: dict[str, Any]
    build_seconds: float | None
    database: str
    imports: ImportFigures | None = None
    beside_import: BesideImport | None = None
    # With --rounds: every run of every round; `api` and `pgbench` hold the median runs.
    api_rounds: list[list[Result]] = field(default_factory=list)
    pgbench_rounds: list[list[Result]] = field(default_factory=list)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    notes: list[str] = field(default_factory=list)
    # The machine's spell through the run: (when, cpu.interpreter_ns()) at its start, at each
    # round's and at its end.
    interpreter_ns: list[tuple[str, float]] = field(default_factory=list)
    code: str = field(default_factory=lambda: code_version())

    def find(self, results: list[Result], kind: str, clients: int) -> Result | None:
        return next((r for r in results if r.kind == kind and r.clients == clients), None)

    def ratio(self, clients: int = 32, script: str | None = None) -> float | None:
        """API exact req/s over pgbench's (the first script unless another label is given):
        with rounds, the median of each round's ratio, both measured in that round."""
        if not self.api_rounds:
            return self._ratio(self.api, self.pgbench, clients, script)
        ratios = [
            self._ratio(api, db, clients, script)
            for api, db in zip(self.api_rounds, self.pgbench_rounds, strict=True)
        ]
        measured = [ratio for ratio in ratios if ratio is not None]
        return statistics.median(measured) if measured else None

    def _ratio(
        self, api_runs: list[Result], db_runs: list[Result], clients: int, script: str | None
    ) -> float | None:
        label = script or self.pgbench_scripts[0][0]
        api, db = self.find(api_runs, "exact", clients), self.find(db_runs, label, clients)
        if api is None or db is None or not db.per_second:
            return None
        return api.per_second / db.per_second

    def _rounds_lines(self) -> list[str]:
        """Each load's rate in every round, when there were several."""
        if not self.api_rounds:
            return []
        lines = [
            f"{len(self.api_rounds)} rounds: req/s of each run, in order (the tables above "
            "give the run of median throughput; ratios are the medians of each round's)"
        ]
        for rounds in (self.api_rounds, self.pgbench_rounds):
            for runs in zip(*rounds, strict=True):
                rates = ", ".join(f"{run.per_second:,.0f}" for run in runs)
                lines.append(f"  {runs[0].tool} {runs[0].kind} x{runs[0].clients}: {rates}")
        return [*lines, ""]

    def failures(self) -> int:
        """Non-2xx answers and socket errors of the API: any fails the run."""
        beside = self.beside_import.results if self.beside_import else []
        written = self.beside_import.writes.failures if self.beside_import else 0
        return sum(r.non_2xx + r.errors for r in self.api + beside) + written

    def database_errors(self) -> int:
        """pgbench transactions that failed (a statement timeout, say): reported, not fatal."""
        return sum(r.errors for r in self.pgbench)

    def checks(self) -> list[Check]:
        checks = [self._import()]
        checks += [self._throughput(kind) for kind in ("exact", "normalised")]
        checks += [self._p95(kind) for kind in ("wildcard", "near-miss")]
        ratio = self.ratio()
        checks.append(
            Check(
                f"API >= 25% of pgbench {self.pgbench_scripts[0][0]!r} (exact, 32 clients)",
                None if ratio is None else ratio >= RATIO_TARGET,
                "not measured" if ratio is None else f"ratio {ratio:.2f}",
            )
        )
        peak = max(self.worker_peaks_kib.values(), default=0) / 1024
        checks.append(
            Check(
                "gunicorn worker peak RSS < 150 MB",
                None if not self.worker_peaks_kib else peak < RSS_TARGET_MB,
                f"largest {peak:.1f} MB over {len(self.worker_peaks_kib)} workers",
            )
        )
        return checks

    def _reference_lines(self) -> list[str]:
        """Exact traces against the reference runs at the same client count: how much of the
        machine a request costs before its own work."""
        lines = []
        for reference in ("ref:healthz", "ref:guarded"):
            floor = next((r for r in self.api if r.kind == reference), None)
            exact = self.find(self.api, "exact", floor.clients) if floor else None
            if floor and exact and floor.per_second:
                lines.append(
                    f"API exact / {reference}, {floor.clients} clients: "
                    f"{exact.per_second / floor.per_second:.2f}"
                )
        return lines

    def _import_lines(self) -> list[str]:
        if self.imports is None:
            return []
        heading = "Import (trace-registry import, NDJSON, into an empty database)"
        return [heading, *self.imports.lines(), ""]

    def _beside_import_lines(self) -> list[str]:
        if self.beside_import is None:
            return []
        figures = self.beside_import
        return [
            f"Exact traces at {figures.alone.clients} clients alone and during an import "
            "(a copy of the data set; the import command counts as load)",
            HEADER,
            *(_row(r) for r in figures.results),
            *figures.lines(),
            "",
        ]

    def _import(self) -> Check:
        label = f"import: >= {TARGET_RECORDS_PER_SECOND:,} records/s"
        if self.imports is None:
            return Check(label, None, "not measured")
        figures = self.imports
        return Check(
            label,
            figures.met,
            f"{figures.rate:,.0f} records/s ({figures.records:,} records, first import)",
        )

    def _throughput(self, kind: str) -> Check:
        label = f"{kind}: >= 1,000 req/s with p99 < 50 ms at 32 clients"
        result = self.find(self.api, kind, 32)
        if result is None:
            return Check(label, None, "not measured")
        passed = result.per_second >= 1000 and result.p99_ms < 50
        return Check(label, passed, f"{result.per_second:,.0f} req/s, p99 {result.p99_ms:.1f} ms")

    def _p95(self, kind: str) -> Check:
        label = f"{kind}: p95 < 100 ms at 8 clients"
        result = self.find(self.api, kind, 8)
        if result is None:
            return Check(label, None, "not measured")
        return Check(label, result.p95_ms < 100, f"p95 {result.p95_ms:.1f} ms")

    def text(self) -> str:
        facts = self.facts
        build = f", built in {self.build_seconds:.0f} s" if self.build_seconds else " (reused)"
        lines = [
            f"trace benchmark, {self.started_at:%Y-%m-%d %H:%M} UTC",
            f"machine: {machine()['summary']}; PostgreSQL {facts.get('server_version')} "
            f"(shared_buffers {facts.get('shared_buffers')}), {self.database}",
            f"code: {self.code}",
            *self._speed_lines(),
            f"data set: {facts.get('items', 0):,} items, {facts.get('events', 0):,} custody "
            f"events, {facts.get('event_items', 0):,} event entries, "
            f"{facts.get('parties', 0):,} parties, "
            f"{facts.get('database_size')} (seed {self.seed}{build})",
            f"API target: {self.target_description}; gunicorn {WORKERS} sync workers, "
            "access log off",
            "pgbench: "
            + ", ".join(f"{label!r} bench/pgbench/{file}" for label, file in self.pgbench_scripts)
            + f", prepared; {self.seconds_per_run:g} s a run, wrk and pgbench at most 2 threads",
            "",
            *self._import_lines(),
            "API (wrk)",
            HEADER,
            *(_row(r) for r in self.api),
            "",
            "PostgreSQL alone (pgbench)",
            HEADER,
            *(_row(r) for r in self.pgbench),
            *(
                f"  {r.kind} x{r.clients}: {r.first_error}"
                for r in self.pgbench
                if r.errors and r.first_error
            ),
            "",
            *self._rounds_lines(),
            *self._beside_import_lines(),
        ]
        for label, _ in self.pgbench_scripts:
            for clients in sorted({r.clients for r in self.api}):
                ratio = self.ratio(clients, label)
                if ratio is not None:
                    lines.append(f"API exact / pgbench {label!r}, {clients} clients: {ratio:.2f}")
        lines += self._reference_lines()
        lines += ["", "targets", *(f"  {c.verdict}  {c.label}: {c.detail}" for c in self.checks())]
        lines += ["", "gunicorn workers, peak RSS (VmHWM):"]
        lines += [
            f"  pid {pid}: {kib / 1024:.1f} MB"
            for pid, kib in sorted(self.worker_peaks_kib.items())
        ]
        noisy = [r for r in self.api + self.pgbench if r.cpu and r.cpu.other > NOISY_CORES]
        if noisy:
            worst = max(r.cpu.other for r in noisy if r.cpu)
            lines.append(
                f"WARNING: other processes took more than {NOISY_CORES} of the machine's cores "
                f"during {len(noisy)} runs (up to {worst:.2f}): those figures understate the "
                "service; rerun on a quiet machine"
            )
        if self.database_errors():
            lines.append(
                f"pgbench: {self.database_errors()} transactions failed (statement timeout "
                "or error; see the errors column)"
            )
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _speed_lines(self) -> list[str]:
        return [cpu.speed_line(self.interpreter_ns)] if self.interpreter_ns else []

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.started_at.isoformat(),
            "code": self.code,
            "machine": machine(),
            "interpreter_ns": [
                {"when": when, "ns": round(ns, 1)} for when, ns in self.interpreter_ns
            ],
            "postgres": self.facts,
            "database": self.database,
            "data_set": {
                "items": self.items,
                "seed": self.seed,
                "build_seconds": self.build_seconds,
            },
            "target": {"name": self.target, "description": self.target_description},
            "import": self.imports.as_json() if self.imports else None,
            "beside_import": self.beside_import.as_json() if self.beside_import else None,
            "pgbench_scripts": dict(self.pgbench_scripts),
            "seconds_per_run": self.seconds_per_run,
            "api": [r.as_dict() for r in self.api],
            "pgbench": [r.as_dict() for r in self.pgbench],
            "rounds": {
                "api": [[r.as_dict() for r in runs] for runs in self.api_rounds],
                "pgbench": [[r.as_dict() for r in runs] for runs in self.pgbench_rounds],
            },
            "ratio_exact": {
                label: {str(c): self.ratio(c, label) for c in sorted({r.clients for r in self.api})}
                for label, _ in self.pgbench_scripts
            },
            "targets": [
                {"label": c.label, "passed": c.passed, "detail": c.detail} for c in self.checks()
            ],
            "worker_peak_rss_kib": {str(pid): kib for pid, kib in self.worker_peaks_kib.items()},
            "noisy_runs": sum(
                1 for r in self.api + self.pgbench if r.cpu and r.cpu.other > NOISY_CORES
            ),
            "failures": self.failures(),
            "database_errors": self.database_errors(),
            "notes": self.notes,
        }

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        stamp = f"{self.started_at:%Y%m%dT%H%M%SZ}"
        path = directory / f"{stamp}-{self.target}-{self.items}.json"
        path.write_text(json.dumps(self.as_json(), indent=2, default=str) + "\n")
        return path


def _row(result: Result) -> str:
    usage = result.cpu.as_text() if result.cpu else ""
    noisy = " (noisy)" if result.cpu and result.cpu.other > NOISY_CORES else ""
    return (
        f"{result.kind:<12} {result.clients:>7} {result.per_second:>9,.0f} {result.p50_ms:>8.2f} "
        f"{result.p95_ms:>8.2f} {result.p99_ms:>8.2f} {result.max_ms:>8.1f} "
        f"{result.non_2xx:>8} {result.errors:>7}  {usage}{noisy}"
    )


def machine() -> dict[str, Any]:
    """CPUs, memory, kernel and tools of this machine."""
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    cpus = os.cpu_count() or 0
    facts: dict[str, Any] = {
        "nproc": cpus,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": _first_line(["wrk", "-v"]),
    }
    facts["summary"] = f"{cpus} CPUs, {facts['memory_gib']} GiB, Linux {facts['kernel']}"
    return facts


def code_version() -> str:
    """The commit the benchmark ran, and whether the checkout had changes beside it ("unknown"
    outside a git checkout, or without git)."""
    commit = _git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown (not a git checkout)"
    changed = _git("status", "--porcelain", "--untracked-files=no")
    return f"{commit} with uncommitted changes" if changed else commit


def _git(*arguments: str) -> str:
    done = _run(["git", "-C", str(ROOT), *arguments])
    return done.stdout.strip() if done is not None and done.returncode == 0 else ""


def _first_line(command: list[str]) -> str:
    done = _run(command)
    if done is None:
        return "not installed"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0] if lines else ""


def _run(command: list[str]) -> subprocess.CompletedProcess[str] | None:
    """The command's outcome, None when it cannot be started (not installed)."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return None
