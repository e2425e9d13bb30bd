"""`python -m bench.slow_clients`: what slow clients do to a running service.

Two measurements, against any base URL (gunicorn itself, or the compose stack's proxy):

- `--connections N`: N connections send a request head a header line a second (never ending
  it) for `--seconds`, while `/healthz` is asked once a second; prints each answer's time. With
  gunicorn's sync workers facing clients, N >= workers makes the service answer nobody until
  gunicorn kills the stuck workers (30 s); behind the buffering proxy nothing changes.
- `--upload-seconds S --key KEY`: an NDJSON import sent at a pace that takes S seconds to
  arrive; prints whether an answer came, and its status line. gunicorn alone refuses a body not
  whole within TRACE_REGISTRY_BODY_SECONDS (20 s: 400 `body_too_slow`); the proxy takes the body
  whole before handing it over.

    python -m bench.slow_clients --url http://127.0.0.1:8000 --connections 4 --seconds 20
    python -m bench.slow_clients --url http://127.0.0.1:8080 --upload-seconds 40 --key trk_...

README "Containers" gives the figures of 2026-12-05.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import select
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from urllib.parse import urlsplit


def slow_heads(host: str, port: int, connections: int, seconds: float) -> None:
    """Hold `connections` request heads open, a header line a second, and time /healthz."""
    opened = []
    for _ in range(connections):
        connection = socket.create_connection((host, port))
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n")
        opened.append(connection)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1.0):
            for connection in opened:
                with contextlib.suppress(OSError):  # gunicorn killed the worker that held it
                    connection.sendall(b"X-Slow: 1\r\n")

    threading.Thread(target=trickle, daemon=True).start()
    health = f"http://{host}:{port}/healthz"
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            asked = time.monotonic()
            try:
                with urllib.request.urlopen(health, timeout=10) as answer:
                    outcome = str(answer.status)
            except (urllib.error.URLError, OSError) as error:
                outcome = f"failed ({getattr(error, 'reason', error)})"
            took = time.monotonic() - asked
            print(f"{asked - started:6.1f} s  /healthz {outcome} in {took:.3f} s", flush=True)
            time.sleep(max(0.0, 1.0 - took))
    finally:
        stop.set()
        for connection in opened:
            connection.close()


def slow_upload(host: str, port: int, key: str, seconds: float) -> None:
    """Send a small NDJSON import so slowly that it takes `seconds` to arrive."""
    party = {"record_type": "party", "kind": "MANUFACTURER", "country": "BE"}
    body = b"".join(
        json.dumps({**party, "ref": f"SLOW-{n}", "name": f"Slow party {n}"}).encode() + b"\n"
        for n in range(2_000)
    )
    head = (
        f"POST /v1/imports HTTP/1.1\r\nHost: slow\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/x-ndjson\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    step = max(1, len(body) // int(seconds * 10))
    started = time.monotonic()
    with socket.create_connection((host, port)) as connection:
        try:
            connection.sendall(head.encode())
            for offset in range(0, len(body), step):
                connection.sendall(body[offset : offset + step])
                # An answer before the whole body (a refusal): read it rather than send on.
                if select.select([connection], [], [], 0.1)[0]:
                    break
            sent = time.monotonic() - started
            connection.settimeout(60)
            answer = connection.recv(4096).decode(errors="replace").split("\r\n", 1)[0]
        except OSError as error:
            print(f"failed after {time.monotonic() - started:.1f} s: {error}")
            return
    print(f"sent in {sent:.1f} s; answer: {answer or '(none: connection closed)'}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slow_clients", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the service's base URL")
    parser.add_argument("--connections", type=int, default=0, help="slow request heads")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to hold them")
    parser.add_argument("--upload-seconds", type=float, default=0.0, help="a slow import")
    parser.add_argument("--key", help="a registry:write key, for --upload-seconds")
    args = parser.parse_args(argv)
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if args.connections:
        slow_heads(host, port, args.connections, args.seconds)
    if args.upload_seconds:
        if not args.key:
            parser.error("--upload-seconds needs --key")
        slow_upload(host, port, args.key, args.upload_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
