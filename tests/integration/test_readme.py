"""The README's curl tour works as written: its blocks run, in order, against a live service."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.live import environment
from tests.paths import ROOT

pytestmark = pytest.mark.slow
README_URL = "http://127.0.0.1:8000"


def tour_blocks() -> list[str]:
    """The ```sh blocks that follow a `<!-- tour -->` line in README.md."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"<!-- tour -->\n```sh\n(.*?)```", readme, flags=re.DOTALL)


def test_the_tour_has_the_blocks_it_promises() -> None:
    script = "\n".join(tour_blocks())

    for route in ("/healthz", "/readyz", "/openapi.yaml", "/v1/parties", "/v1/items",
                  "/v1/eucs", "/v1/events", "/error-declaration", "/custody", "/v1/traces",
                  "/v1/alerts", "/v1/notifications", "/acknowledgement", "/v1/webhooks",
                  "/v1/admin/agencies", "/v1/admin/keys", "/revocation", "/v1/admin/audit",
                  "/revocation/withdrawal",
                  "/v1/admin/audit/verify", "/v1/imports"):  # fmt: skip
        assert route in script, route


def test_the_tour_calls_every_route_of_the_contract() -> None:
    """Each path of openapi.yaml is called in the tour, its parameters filled by shell variables."""
    script = "\n".join(tour_blocks())
    paths = re.findall(r"^  (/\S*):$", (ROOT / "openapi.yaml").read_text(encoding="utf-8"), re.M)
    called = [
        path
        for path in paths
        if re.search(re.sub(r"\\{\w+\\}", r"\\$\\w+", re.escape(path)) + r"(?![\w/-])", script)
    ]

    assert len(paths) > 30
    assert set(paths) - set(called) == set()


def test_the_tour_runs_as_written(live_service: tuple[str, str], tmp_path: Path) -> None:
    base_url, database_url = live_service
    script = "set -euo pipefail\n" + "\n".join(tour_blocks()).replace(README_URL, base_url)
    # Read the chain once more, for the assertions below.
    script += "\nget /v1/items/$ITEM/custody > custody.json\n"
    venv_bin = str(Path(sys.executable).parent)
    env = environment(DATABASE_URL=database_url)
    env["PATH"] = f"{venv_bin}:{env['PATH']}"

    result = subprocess.run(
        ["/bin/bash", "-c", script],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    chain: dict[str, Any] = json.loads((tmp_path / "custody.json").read_text())
    assert chain["item"]["serial_number"] == "1502-34 567"
    assert chain["status"] == "SEIZED"
    assert chain["current_holder"]["name"] == "South Sudan National Police Service"
    kinds = [(e["event_type"], e["destination_country"], e["error_declaration"] is not None)
             for e in chain["events"]]  # fmt: skip
    assert kinds == [
        ("MANUFACTURE", None, False),
        ("EXPORT", "UG", True),
        ("EXPORT", "KE", False),
        ("IMPORT", None, False),
        ("SEIZURE", None, False),
    ]
    assert "ALERT SEIZED_OUTSIDE_END_USE_COUNTRY - Seized in SS on 2019-10-03" in result.stdout
    # The one gap the README explains: made for FN Herstal, exported by FN Herstal Export.
    gaps = [f["message"] for f in chain["findings"] if f["code"] == "CUSTODY_GAP"]
    assert gaps == [
        "Export on 2010-05-02 is sent by FN Herstal Export, but the record left the item with "
        "FN Herstal on 2009-05-12."
    ]
    # Printed once the delivery was verified: the warning has gone from the findings.
    assert "WARNING EUC_NOT_VERIFIED -" not in result.stdout
    assert '"status": "ready"' in result.stdout
    assert "state_conflict" in result.stdout + result.stderr
    # The trace of "15O2-34 567" under "Fabrique Nationale": O read for 0, FN Herstal's item.
    assert "CANDIDATES CONFUSABLE" in result.stdout
    assert "'O' read where the registry has '0' (character 3)" in result.stdout
    # The party sent twice with one Idempotency-Key: the second answer is the first, replayed.
    assert result.stdout.lower().count("idempotent-replayed: true") == 1
    # The file imported twice: stored once, then found present.
    assert '"party": 1' in result.stdout and '"event": 1' in result.stdout
    # The chain and the trace as text reports.
    assert "    status      SEIZED since 2019-10-03" in result.stdout
    assert "maker       Fabrique Nationale (registry: FN Herstal, BE)" in result.stdout
    # Another agency sees the restricted party and sale redacted, and whom to ask.
    assert '"redacted": true' in result.stdout
    assert "holds 1 restricted record by Tracing Unit (2018-06-01)" in result.stdout
    assert "Nightjar" not in result.stdout
    assert "OP-NIGHTJAR-7" not in result.stdout
    # The certificate revoked in error: another agency may not withdraw it, its recorder does.
    assert '"status": "REVOKED"' in result.stdout
    assert (
        "only the agency that recorded this certificate's revocation (Tracing Unit), or an "
        "administrator, may withdraw it" in result.stdout
    )
    assert "EXPIRED [('2010-04-01', 'the embassy checked again: genuine')]" in result.stdout
    # A batch of two readings of the case: the serial as marked, and one with two digits swapped.
    assert "['MATCH', 'CANDIDATES']" in result.stdout
    # The consent cap (one rifle shipped), and the consent withdrawn as recorded in error.
    assert "1 item was shipped under this certificate and its standing re-export" in result.stdout
    assert "[('2012-01-10', 'recorded under the wrong certificate')]" in result.stdout
    assert "['SEIZED_OUTSIDE_END_USE_COUNTRY', 'CUSTODY_GAP', 'SEIZED']" in result.stdout
    # The webhook registered before the Border Police's trace holds its delivery, not yet sent.
    assert "PENDING 0 True" in result.stdout
    # Resumed while active: nothing changes, and no attempt has failed yet.
    assert "webhook ACTIVE 0 None" in result.stdout
    # The Border Police's trace was notified to the Tracing Unit; the audit chains hold.
    assert "Border Police SS-2019-88" in result.stderr
    # The Border Police, made by `keys create` with no country, is given one, audited.
    assert "country from none to BE" in result.stdout
    assert '"intact": true' in result.stdout
    assert re.search(r"\d+ entries in \d+ chains: intact", result.stdout)
