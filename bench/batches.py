"""Batch traces at scale: `POST /v1/traces/batch` with up to 1,000 weapons of each kind, against
the benchmark's data set (built or reused as `bench/run` does), served as `bench/run` serves it.

For each kind it prints the time to answer, the answer's size, the workers' peak memory (VmHWM)
and, sent again with the same Idempotency-Key, the replay's time and whether its bytes are the
same. Each kind is served by a service of its own, one request at a time: this measures a
batch's cost and memory, not throughput.

    python -m bench.batches [--items 1000000] [--size 1000] [--kinds exact,wildcard,near-miss]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from bench import dataset, service, workload
from bench.main import create_key

WORK_DIR = dataset.ROOT / "bench" / "results" / "work"
# What the batches store goes to a copy of the data set (dataset.copy_of).
RUN_COPY = "bench_batches"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", type=int, default=1000, help="weapons a batch (at most 1,000)")
    parser.add_argument("--kinds", default="exact,wildcard,near-miss")
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",")
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with dataset.database(args.items, args.seed) as db:
        dataset.ensure(db, args.items, args.seed)
        weapons = dataset.sample(db.url, args.seed, max(args.size * 3, 100))
        with dataset.copy_of(db, RUN_COPY) as url:
            key = create_key(url)
            print(f"{'kind':10} {'weapons':>7} {'seconds':>8} {'answer MB':>10} "
                  f"{'peak RSS MB':>11} {'replay s':>9} same")  # fmt: skip
            for kind in kinds:
                body = _batch(kind, weapons, args.size)
                # A service of its own for each kind: a worker's peak (VmHWM) is that kind's.
                with service.running(url, WORK_DIR / "gunicorn-batches.log") as api:
                    idempotency_key = str(uuid.uuid4())
                    first = _send(api, key, body, idempotency_key)
                    again = _send(api, key, body, idempotency_key)
                    if first.status != 201 or again.status != 201:
                        print(
                            f"{kind}: answered {first.status} then {again.status}",
                            file=sys.stderr,
                        )
                        return 1
                    print(
                        f"{kind:10} {len(body['weapons']):7d} {first.seconds:8.2f} "
                        f"{first.size / 1e6:10.1f} {first.peak_rss_mb:11.0f} "
                        f"{again.seconds:9.2f} {first.digest == again.digest}",
                        flush=True,
                    )
    return 0


def _batch(kind: str, weapons: list[workload.Weapon], size: int) -> dict[str, Any]:
    rng = random.Random(7)
    typed = []
    for weapon in weapons:
        serial = workload.variant(kind, weapon, rng)
        if serial is not None:
            typed.append(json.loads(workload.trace_request(weapon, serial).body)["weapon"])
        if len(typed) == size:
            break
    return {"weapons": typed, "context": workload.CONTEXT}


class _Sent:
    def __init__(self, status: int, seconds: float, size: int, digest: int, peak: int) -> None:
        self.status, self.seconds, self.size, self.digest = status, seconds, size, digest
        self.peak_rss_mb = peak / 1024


# A batch's weapons count against the key's rate: a request straight after a batch of 1,000 is
# told to wait (429, Retry-After), and waits, as a client should.
RATE_LIMITED_TRIES = 3


def _send(api: service.Service, key: str, body: dict[str, object], idempotency_key: str) -> _Sent:
    for _ in range(RATE_LIMITED_TRIES):
        sent, retry_after = _send_once(api, key, body, idempotency_key)
        if sent.status != 429:
            break
        time.sleep(retry_after)
    return sent


def _send_once(
    api: service.Service, key: str, body: dict[str, object], idempotency_key: str
) -> tuple[_Sent, float]:
    request = urllib.request.Request(
        api.base_url + "/v1/traces/batch",
        json.dumps(body).encode(),
        {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {key}",
            "Idempotency-Key": idempotency_key,
        },
    )
    with service.RssSampler(api.master_pid, 0.05) as rss:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                answer, status = response.read(), int(response.status)
            retry_after = 0.0
        except urllib.error.HTTPError as error:
            answer, status = error.read(), int(error.code)
            retry_after = float(error.headers.get("Retry-After") or 1)
        seconds = time.monotonic() - started
    peak = max(rss.peaks.values(), default=0)
    return _Sent(status, seconds, len(answer), hash(answer), peak), retry_after


if __name__ == "__main__":
    sys.exit(main())
