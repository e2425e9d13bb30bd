"""Where the CPU went during a run, in cores (CPU-seconds per second): the service (gunicorn's
master and workers, recycled ones included), PostgreSQL (the embedded server's processes), the
load generator, and everything else on the machine. The machine is shared: a run during which
other processes took a good share of the two cores says more about them than about the service."""

from __future__ import annotations

import os
import resource
import time
import timeit
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from service import embedded

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    """Cores used on average during a run."""

    service: float
    database: float | None  # None: a server this machine does not run for us (BENCH_DATABASE_URL)
    load: float
    other: float

    def as_text(self) -> str:
        database = "?" if self.database is None else f"{self.database:.2f}"
        return f"{self.service:.2f}/{database}/{self.load:.2f}/{self.other:.2f}"


@dataclass(frozen=True)
class _Snapshot:
    at: float
    busy: float
    service: float
    database: float
    load: float


def busy_seconds() -> float:
    """CPU-seconds the whole machine has spent busy (not idle, not waiting for I/O)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICKS


def tree_seconds(root: int | None) -> float:
    """CPU-seconds of a process, its reaped children, and its live children."""
    if root is None:
        return 0.0
    total = _stat_seconds(root, with_reaped=True)
    children = Path(f"/proc/{root}/task/{root}/children")
    try:
        pids = [int(pid) for pid in children.read_text().split()]
    except OSError:
        pids = []
    return total + sum(_stat_seconds(pid, with_reaped=True) for pid in pids)


def _stat_seconds(pid: int, with_reaped: bool) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime + (cutime + cstime if with_reaped else 0)) / TICKS


def children_seconds() -> float:
    """CPU-seconds of this process's finished children (wrk, pgbench)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Meter:
    """Measures runs; `service_pid` is gunicorn's master, `database_pid` the postmaster."""

    service_pid: int | None
    database_pid: int | None

    def _snapshot(self) -> _Snapshot:
        return _Snapshot(
            at=time.monotonic(),
            busy=busy_seconds(),
            service=tree_seconds(self.service_pid),
            database=tree_seconds(self.database_pid),
            load=children_seconds(),
        )

    @contextmanager
    def measure(self) -> Iterator[list[Usage]]:
        """Yields a list that holds the run's Usage once the block ends."""
        found: list[Usage] = []
        before = self._snapshot()
        yield found
        after = self._snapshot()
        seconds = max(after.at - before.at, 1e-9)
        service = (after.service - before.service) / seconds
        database = (after.database - before.database) / seconds
        load = (after.load - before.load) / seconds
        busy = (after.busy - before.busy) / seconds
        mine = service + database + load
        found.append(
            Usage(
                service=service,
                database=database if self.database_pid else None,
                load=load,
                other=max(busy - mine, 0.0),
            )
        )


def postmaster_pid(data_dir: Path | None) -> int | None:
    """The embedded server's postmaster (None: the benchmark runs on no embedded server)."""
    return None if data_dir is None else embedded.postmaster_pid(data_dir)


# The interpreter's speed, as the README and bench/HISTORY.md quote it for each run: the best of
# five `python3 -m timeit "sum((1,2,3))"` loops. It is a one-line summary of the machine's spell
# (35-60 ns on most days here, 80-115 ns on the slowest), which moved rates by a third within
# the hour; two runs are compared only at like speeds, or by their ratios.
SPEED_PROBE = "sum((1,2,3))"


def interpreter_ns(repeats: int = 5, loops: int = 1_000_000) -> float:
    """Nanoseconds per loop of SPEED_PROBE, the best of `repeats` (about 0.3 s in all)."""
    best = min(timeit.repeat(SPEED_PROBE, repeat=repeats, number=loops))
    return best / loops * 1e9


def speed_line(probes: list[tuple[str, float]]) -> str:
    """The report's line of the machine's speed: (when, interpreter_ns()) each."""
    spells = ", ".join(f"{when} {ns:.1f}" for when, ns in probes)
    probe = f"timeit {SPEED_PROBE!r}, best of 5, ns a loop (lower is faster)"
    return f"machine's speed: {probe}: {spells}"
