"""gunicorn settings (`--config python:service.gunicorn_conf`), from the environment.

Sync workers (gthread gave far worse tail latency on database routes on this kind of machine,
../shared/PERFORMANCE-NOTES.md), as many as `service.config.default_workers` unless
WEB_CONCURRENCY says otherwise. No preload: each worker opens its own connection pool after the
fork.
"""

import os
import socket
from typing import Any

import gunicorn.http.wsgi
import gunicorn.util

from service.config import (
    WORKER_TIMEOUT_SECONDS,
    Settings,
    check_within_worker_timeout,
    default_workers,
)

# gunicorn names itself and its version in a Server header on every response; say nothing that
# helps to pick an exploit.
gunicorn.http.wsgi.SERVER = "trace-registry"


def _write_problem(sock: socket.socket, status: int, reason: str, message: str) -> None:
    # Imported here, in the worker, where the app has imported it already: the master loads
    # this file and should not hold the service's modules (a HUP would mix them with new ones).
    from service.api.problems import server_refusal

    gunicorn.util.write_nonblock(sock, server_refusal(status, message or reason))


# What gunicorn refuses itself (a header too large, a malformed one, a request line too long)
# it answered with an HTML page: a client that reads problem documents got none. Its workers
# call gunicorn.util.write_error for these, by name, at the time of the error.
gunicorn.util.write_error = _write_problem

host = os.environ.get("TRACE_REGISTRY_HOST", "127.0.0.1")
bind = f"{host}:{os.environ.get('TRACE_REGISTRY_PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", default_workers()))
worker_class = "sync"
timeout = WORKER_TIMEOUT_SECONDS
graceful_timeout = 20
# Recycle workers now and then so that a slow leak cannot grow without bound.
max_requests = 20_000
max_requests_jitter = 2_000
# The longest valid query (a 500-character cursor and 200-character filters, percent-encoded) is
# about 7 kB; gunicorn's default of 4 kB would answer it with an HTML 414 before the app could
# answer a problem document.
limit_request_line = 8190
# gunicorn 27's control socket defaults to one fixed path per user: several instances on one
# machine (tests, benchmarks) would fight over it, and nothing here uses it.
control_socket_disable = True
accesslog = os.environ.get("TRACE_REGISTRY_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("TRACE_REGISTRY_LOG_LEVEL", "info")
proc_name = "trace-registry"


def on_starting(server: Any) -> None:
    # The timeout may be given anew outside this file (GUNICORN_CMD_ARGS="--timeout 20", or
    # --timeout on the command line): a body's or a batch's deadline past it would let gunicorn
    # kill the worker first (a 500). Refused here, before any worker starts; gunicorn prints
    # the error (a RuntimeError) and exits 1.
    check_within_worker_timeout(Settings.from_environment(), server.cfg.timeout)
