"""What an agency reads of a failed delivery: fixed sentences, never the failure's detail."""

from __future__ import annotations

import pytest

from service.domain import delivery_failures as failures

SAMPLES = {
    "host": "receiver.example.org",
    "seconds": "10",
    "status": 503,
    "port": 8080,
    "ports": "443, 8443",
}


@pytest.mark.parametrize("kind", sorted(failures.SENTENCES))
def test_every_sentence_the_worker_records_is_shown_as_recorded(kind: str) -> None:
    recorded = failures.describe(kind, **SAMPLES)

    assert failures.shown(recorded) == recorded


@pytest.mark.parametrize(
    "stored",
    [
        # the address a name led to, inside the deployment
        "db.internal was not reached: 10.1.2.3 is not a public address (loopback, private, ...)",
        # what answered instead of HTTP
        "BadStatusLine: 220 mail.internal ESMTP Postfix",
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:1000)",
        "[Errno 111] Connection refused",
        # a sentence with more after it, or a field holding what no field may
        "HTTP 503\nTraceback (most recent call last):",
        "receiver.example.org refused the connection: 10.0.0.1:8080",
        "db internal (10.1.2.3) refused the connection",
        "",
    ],
)
def test_anything_else_stored_is_shown_as_a_plain_failure(stored: str) -> None:
    assert failures.shown(stored) == failures.GENERIC


def test_no_error_is_no_error() -> None:
    assert failures.shown(None) is None


def test_an_unknown_kind_is_a_bug() -> None:
    with pytest.raises(KeyError):
        failures.describe("no such kind")
