"""The delivery worker: sends notifications from the outbox to agencies' webhooks.

`trace-registry worker` runs it (service/worker.py). Each round claims due deliveries (a lease,
committed at once), posts each one outside any transaction, and records the outcome:
delivered, or failed and due again after an exponential back-off. Nothing is held in memory
between rounds; a worker that dies mid-round leaves leases that simply run out.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from service.db import Connection
from service.domain import webhooks as signing
from service.repository import notifications, webhooks
from service.repository.webhooks import Claimed

log = logging.getLogger(__name__)

# (url, body, headers) -> (HTTP status or None when nothing answered, error text)
Sender = Callable[[str, bytes, dict[str, str]], tuple[int | None, str]]


@dataclass(frozen=True)
class Round:
    claimed: int
    delivered: int


def _web_opener() -> urllib.request.OpenerDirector:
    """An opener that speaks HTTP and HTTPS only: no file:, ftp: or data: URL can be reached
    through a webhook, whatever was registered, and redirects are not followed."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.HTTPDefaultErrorHandler(),
    ):
        opener.add_handler(handler)
    return opener


_OPENER = _web_opener()
WEB_SCHEMES = ("http://", "https://")


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0
) -> tuple[int | None, str]:
    """POST with the standard library; any failure becomes (status or None, reason)."""
    if not url.lower().startswith(WEB_SCHEMES):
        return None, "not an http or https URL"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as error:
        return int(error.code), f"HTTP {error.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return None, str(getattr(error, "reason", error))


def deliver_due(
    conn: Connection, send: Sender = post, *, batch: int = 20, lease_seconds: int = 120
) -> Round:
    """One round: claim what is due, send it, record how it went."""
    claimed = webhooks.claim_due(conn, batch, lease_seconds)
    delivered = sum(_deliver(conn, delivery, send) for delivery in claimed)
    return Round(len(claimed), delivered)


def _deliver(conn: Connection, delivery: Claimed, send: Sender) -> bool:
    target = webhooks.target(conn, delivery.webhook_id)
    if not target.active:
        retry = signing.LONGEST_WAIT_SECONDS
        webhooks.failed(conn, delivery.id, None, "the webhook was deactivated", retry)
        return False
    notification = notifications.by_id(conn, delivery.notification_id)
    assert notification is not None
    body = orjson.dumps(
        {"type": "notification", "notification": notification}, option=orjson.OPT_UTC_Z
    )
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "trace-registry-webhooks",
        signing.SIGNATURE_HEADER: signing.signature(target.secret, int(time.time()), body),
        signing.DELIVERY_HEADER: str(delivery.id),
    }
    status, error = send(target.url, body, headers)
    if status is not None and 200 <= status < 300:
        webhooks.delivered(conn, delivery.id, status)
        return True
    retry = signing.retry_in_seconds(delivery.attempts + 1)
    webhooks.failed(conn, delivery.id, status, error or f"HTTP {status}", retry)
    log.info("delivery %s failed (%s); again in %s s", delivery.id, error or status, retry)
    return False
