"""Running the service for real: a gunicorn started by the start-up script, and the CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from tests.paths import ROOT

START_SCRIPT = ROOT / "service" / "start.sh"
CLI = [sys.executable, "-m", "service.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def http_get(url: str, key: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_ready(base_url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited with {process.returncode}")
        try:
            if http_get(f"{base_url}/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base_url} was not ready within {seconds} s")


def stop(process: subprocess.Popen[bytes], signum: int = signal.SIGTERM) -> int:
    process.send_signal(signum)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def running(pid: int) -> bool:
    """Whether the process is still running: not gone, and not a zombie that has ended and waits
    for its parent to collect it. Another user's process (no right to signal it) is running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # gone since
        return False


def environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    return {**env, "PYTHON": sys.executable, "TRACE_REGISTRY_ACCESS_LOG": "", **extra}


def create_key(database_url: str, agency: str, *scopes: str, rate_limit: int | None = None) -> str:
    """`trace-registry keys create`, as an operator runs it; the key is the last line."""
    scope_args = [arg for scope in scopes for arg in ("--scope", scope)]
    limit_args = [] if rate_limit is None else ["--rate-limit", str(rate_limit)]
    result = subprocess.run(
        [*CLI, "keys", "create", "--agency", agency, *scope_args, *limit_args],
        env=environment(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return result.stdout.strip().splitlines()[-1]
