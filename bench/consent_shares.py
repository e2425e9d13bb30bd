"""`bench/consent_shares`: what a re-export consent that gives a quantity (and names no items)
costs the writes and reads about its certificate's items, against a consent of no quantity on
the same shape of data, through the HTTP API.

Such a consent is shared out over the items that need it (service/domain/consent_shares.py):
every write that can change the share-out derives it again, reading the chains of the
certificate's items that moved to where the consent allows. For each number of such moves, a
certificate of that many rifles handed on to the police (plus ten that stay with the army) is
imported twice, once for each kind of consent; then each is timed (medians of several):

- `last`: a rifle handed on to the police after every other hand-over (the last move: only
  its own share is derived);
- `earlier`: a rifle handed on to the police on a day before most of the others (a move made
  among them: the whole share-out is derived again);
- `theft`: a rifle reported stolen from the army (not a move: it is not);
- `chain`: a rifle's chain of custody read (`GET /v1/items/{id}/custody`).

    bench/consent_shares                     # 100, 400 and 1,600 moves
    bench/consent_shares --moves 50,5000 --repeats 9

BENCH_DATABASE_URL names a PostgreSQL server's maintenance database to use instead of the
embedded server; the benchmark's database (`bench_consent_shares`) is made anew each run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import dataset
from bench.main import CLI, UNLIMITED
from bench.service import running
from service import embedded

DATABASE = "bench_consent_shares"
FIGURES = ("last", "earlier", "theft", "chain")
STAYING = 15  # rifles of each certificate that stay with the army (the theft reports' and moves')


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/consent_shares", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--moves", default="100,400,1600", help="comma-separated (default %(default)s)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timings per figure (median)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.moves.split(",")]
    with _database() as url, tempfile.TemporaryDirectory() as work:
        subprocess.run(
            [*CLI, "db", "init"], env={**os.environ, "DATABASE_URL": url}, check=True,
            capture_output=True, cwd=dataset.ROOT, timeout=300,
        )  # fmt: skip
        key = subprocess.run(
            [*CLI, "keys", "create", "--agency", "Benchmark", "--scope", "trace:read",
             "--scope", "registry:write", *UNLIMITED],
            env={**os.environ, "DATABASE_URL": url}, check=True, capture_output=True, text=True,
            cwd=dataset.ROOT, timeout=60,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        with running(url, Path(work) / "service.log") as service:
            api = _Api(service.base_url, key)
            print(f"consent shares: {args.repeats} timings a figure, medians in ms")
            print(f"{'moves':>6}  {'consent':<12}" + "".join(f"{n:>9}" for n in FIGURES))
            for moves in sizes:
                figures = {
                    kind: _measure(api, url, work, moves, kind, args.repeats)
                    for kind in ("none", "10")
                }
                for kind, timed in figures.items():
                    label = "no quantity" if kind == "none" else "quantity 10"
                    print(f"{moves:>6}  {label:<12}" + "".join(f"{timed[n]:>9.1f}" for n in timed))
                ratios = ", ".join(
                    f"{name} {figures['10'][name] / figures['none'][name]:.2f}"
                    for name in figures["none"]
                )
                print(f"{moves:>6}  ratio quantity 10 / no quantity: {ratios}")
    return 0


@contextmanager
def _database() -> Iterator[str]:
    configured = os.environ.get("BENCH_DATABASE_URL")
    if configured:
        dataset.recreate(configured, DATABASE)
        yield _named(configured, DATABASE)
        return
    dataset.DATA_DIR.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        server = embedded.start(dataset.DATA_DIR)
    try:
        dataset.recreate(str(server.get_uri()), DATABASE)
        yield embedded.database_url(server, DATABASE)
    finally:
        server.cleanup()


def _named(url: str, name: str) -> str:
    import psycopg

    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})


class _Api:
    def __init__(self, base_url: str, key: str) -> None:
        self.base_url, self.key = base_url, key

    def call(self, method: str, path: str, body: bytes | None = None,
             media_type: str = "application/json") -> Any:  # fmt: skip
        headers = {"Authorization": f"Bearer {self.key}"}
        if body is not None:
            headers["Content-Type"] = media_type
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers,
                                         method=method)  # fmt: skip
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read() or b"null")

    def post(self, path: str, document: dict[str, Any]) -> Any:
        return self.call("POST", path, json.dumps(document).encode())


def _measure(
    api: _Api, url: str, work: str, moves: int, quantity: str, repeats: int
) -> dict[str, float]:
    tag = f"{moves}-{quantity}"
    made = _certificate(url, work, moves, tag)
    consent = {"granted_on": "2015-01-01", "granted_by": "Ministry of Trade",
               "new_end_user_party_id": made["police"], "new_destination_country": "IQ",
               **({} if quantity == "none" else {"quantity": int(quantity)})}  # fmt: skip
    api.post(f"/v1/eucs/{made['euc']}/consents", consent)
    staying = iter(made["staying"])
    after_the_others = (date(2015, 2, 1) + timedelta(days=moves + n) for n in range(STAYING))

    def handed_on(on: date) -> None:
        api.post("/v1/events", {"event_type": "TRANSFER", "occurred_on": str(on),
                                "country": "IQ", "item_ids": [next(staying)],
                                "from_party_id": made["army"],
                                "to_party_id": made["police"]})  # fmt: skip

    def stolen() -> None:
        api.post("/v1/events", {"event_type": "THEFT", "occurred_on": "2016-02-01",
                                "country": "IQ", "item_ids": [next(staying)],
                                "from_party_id": made["army"]})  # fmt: skip

    def chain() -> None:
        api.call("GET", f"/v1/items/{made['moved']}/custody")

    each = min(repeats, STAYING // 3)
    return {
        "last": _median_ms(lambda: handed_on(next(after_the_others)), each),
        "earlier": _median_ms(lambda: handed_on(date(2015, 2, 1) + timedelta(days=1)), each),
        "theft": _median_ms(stolen, each),
        "chain": _median_ms(chain, repeats),
    }


def _median_ms(call: Callable[[], None], times: int) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent)


def _certificate(url: str, work: str, moves: int, tag: str) -> dict[str, Any]:
    """A certificate of `moves` + STAYING rifles exported to an army, `moves` of them handed on
    to the police one by one, a day apart: one import."""
    rifles = moves + STAYING
    records: list[dict[str, Any]] = [
        {
            "record_type": "party",
            "ref": f"{tag}/P-Z",
            "name": f"Zastava {tag}",
            "kind": "EXPORTER",
            "country": "RS",
        },
        {
            "record_type": "party",
            "ref": f"{tag}/P-A",
            "name": f"Army {tag}",
            "kind": "ARMED_FORCES",
            "country": "IQ",
        },
        {
            "record_type": "party",
            "ref": f"{tag}/P-P",
            "name": f"Police {tag}",
            "kind": "LAW_ENFORCEMENT",
            "country": "IQ",
        },
        *(
            {
                "record_type": "item",
                "ref": f"{tag}/I-{n}",
                "manufacturer": "Zastava Arms",
                "model": "M70",
                "category": "RIFLE",
                "serial_number": f"M70-{tag}-{n:06}",
            }
            for n in range(rifles)
        ),
        {
            "record_type": "euc",
            "ref": f"{tag}/C",
            "certificate_number": f"IQ-{tag}",
            "issuing_country": "IQ",
            "issuing_authority": "Ministry of Defence",
            "issued_on": "2012-03-01",
            "exporter_party_ref": f"{tag}/P-Z",
            "end_user_party_ref": f"{tag}/P-A",
            "destination_country": "IQ",
            "stated_end_use": "Army",
            "non_reexport_clause": True,
            "line_items": [{"description": "Rifles", "category": "RIFLE", "quantity": rifles}],
        },
        {
            "record_type": "event",
            "ref": f"{tag}/E",
            "event_type": "EXPORT",
            "occurred_on": "2012-05-02",
            "country": "RS",
            "destination_country": "IQ",
            "from_party_ref": f"{tag}/P-Z",
            "to_party_ref": f"{tag}/P-A",
            "euc_ref": f"{tag}/C",
            "euc_line_number": 1,
            "item_refs": [f"{tag}/I-{n}" for n in range(rifles)],
        },
        *(
            {
                "record_type": "event",
                "ref": f"{tag}/T-{n}",
                "event_type": "TRANSFER",
                "occurred_on": str(date(2015, 2, 1) + timedelta(days=n)),
                "country": "IQ",
                "from_party_ref": f"{tag}/P-A",
                "to_party_ref": f"{tag}/P-P",
                "item_refs": [f"{tag}/I-{n}"],
            }
            for n in range(moves)
        ),
    ]
    path = Path(work) / f"{tag}.ndjson"
    path.write_bytes(b"".join(json.dumps(record).encode() + b"\n" for record in records))
    imported = subprocess.run(
        [*CLI, "import", str(path), "--agency", "Benchmark"],
        env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True,
        cwd=dataset.ROOT, timeout=600,
    )  # fmt: skip
    if imported.returncode != 0:
        raise SystemExit(f"the import of {path.name} failed:\n{imported.stdout}{imported.stderr}")
    with dataset.connect(url) as conn:
        ids = {row["name"]: str(row["id"]) for row in conn.execute(
            "SELECT id, name FROM parties WHERE name LIKE %s", (f"% {tag}",))}  # fmt: skip
        euc = conn.execute("SELECT id FROM end_user_certificates WHERE certificate_number = %s",
                           (f"IQ-{tag}",)).fetchone()  # fmt: skip
        serials = {row["serial_number"]: str(row["id"]) for row in conn.execute(
            "SELECT id, serial_number FROM items WHERE serial_number LIKE %s",
            (f"M70-{tag}-%",))}  # fmt: skip
    return {
        "euc": str(euc["id"]),
        "army": ids[f"Army {tag}"],
        "police": ids[f"Police {tag}"],
        "moved": serials[f"M70-{tag}-{moves - 1:06}"],
        "staying": [serials[f"M70-{tag}-{n:06}"] for n in range(moves, rifles)],
    }


if __name__ == "__main__":
    raise SystemExit(main())
