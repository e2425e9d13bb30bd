"""A full disk where the service spools (an import file on its way in, a batch's answer on its
way out) is a 503 that says so and may be sent again, with nothing stored; not a 500."""

from __future__ import annotations

import errno
import tempfile
from typing import Any

import orjson
import pytest

from service.api import trace_batches, uploads
from service.db import Connection
from tests.conftest import rows_in
from tests.contract import ContractClient

PARTY = {"record_type": "party", "ref": "p1", "name": "Arsenal", "kind": "MANUFACTURER"}
CONTEXT = {"case_reference": "BE-2026-7", "purpose": "criminal investigation"}


def spools_filling_up(error_number: int, room: int) -> type:
    """A SpooledTemporaryFile whose disk holds `room` bytes, then fails with `error_number`."""

    class Full(tempfile.SpooledTemporaryFile):
        written = 0

        def write(self, data: Any) -> int:
            self.written += len(data)
            if self.written > room:
                raise OSError(error_number, "No space left on device")
            return super().write(data)

    return Full


@pytest.mark.parametrize("error_number", [errno.ENOSPC, errno.EDQUOT])
def test_an_import_that_finds_the_disk_full_is_503_and_stores_nothing(
    api: ContractClient, db: Connection, monkeypatch: pytest.MonkeyPatch, error_number: int
) -> None:
    monkeypatch.setattr(
        uploads.tempfile, "SpooledTemporaryFile", spools_filling_up(error_number, 0)
    )
    body = orjson.dumps({**PARTY, "country": "BE"}) + b"\n"

    response = api.request(
        "POST", "/v1/imports", data=body, headers={"Content-Type": "application/x-ndjson"}
    )

    assert response.status_code == 503
    assert response.get_json()["code"] == "storage_full"
    assert response.headers["Retry-After"] == "5"
    assert rows_in(db, "parties") == 0


def test_a_batch_whose_answer_finds_the_disk_full_is_503_and_stores_nothing(
    api: ContractClient, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        trace_batches.tempfile, "SpooledTemporaryFile", spools_filling_up(errno.ENOSPC, 200)
    )
    weapons = [{"serial_number": f"SN{n:06d}"} for n in range(3)]

    response = api.post("/v1/traces/batch", {"context": CONTEXT, "weapons": weapons})

    assert response.status_code == 503
    assert response.get_json()["code"] == "storage_full"
    assert rows_in(db, "traces") == 0
    # the serials it was asked for are on record, though nothing was disclosed
    entry = db.execute("SELECT status, serials, record_ids FROM audit_log ORDER BY id DESC LIMIT 1")
    assert entry.fetchone() == {
        "status": 503,
        "serials": ["SN000000", "SN000001", "SN000002"],
        "record_ids": [],
    }


def test_another_system_error_is_still_a_500(
    api: ContractClient, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug or a broken disk, not a full one: logged, and answered as the contract never
    # promises (so not through the contract-checking client).
    monkeypatch.setattr(
        trace_batches.tempfile, "SpooledTemporaryFile", spools_filling_up(errno.EIO, 0)
    )
    body = {"context": CONTEXT, "weapons": [{"serial_number": "SN1"}]}

    response = api.client.post("/v1/traces/batch", json=body, headers=api.headers())

    assert response.status_code == 500
    assert response.get_json()["code"] == "internal_error"
    assert rows_in(db, "traces") == 0
