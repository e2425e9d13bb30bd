"""The service under test, started exactly as in production: `service/start.sh` (schema check, then
`exec gunicorn` with service/gunicorn_conf.py), its default sync workers (cores + 1), access log
off, on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.dataset import ROOT
from bench.workload import Request
from service import embedded
from service.config import default_workers

START_SCRIPT = ROOT / "service" / "start.sh"
# As in production: gunicorn_conf's default, unless WEB_CONCURRENCY says otherwise.
WORKERS = int(os.environ.get("WEB_CONCURRENCY", default_workers()))


@dataclass
class Service:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def master_pid(self) -> int:
        return self.process.pid


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running(database_url: str, log: Path) -> Iterator[Service]:
    """The service on a free port until the block ends (SIGTERM, then wait)."""
    port = free_port()
    env = {
        **os.environ,
        # As in production: the service logs in as its own role, the schema owner apart
        # (start.sh's `db init` creates the role; local servers here trust local logins).
        "DATABASE_URL": embedded.service_url(database_url),
        "DATABASE_OWNER_URL": database_url,
        "TRACE_REGISTRY_HOST": "127.0.0.1",
        "TRACE_REGISTRY_PORT": str(port),
        "WEB_CONCURRENCY": str(WORKERS),
        "TRACE_REGISTRY_ACCESS_LOG": "",
        "PYTHON": sys.executable,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["/bin/sh", str(START_SCRIPT)], env=env, cwd=ROOT, stdout=output, stderr=output
        )
        service = Service(f"http://127.0.0.1:{port}", process, log)
        try:
            _wait_until_ready(service)
            yield service
        finally:
            _stop(process)


def _wait_until_ready(service: Service, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(
                f"the service exited with {service.process.returncode}; see {service.log}"
            )
        try:
            with urllib.request.urlopen(f"{service.base_url}/readyz", timeout=2) as response:
                if response.status == 200 and len(worker_pids(service.master_pid)) == WORKERS:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the service was not ready within {seconds:.0f} s; see {service.log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def worker_pids(master_pid: int) -> list[int]:
    """gunicorn's workers: the master's children."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    try:
        return [int(pid) for pid in children.read_text().split()]
    except OSError:
        return []


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM (the peak resident set) of a live process, in KiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


@dataclass
class RssSampler:
    """Samples every worker's VmHWM in the background: gunicorn recycles workers (max_requests),
    so a worker's peak has to be read before it goes."""

    master_pid: int
    interval: float = 0.5
    peaks: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        for pid in worker_pids(self.master_pid):
            peak = peak_rss_kib(pid)
            if peak is not None:
                self.peaks[pid] = max(peak, self.peaks.get(pid, 0))


def send(base_url: str, key: str, request: Request, timeout: float = 10.0) -> tuple[int, bytes]:
    """One request with the key: the status and the body answered (an error's too)."""
    headers = {"Authorization": f"Bearer {key}"}
    if request.body:
        headers["Content-Type"] = "application/json"
    http = urllib.request.Request(
        base_url + request.path,
        data=request.body.encode() if request.body else None,
        headers=headers,
        method=request.method,
    )
    try:
        with urllib.request.urlopen(http, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()
