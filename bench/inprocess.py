"""`bench/inprocess`: the CPU one request costs, in the service's Python and in its PostgreSQL
backend, measured in one process (Flask's test client, no HTTP, one connection), for the code as
it stands and, alternating with it, for another commit (`--against REF`).

On a machine whose speed drifts by a third within an hour, two versions are compared only when
they run in turns, a few seconds apart, on the same data set; the report gives each round and the
medians. The other commit is checked out in a temporary git worktree and imported from there.

    bench/inprocess --against HEAD~1                 # exact traces, 3 rounds of 3,000 requests
    bench/inprocess --kind near-miss --requests 500 --rounds 5 --against 8845549
    bench/inprocess --timed                          # where a trace's Python CPU goes
    bench/inprocess --timed --path "$(printf 'GET\t/v1/manufacturers?name=Beretta\t')"
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import dataset
from bench.checkouts import checkouts
from bench.dataset import ROOT
from bench.main import CLI, create_key
from bench.workload import KINDS, TARGETS, Request, requests_for
from service import embedded

WARM_UP = 300
# What the rounds store (traces, audit entries) goes to a copy of the data set (dataset.copy_of).
RUN_COPY = "bench_inprocess"
# Run in a child process whose `service` is imported from the given checkout.
MEASURE = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import logging
logging.disable(logging.INFO)
import psycopg
from service import create_app

import functools, importlib
spent = {}
# The backend's CPU in each timed function: its schedstat counts nanoseconds (stat, ticks).
backend_spent = {}
schedstat = None


def backend_ns():
    if schedstat is None:
        return 0
    schedstat.seek(0)
    return int(schedstat.read().split()[0])


def timed(target):
    module_name, _, name = target.partition(":")
    owner = importlib.import_module(module_name)
    *path, attribute = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    function = getattr(owner, attribute)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        started, backend_started = time.process_time(), backend_ns()
        try:
            return function(*args, **kwargs)
        finally:
            spent[target] = spent.get(target, 0.0) + time.process_time() - started
            backend_spent[target] = backend_spent.get(target, 0) + backend_ns() - backend_started

    setattr(owner, attribute, wrapper)


for target in filter(None, sys.argv[5].split(",")):
    timed(target)
requests = [line.rstrip("\n").split("\t") for line in open(sys.argv[2], encoding="utf-8")]
count, key = int(sys.argv[3]), os.environ["BENCH_KEY"]
client = create_app({"pool_min_size": 1, "pool_max_size": 1}).test_client()
headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
tick = os.sysconf("SC_CLK_TCK")


def send(n, start):
    for i in range(n):
        method, path, body = requests[(start + i) % len(requests)]
        status = client.open(path, method=method, data=body or None, headers=headers).status_code
        if status >= 300:
            sys.exit(f"{method} {path} answered {status}")


def backend_seconds():
    with psycopg.connect(os.environ["BENCH_OWNER_URL"]) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'trace-registry'"
            " AND datname = current_database()")]
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


send(int(sys.argv[4]), 0)
with psycopg.connect(os.environ["BENCH_OWNER_URL"]) as owner:
    (backend_pid,) = owner.execute(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'trace-registry'"
        " AND datname = current_database()").fetchone()
schedstat = open(f"/proc/{backend_pid}/schedstat")
spent.clear()
backend_spent.clear()
backend, python = backend_seconds(), time.process_time()
send(count, int(sys.argv[4]))
python, backend = time.process_time() - python, backend_seconds() - backend
print(json.dumps({
    "python_ms": 1e3 * python / count,
    "db_ms": 1e3 * backend / count,
    "timed_ms": {target: 1e3 * seconds / count for target, seconds in spent.items()},
    "timed_db_ms": {target: 1e-6 * ns / count for target, ns in backend_spent.items()},
}))
"""
# What --timed wraps when it names nothing else: the guard, and a trace's main steps.
TIMED = (
    "flask.app:Flask.full_dispatch_request",
    "service.api.auth:authenticate",
    "service.api.audit:begin",
    "service.api.audit:write",
    "service.api.requests:body",
    "service.api.requests:query",
    "service.repository.traces:strong_candidates",
    "service.repository.traces:insert",
    "service.repository.chains:facts",
    "service.tracing:_candidate",
)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/inprocess", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=KINDS, default="exact")
    parser.add_argument("--requests", type=int, default=3_000, help="per round and version")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="REF", help="a commit to compare with, in turns")
    parser.add_argument("--items", type=int, default=1_000_000, help="data set size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--samples", type=int, default=10_000, help="serials sampled")
    parser.add_argument(
        "--timed",
        nargs="?",
        const=",".join(TIMED),
        default="",
        metavar="MODULE:FUNCTION,...",
        help="also time these functions, inclusive, per request (the working tree only; "
        "default: the guard's and a trace's main steps)",
    )
    parser.add_argument(
        "--path",
        help="the request's path and body as a request file line (METHOD<tab>PATH<tab>BODY) "
        "instead of traces, e.g. a guarded lookup",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    with dataset.database(args.items, args.seed) as db, checkouts(args.against) as versions:
        dataset.ensure(db, args.items, args.seed)
        weapons = dataset.sample(db.url, args.seed, args.samples)
        requests = (
            [Request(*args.path.split("\t"))]
            if args.path
            else requests_for(args.kind, weapons, TARGETS["traces"], args.seed)
        )
        with dataset.copy_of(db, RUN_COPY) as url:
            rounds = _rounds(args, versions, requests, url)
    _report(args, [name for name, _ in versions], rounds)
    return 0


def _rounds(
    args: argparse.Namespace,
    versions: list[tuple[str, Path]],
    requests: list[Request],
    url: str,
) -> list[dict[str, dict[str, Any]]]:
    """The versions measured in turns, `args.rounds` times, on the database at `url`."""
    env = service_environment(url)
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", encoding="utf-8") as file:
        file.write("".join(request.line() + "\n" for request in requests))
        file.flush()
        return [
            {
                name: _measure(root, file.name, args.requests, env, args.timed if n == 0 else "")
                for n, (name, root) in enumerate(versions)
            }
            for _ in range(args.rounds)
        ]


def service_environment(url: str) -> dict[str, str]:
    """The environment of a child process that serves the database at `url` in-process, with
    a key of its own (BENCH_KEY), the service's role made as start.sh makes it before serving."""
    env = {
        **os.environ,
        "DATABASE_URL": embedded.service_url(url),
        "DATABASE_OWNER_URL": url,
        "BENCH_OWNER_URL": url,
        "BENCH_KEY": create_key(url),
    }
    subprocess.run([*CLI, "db", "init"], env=env, cwd=ROOT, check=True, capture_output=True)
    return env


def child_figures(root: Path, script: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """What a child process running `script` in the checkout at `root` prints last (a JSON
    line)."""
    command = [sys.executable, "-c", script, str(root), *args]
    done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{root}: {done.stderr.strip() or done.stdout.strip()}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _measure(
    root: Path, request_file: str, count: int, env: dict[str, str], timed: str
) -> dict[str, Any]:
    return child_figures(root, MEASURE, [request_file, str(count), str(WARM_UP), timed], env)


def _report(
    args: argparse.Namespace, names: list[str], rounds: list[dict[str, dict[str, Any]]]
) -> None:
    asked = f"{args.path.split(chr(9))[:2]}" if args.path else f"{args.kind} traces"
    print(f"{asked}, {args.requests:,} requests a round, CPU per request (ms):")
    print("round  " + "  ".join(f"{name[:24]:>24} python / db" for name in names))
    for number, measured in enumerate(rounds, start=1):
        cells = [f"{measured[n]['python_ms']:>24.3f} / {measured[n]['db_ms']:.3f}" for n in names]
        print(f"{number:>5}  " + "  ".join(cells))
    medians = {
        name: {
            part: statistics.median(measured[name][part] for measured in rounds)
            for part in ("python_ms", "db_ms")
        }
        for name in names
    }
    cells = [f"{medians[n]['python_ms']:>24.3f} / {medians[n]['db_ms']:.3f}" for n in names]
    print("median " + "  ".join(cells))
    timed = {
        target: [
            statistics.median(measured[names[0]][part].get(target, 0.0) for measured in rounds)
            for part in ("timed_ms", "timed_db_ms")
        ]
        for target in rounds[0][names[0]]["timed_ms"]
    }
    if timed:
        print(f"{names[0]}, per request, inclusive (ms of CPU, medians):")
        print("   python       db")
        for target, (spent, backend) in sorted(timed.items(), key=lambda pair: -pair[1][0]):
            print(f"  {spent:7.3f}  {backend:7.3f}  {target}")
    if len(names) == 2:
        base, this = medians[names[1]], medians[names[0]]
        print(
            f"working tree / {names[1]}: python {this['python_ms'] / base['python_ms']:.2f}, "
            f"db {this['db_ms'] / base['db_ms']:.2f}, "
            f"both {(this['python_ms'] + this['db_ms']) / (base['python_ms'] + base['db_ms']):.2f}"
        )


if __name__ == "__main__":
    sys.exit(main())
