"""`bench/run`: measure the bulk import, build or reuse the data set, serve it as in production,
load the API with wrk and PostgreSQL with pgbench, and print the figures, ratios and targets
(see bench/README.md)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bench import beside, cpu, dataset, imports, load, service
from bench.dataset import ROOT
from bench.load import Result
from bench.report import NOISY_CORES, Report
from bench.workload import KINDS, TARGETS, Request, Target, Weapon, requests_for
from bench.workload import write_request_file as write_requests
from service.domain import api_keys

RESULTS_DIR = ROOT / "bench" / "results"
# Which endpoint to load when --target is not given: "auto" probes POST /v1/traces and falls back
# to the stand-in GET /v1/items when it is not there; "items" or "traces" to pin one.
DEFAULT_TARGET = "auto"
WARM_UP_SECONDS = 5.0
# The traces and pgbench run on a copy of the data set, dropped at the end (dataset.copy_of).
RUN_COPY = "bench_run"
CLI = [sys.executable, "-m", "service.cli"]
# What a request costs before it does any work of its own, loaded at the largest client count
# beside the traces: gunicorn and Flask alone, and the whole guard (key check with the rate
# limiter, transaction, hash-chained audit entry) around a lookup of one small table.
REFERENCE_REQUESTS = {
    "ref:healthz": Request("GET", "/healthz"),
    "ref:guarded": Request("GET", "/v1/manufacturers?name=Beretta"),
}


@dataclass(frozen=True)
class Plan:
    items: int
    seed: int
    seconds: float
    clients: tuple[int, ...]
    kinds: tuple[str, ...]
    samples: int
    target: str
    import_records: int  # 0: no import benchmark in this run
    references: bool  # load REFERENCE_REQUESTS too
    beside_import: bool  # exact traces alone and during an import, on a copy of the data set
    rounds: int = 1  # the API and pgbench loads, this many times in turns; medians reported


def parse(argv: Sequence[str] | None) -> Plan:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--items", type=int, help="data set size (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1, help="data set seed (default 1)")
    parser.add_argument("--duration", type=float, help="seconds per run (default 15)")
    parser.add_argument(
        "--clients", default="1,8,32", help="connections per run, comma-separated (default 1,8,32)"
    )
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help=f"request kinds (default {','.join(KINDS)})"
    )
    parser.add_argument(
        "--samples", type=int, default=10_000, help="serials sampled (default 10,000)"
    )
    parser.add_argument(
        "--target",
        choices=("auto", *TARGETS),
        default=DEFAULT_TARGET,
        help="the endpoint: auto (POST /v1/traces if it answers, else GET /v1/items), "
        "items or traces",
    )
    parser.add_argument(
        "--import-records",
        type=int,
        help="records in the import benchmark's NDJSON file, imported first "
        "(default: as many as --items; 0 leaves the import out)",
    )
    parser.add_argument(
        "--no-references",
        action="store_true",
        help="leave out the reference runs (/healthz and a guarded lookup of one small table)",
    )
    parser.add_argument(
        "--no-beside-import",
        action="store_true",
        help="leave out the exact traces during an import of the import benchmark's file "
        "(run by default when the import is measured and the embedded server is used)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the API and pgbench loads this many times, in turns, and report the run of "
        "median throughput of each (default 1; 3 on a noisy machine)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="check the harness: 20,000 items, 5 s a run"
    )
    args = parser.parse_args(argv)
    kinds = tuple(kind for kind in args.kinds.split(",") if kind)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    items = args.items or (20_000 if args.quick else 1_000_000)
    import_records = items if args.import_records is None else args.import_records
    return Plan(
        items=items,
        seed=args.seed,
        seconds=args.duration or (5.0 if args.quick else 15.0),
        clients=tuple(int(c) for c in args.clients.split(",") if c),
        kinds=kinds,
        samples=args.samples,
        target=args.target,
        import_records=import_records,
        references=not args.no_references,
        beside_import=import_records > 0 and not args.no_beside_import,
        rounds=args.rounds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    plan = parse(argv)
    try:
        load.wrk_path(), load.pgbench_path()
        report = run(plan)
    except (load.LoadError, dataset.DatasetError, RuntimeError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    print()
    print(report.text())
    print(f"\nresults: {report.save(RESULTS_DIR).relative_to(ROOT)}")
    if report.failures():
        print(f"FAILED: {report.failures()} non-2xx responses or errors", file=sys.stderr)
        return 1
    return 0


def run(plan: Plan) -> Report:
    speeds = [("start", cpu.interpreter_ns())]
    # First, alone on the machine: the import's figures must not share it with the trace load.
    imported = imports.measure(plan.import_records, plan.seed) if plan.import_records else None
    if imported is not None:
        print("\n".join(imported.lines()), flush=True)
    with dataset.database(plan.items, plan.seed) as db:
        built = dataset.ensure(db, plan.items, plan.seed)
        facts = dataset.facts(db.url)
        weapons = dataset.sample(db.url, plan.seed, plan.samples)
        dataset.store_sample(db.url, weapons)
        work_dir = RESULTS_DIR / "work"
        work_dir.mkdir(parents=True, exist_ok=True)
        postmaster = cpu.postmaster_pid(db.data_dir)
        with dataset.copy_of(db, RUN_COPY) as url:
            key = create_key(url)
            api_rounds: list[list[Result]] = []
            pgbench_rounds: list[list[Result]] = []
            worker_peaks: dict[int, int] = {}
            for n in range(plan.rounds):
                speeds.append((f"round {n + 1}", cpu.interpreter_ns()))
                if plan.rounds > 1:
                    print(f"round {n + 1} of {plan.rounds}", flush=True)
                with (
                    service.running(url, work_dir / "gunicorn.log") as api,
                    service.RssSampler(api.master_pid) as rss,
                ):
                    if n == 0:
                        target = choose_target(plan.target, api.base_url, key, weapons[0])
                        print(f"API target: {target.description}", flush=True)
                        variables = pgbench_variables(api.base_url, key, target, weapons[0])
                        files = request_files(work_dir, plan, target, weapons)
                    meter = cpu.Meter(api.master_pid, postmaster)
                    warn_if_busy(meter)
                    api_rounds.append(load_api(api.base_url, key, files, plan, meter))
                worker_peaks.update(rss.peaks)
                pgbench_rounds.append(
                    load_database(url, target, len(weapons), plan, postmaster, variables)
                )
        where = f"embedded server in {db.data_dir}" if db.embedded else "BENCH_DATABASE_URL"
        alongside = traces_beside_import(db, plan, target, weapons, work_dir)
    speeds.append(("end", cpu.interpreter_ns()))
    report = Report(
        target=target.name,
        target_description=target.description,
        pgbench_scripts=target.pgbench_scripts,
        items=plan.items,
        seed=plan.seed,
        seconds_per_run=plan.seconds,
        api=load.median_runs(api_rounds),
        pgbench=load.median_runs(pgbench_rounds),
        api_rounds=api_rounds if plan.rounds > 1 else [],
        pgbench_rounds=pgbench_rounds if plan.rounds > 1 else [],
        worker_peaks_kib=worker_peaks,
        facts=facts,
        build_seconds=built,
        database=where,
        imports=imported,
        beside_import=alongside,
        interpreter_ns=speeds,
    )
    if not db.embedded:
        report.notes.append(
            "the traces ran on the data set in BENCH_DATABASE_URL itself (it cannot be copied): "
            "their stored answers, audit entries and the run's key stay in it"
        )
    if plan.beside_import and alongside is None:
        report.notes.append(
            "traces beside an import were not measured: they copy the data set, which needs "
            "the embedded server (not BENCH_DATABASE_URL)"
        )
    if target.name == "items":
        report.notes.append(
            "the stand-in looks up the normalised serial only: wildcard and near-miss requests "
            "are exact lookups of a serial that is not there, so their figures say nothing yet "
            "about partial or fuzzy matching"
        )
    return report


UNLIMITED = ("--rate-limit", "1000000")


def pgbench_variables(base_url: str, key: str, target: Target, weapon: Weapon) -> dict[str, str]:
    """What the target's pgbench scripts take besides the sample: the key as the `authenticate`
    query takes it (its prefix, and its hash as bytea text) and, for traces, an exact trace asked
    of the API now, whose answer `trace_whole.sql` stores with each of its traces (each client
    reads it once, then sets answer_read to 1)."""
    prefix = api_keys.prefix_of(key)
    if prefix is None:
        raise RuntimeError("the benchmark's key is not well formed")
    variables = {"key_prefix": prefix, "secret_hash": "\\x" + api_keys.hash_key(key).hex()}
    if target.name == "traces":
        status, body = service.send(base_url, key, target.build(weapon, weapon.serial_number))
        if status != target.expected_status:
            raise RuntimeError(f"POST /v1/traces answered {status} to the exact trace for pgbench")
        variables |= {"answer_trace_id": json.loads(body)["id"], "answer_read": "0"}
    return variables


def create_key(database_url: str, scope: str = "trace:read", agency: str = "Benchmark") -> str:
    """A key with `scope` (trace:read unless told), made with `trace-registry keys create` (the
    last line it prints)."""
    result = subprocess.run(
        # Its own rate limit, far above what the machine can serve: the benchmark measures the
        # service, not the limiter's refusals (the limiter's query still runs on every request).
        [*CLI, "keys", "create", "--agency", agency, "--scope", scope, *UNLIMITED],
        env={**os.environ, "DATABASE_URL": database_url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip().splitlines()[-1]


def choose_target(name: str, base_url: str, key: str, weapon: Weapon) -> Target:
    """The pinned target, or (auto) POST /v1/traces when it answers 201, else the stand-in."""
    if name != "auto":
        target = TARGETS[name]
        _expect(base_url, key, target.build(weapon, weapon.serial_number), target.expected_status)
        return target
    traces = TARGETS["traces"]
    status = _send(base_url, key, traces.build(weapon, weapon.serial_number))
    if status == traces.expected_status:
        return traces
    if status not in (404, 405):
        raise RuntimeError(f"POST /v1/traces answered {status} to the probe")
    return choose_target("items", base_url, key, weapon)


def _expect(base_url: str, key: str, request: Request, status: int) -> None:
    answered = _send(base_url, key, request)
    if answered != status:
        raise RuntimeError(f"{request.method} {request.path} answered {answered}, not {status}")


def _send(base_url: str, key: str, request: Request) -> int:
    return service.send(base_url, key, request)[0]


def request_files(
    directory: Path, plan: Plan, target: Target, weapons: list[Weapon]
) -> dict[str, Path]:
    files = {}
    for kind in plan.kinds:
        path = directory / f"requests-{kind}.tsv"
        requests = requests_for(kind, weapons, target, plan.seed)
        write_requests(path, requests)
        print(f"{kind}: {len(requests):,} requests in {path.relative_to(ROOT)}", flush=True)
        files[kind] = path
    if plan.references:
        for kind, request in REFERENCE_REQUESTS.items():
            path = directory / f"requests-{kind.replace(':', '-')}.tsv"
            write_requests(path, [request])
            files[kind] = path
    return files


def warn_if_busy(meter: cpu.Meter, seconds: float = 3.0) -> None:
    """Say so when other processes already take a good share of the CPU before the load."""
    with meter.measure() as usage:
        time.sleep(seconds)
    if usage[0].other > NOISY_CORES:
        print(
            f"WARNING: before any load, other processes use {usage[0].other:.2f} cores of "
            f"{os.cpu_count()}; the figures will understate the service",
            flush=True,
        )


def load_api(
    base_url: str, key: str, files: dict[str, Path], plan: Plan, meter: cpu.Meter
) -> list[Result]:
    """wrk for each kind at each client count, after a warm-up (prepared statements, caches)."""
    warm_up = files.get("exact") or next(iter(files.values()))
    load.run_wrk(base_url, warm_up, key, "warm-up", 8, min(WARM_UP_SECONDS, plan.seconds))
    results = []
    for kind, path in files.items():
        reference = kind in REFERENCE_REQUESTS
        for clients in (max(plan.clients),) if reference else plan.clients:
            with meter.measure() as usage:
                result = load.run_wrk(base_url, path, key, kind, clients, plan.seconds)
            result = replace(result, cpu=usage[0])
            print(_line("wrk", result), flush=True)
            results.append(result)
    return results


def load_database(
    url: str,
    target: Target,
    samples: int,
    plan: Plan,
    postmaster: int | None,
    defines: dict[str, str],
) -> list[Result]:
    """Each of the target's pgbench scripts at each client count, on exact serials, with the
    variables `defines` (pgbench_variables)."""
    meter = cpu.Meter(None, postmaster)
    results = []
    for label, template in target.pgbench_scripts:
        script = load.write_script(template, RESULTS_DIR / "work")
        warm_up = min(WARM_UP_SECONDS, plan.seconds)
        load.run_pgbench(url, script, samples, "warm-up", 8, warm_up, defines)
        for clients in plan.clients:
            with meter.measure() as usage:
                result = load.run_pgbench(
                    url, script, samples, label, clients, plan.seconds, defines
                )
            result = replace(result, cpu=usage[0])
            print(_line("pgbench", result), flush=True)
            results.append(result)
    return results


def traces_beside_import(
    db: dataset.Database, plan: Plan, target: Target, weapons: list[Weapon], work_dir: Path
) -> beside.BesideImport | None:
    """Exact traces alone and during an import, on a copy of the data set (bench/beside.py);
    None when the plan leaves them out or the data set cannot be copied."""
    if not plan.beside_import or db.admin_url is None:
        return None
    path = work_dir / "requests-exact.tsv"
    if "exact" not in plan.kinds:  # request_files wrote it otherwise
        write_requests(path, requests_for("exact", weapons, target, plan.seed))
    import_file = imports.ensure_file(plan.import_records, plan.seed)
    print(
        f"traces beside an import: exact at {beside.CLIENTS} clients on a copy of the data "
        f"set, alone, then during `trace-registry import {import_file.name}`",
        flush=True,
    )
    measured = beside.measure(
        db, path, import_file, plan.import_records, plan.seconds, work_dir, create_key
    )
    for result in measured.results:
        print(_line("wrk", result), flush=True)
    print("\n".join(measured.lines()), flush=True)
    return measured


def _line(tool: str, result: Result) -> str:
    problems = ""
    if result.non_2xx or result.errors:
        problems = f", {result.non_2xx} non-2xx, {result.errors} errors"
    usage = f", cores service/db/load/other {result.cpu.as_text()}" if result.cpu else ""
    return (
        f"[{time.strftime('%H:%M:%S')}] {tool} {result.kind} x{result.clients}: "
        f"{result.per_second:,.0f}/s, p50 {result.p50_ms:.1f} ms, p95 {result.p95_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms{problems}{usage}"
    )


if __name__ == "__main__":
    sys.exit(main())
