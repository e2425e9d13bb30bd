"""Where the tests' embedded PostgreSQL keeps its cluster, and the clusters that killed runs left.

Every test clones a database from the template and drops it, creating and deleting some 600
files. On ext4 without a journal (these machines' disk), creating a file checks every inode
deleted in the last five minutes (ext4's `recently_deleted`): with the cluster on disk, 72% of
the machine's CPU samples in a test run were PostgreSQL in the kernel, most of them in that
check. In memory (/dev/shm) the whole suite took 5 min 51 s instead of 9 min 10 s.

A run killed outright (SIGKILL: no fixture's teardown runs) leaves its cluster, and its server
running; in /dev/shm that holds memory until the machine restarts. Each cluster's directory
names the test process that owns it, and a later run stops and removes those whose owner is
gone.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from service import embedded
from tests.live import running

PREFIX = "trace-registry-tests-"
OWNER_FILE = "owner.pid"
# The room /dev/shm must have for the test servers' clusters: the whole suite in two workers
# peaked at 223 MB there; the margin is for WAL, which may grow to max_wal_size (1 GB) before a
# checkpoint recycles it.
MEMORY_DIR_ROOM = 2 * 1024**3
MEMORY_DIR = Path("/dev/shm")


def new_cluster_dir(parent: Path | None = None) -> Path:
    """A fresh directory for this process's cluster, in `parent` or else in memory when there is
    room, after the clusters that dead runs left there are removed."""
    parent = parent or memory_dir() or Path(tempfile.gettempdir())
    remove_orphans(parent)
    # Not under pytest's tmp_path: pytest prunes old numbered directories at start-up, which
    # would delete the cluster of another test session running at the same time.
    data_dir = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
    (data_dir / OWNER_FILE).write_text(str(os.getpid()))
    return data_dir


def memory_dir() -> Path | None:
    """/dev/shm when it has room for the test servers' clusters and may be written."""
    try:
        room = shutil.disk_usage(MEMORY_DIR).free
    except OSError:
        return None
    return MEMORY_DIR if room >= MEMORY_DIR_ROOM and os.access(MEMORY_DIR, os.W_OK) else None


def remove_orphans(parent: Path) -> list[Path]:
    """Stop the servers of the clusters in `parent` whose owning process is gone, remove the
    clusters, and name them. A cluster that names no owner yet (its run is starting) is left."""
    removed = []
    for data_dir in parent.glob(f"{PREFIX}*"):
        try:
            owner = int((data_dir / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if running(owner):
            continue
        _stop_server(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
        removed.append(data_dir)
    return removed


def _stop_server(data_dir: Path) -> None:
    """An immediate shutdown (the cluster is thrown away) of the cluster's postmaster, if the
    process its postmaster.pid names is still this cluster's server: a pid can be reused."""
    postmaster = embedded.postmaster_pid(data_dir)
    if postmaster is None:
        return
    try:
        command_line = Path(f"/proc/{postmaster}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if os.fsencode(str(embedded.cluster_dir(data_dir))) not in command_line:
        return
    try:
        os.kill(postmaster, signal.SIGQUIT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while running(postmaster) and time.monotonic() < deadline:
        time.sleep(0.05)
