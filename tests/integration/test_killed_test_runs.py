"""The clusters of the tests' embedded PostgreSQL: a run killed outright leaves its cluster and
its server running, and the next run stops and removes them (tests/clusters.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from service import embedded
from tests import clusters
from tests.live import running
from tests.paths import ROOT

# A test run as a killed one leaves it: its cluster made, its server started, then SIGKILL.
KILLED_RUN = """
import sys, time
from pathlib import Path
from service import embedded
from tests import clusters
data_dir = clusters.new_cluster_dir(Path(sys.argv[1]))
embedded.start(data_dir, cleanup="delete")
print(data_dir, flush=True)
time.sleep(600)
"""


def test_a_killed_runs_cluster_and_server_are_removed_by_the_next_run(tmp_path: Path) -> None:
    # another run's, whose owner (this process) is running, and one that names no owner yet
    owned = clusters.new_cluster_dir(tmp_path)
    starting = tmp_path / f"{clusters.PREFIX}starting"
    starting.mkdir()
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as run:
        assert run.stdout is not None
        left = Path(run.stdout.readline().strip())
        run.send_signal(signal.SIGKILL)
    postmaster = embedded.postmaster_pid(left)
    assert postmaster is not None and running(postmaster)  # the server outlived its run

    assert clusters.remove_orphans(tmp_path) == [left]

    assert not left.exists()
    assert not running(postmaster)
    assert owned.exists() and starting.exists()


def test_a_cluster_whose_postmaster_pid_names_another_process_kills_nothing(
    tmp_path: Path,
) -> None:
    other = subprocess.Popen(["sleep", "60"])
    try:
        orphan = tmp_path / f"{clusters.PREFIX}orphan"
        (orphan / "pgdata").mkdir(parents=True)
        (orphan / clusters.OWNER_FILE).write_text(str(_a_finished_pid()))
        (orphan / "pgdata" / "postmaster.pid").write_text(f"{other.pid}\n{orphan / 'pgdata'}\n")

        assert clusters.remove_orphans(tmp_path) == [orphan]

        assert not orphan.exists()
        assert other.poll() is None  # a reused pid: not this cluster's server, left alone
    finally:
        other.kill()
        other.wait()


def _a_finished_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid
