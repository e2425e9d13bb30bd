"""The delivery worker: sends notifications from the outbox to agencies' webhooks.

`trace-registry worker` runs it (service/worker.py). Each round claims due deliveries (a lease,
committed at once), posts each one outside any transaction, and records the outcome:
delivered, or failed and due again after an exponential back-off (with jitter). A delivery
undeliverable for longer than the policy's give-up is given up (ABANDONED, never tried again),
and a webhook every attempt to which has failed for its suspension's hours is suspended until
its agency resumes it (service.domain.webhooks). Nothing is held in memory
between rounds; a worker that dies mid-round leaves leases that simply run out. Deliveries
connect only where the settings' reach allows (service.domain.webhooks.Reach). A failure is
recorded in the words of service.domain.delivery_failures, which its agency may read; its
detail goes to the log.

A delivery is sent while the worker holds a shared lock of its webhook's sends, taken before
it reads whether the webhook is active: deactivating it (which takes that lock exclusively)
waits for the deliveries under way, and a delivery about to start waits for a deactivation
under way or queued, and then sees it. So once a deactivation has committed, no delivery to
that webhook starts.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import logging
import random
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from service.db import Connection
from service.domain import delivery_failures as failures
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
    # deliveries given up in the round (ABANDONED), and webhooks suspended
    abandoned: int = 0
    suspended: int = 0


@dataclass(frozen=True)
class Policy:
    """When deliveries are given up and webhooks suspended (the settings'
    TRACE_REGISTRY_WEBHOOK_GIVE_UP_HOURS and _SUSPEND_HOURS), and where the back-off's jitter
    comes from (a number in [0, 1) a call; the tests pass their own)."""

    give_up_hours: int = signing.GIVE_UP_HOURS
    suspend_hours: int = signing.SUSPEND_HOURS
    draw: Callable[[], float] = random.random


class Undeliverable(OSError):
    """A failure whose words for the agency are chosen where it happens: `shown`, one of
    service.domain.delivery_failures' sentences; the message is the detail, for the log."""

    def __init__(self, kind: str, detail: str | None = None, **values: object) -> None:
        self.shown = failures.describe(kind, **values)
        super().__init__(detail or self.shown)


class RefusedAddress(Undeliverable):
    """The webhook's host leads only to addresses deliveries may not reach."""


# Addresses of one host a delivery tries before it gives up: a name that resolves to many
# addresses that do not answer must not hold the worker for one timeout each.
ADDRESSES_TRIED = 3


def _vetted_connection(
    reach: signing.Reach,
    exchange: _Exchange,
    address: tuple[str, int],
    timeout: float | None = None,
    source_address: tuple[str, int] | None = None,
) -> socket.socket:
    """socket.create_connection, but only to an address the reach allows: the host is resolved
    once, and the connection goes to the address that was checked, so a name that resolves
    elsewhere a moment later (DNS rebinding) cannot slip past. Resolving and connecting take
    from the exchange's time too."""
    host, port = address
    if reach.refuses_port(port):  # before a lookup: no name of a refused URL is even resolved
        raise Undeliverable("port", port=port, ports=reach.ports_allowed)
    per_read = timeout if isinstance(timeout, int | float) else None  # not socket's default marker
    refusals: list[str] = []
    failure: OSError | None = None
    tried = 0
    for family, kind, protocol, _, sockaddr in _resolved(host, port, exchange):
        resolved = signing.address_of(str(sockaddr[0]))
        refused = (
            reach.refuses(resolved) if resolved is not None else f"{sockaddr[0]} is not an address"
        )
        if refused:
            refusals.append(refused)
            continue
        left = exchange.remaining()
        if left <= 0:
            raise Undeliverable("unanswered", host=host, seconds=f"{exchange.seconds:g}")
        if tried == ADDRESSES_TRIED:
            break
        tried += 1
        connection = socket.socket(family, kind, protocol)
        try:
            connection.settimeout(left if per_read is None else min(left, per_read))
            if source_address is not None:
                connection.bind(source_address)
            connection.connect(sockaddr)
            if per_read is not None:
                connection.settimeout(per_read)
            exchange.watch(connection)
        except OSError as error:
            connection.close()
            failure = error
            continue
        return connection
    if failure is not None:
        raise failure
    detail = f"{host} was not reached: {'; '.join(dict.fromkeys(refusals))}"
    raise RefusedAddress("unresolved", detail, host=host)


# Name lookups a delivery gave up waiting for go on in a thread of their own until the system
# resolver ends them (5 s a try, two tries a server, up to three servers). Past this many at
# once, a delivery fails at once rather than start another.
LOOKUPS_LEFT_RUNNING = 8
_lookups = threading.BoundedSemaphore(LOOKUPS_LEFT_RUNNING)

# What getaddrinfo gives, an address a line (its typeshed type, spelled out).
AddressInfo = tuple[
    socket.AddressFamily,
    socket.SocketKind,
    int,
    str,
    tuple[str, int] | tuple[str, int, int, int] | tuple[int, bytes],
]


def _resolved(host: str, port: int, exchange: _Exchange) -> list[AddressInfo]:
    """getaddrinfo within the exchange's time. The resolver's own timeouts add up to half a
    minute, and a webhook's host is served by a DNS server its owner chose: a slow one would
    hold the worker, and every agency's deliveries and imports behind it, that long each."""
    if exchange.remaining() <= 0:
        raise Undeliverable("slow_lookup", host=host, seconds=f"{exchange.seconds:g}")
    lookups = _lookups  # released by the lookup's thread, whenever it ends
    if not lookups.acquire(blocking=False):
        raise Undeliverable("lookups_busy", host=host)
    found: list[AddressInfo] = []
    failed: list[BaseException] = []
    done = threading.Event()

    def look_up() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except Exception as error:  # raised again in the delivery's thread
            failed.append(error)
        finally:
            done.set()
            lookups.release()

    try:
        threading.Thread(target=look_up, name=f"lookup of {host}", daemon=True).start()
    except RuntimeError as error:  # no thread to be had (a process limit): this delivery fails
        lookups.release()
        detail = f"{host} was not looked up: {error}"
        raise Undeliverable("no_lookup", detail, host=host) from error
    if not done.wait(max(exchange.remaining(), 0)):
        raise Undeliverable("slow_lookup", host=host, seconds=f"{exchange.seconds:g}")
    if failed:
        raise failed[0]
    return found


class _Exchange:
    """One delivery's time, from its first step: its connection is shut down once `seconds`
    have passed, whatever it is doing. A socket's timeout bounds each read, not the exchange: a
    receiver that trickles its answer a byte at a time would hold the worker, and every
    agency's deliveries behind it, for hours. http.client takes headers cut short at the end
    of the stream as complete, so the cut is remembered and the answer, whatever was read, is
    a failure."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.cut = False
        self._deadline = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self._deadline - time.monotonic()

    def watch(self, connection: socket.socket) -> None:
        """Keep a duplicate of the connection's socket: TLS takes the original over (and
        detaches it, so that it can no longer be shut down), while shutting the duplicate down
        ends the connection under both."""
        duplicate = connection.dup()
        with self._lock:
            self._sockets.append(duplicate)
            if self.cut:
                _shut(duplicate)

    def _cut(self) -> None:
        # Under the lock, as close() is: a descriptor closed there could meanwhile be another
        # socket's, which a shutdown outside it might hit. A shutdown never blocks.
        with self._lock:
            self.cut = True
            for connection in self._sockets:
                _shut(connection)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for connection in self._sockets:
                connection.close()
            self._sockets.clear()


def _shut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already
        connection.shutdown(socket.SHUT_RDWR)


# socket.create_connection's signature, bound to a delivery's reach and exchange.
Opener = Callable[..., socket.socket]


def _vetted(
    kind: type[http.client.HTTPConnection], opens: Opener
) -> Callable[..., http.client.HTTPConnection]:
    """A connection factory for urllib whose connections open through `opens`
    (_vetted_connection). An HTTPS connection then wraps the vetted socket with the URL's host
    name: SNI and the certificate's check still name the host, not the address."""

    def connection(*args: Any, **kwargs: Any) -> http.client.HTTPConnection:
        made = kind(*args, **kwargs)
        made._create_connection = opens  # type: ignore[attr-defined]  # what connect() calls
        return made

    return connection


class _VettedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, opens: Opener) -> None:
        super().__init__()
        self.opens = opens

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_vetted(http.client.HTTPConnection, self.opens), req)


class _VettedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, opens: Opener, context: ssl.SSLContext | None) -> None:
        super().__init__(context=context)
        self.opens = opens
        self.ssl_context = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = _vetted(http.client.HTTPSConnection, self.opens)
        return self.do_open(connection, req, context=self.ssl_context)


def _web_opener(
    reach: signing.Reach, exchange: _Exchange, context: ssl.SSLContext | None
) -> urllib.request.OpenerDirector:
    """An opener that speaks HTTP and HTTPS only, to the addresses the reach allows: no file:,
    ftp: or data: URL can be reached through a webhook, whatever was registered, no proxy from
    the environment is used, and redirects are not followed (a 3xx is a failed attempt, so no
    Location can lead a delivery past the URL's checks)."""
    opens = functools.partial(_vetted_connection, reach, exchange)
    opener = urllib.request.OpenerDirector()
    for handler in (
        _VettedHTTPHandler(opens),
        _VettedHTTPSHandler(opens, context),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.HTTPDefaultErrorHandler(),
    ):
        opener.add_handler(handler)
    return opener


WEB_SCHEMES = ("http://", "https://")


def sender(
    reach: signing.Reach,
    timeout: float = signing.DELIVERY_SECONDS,
    context: ssl.SSLContext | None = None,
) -> Sender:
    """A Sender that posts only to the addresses the reach allows (HTTPS checked with the
    context given, else the system's certificate authorities), each exchange cut off after
    `timeout` seconds."""

    def send(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
        exchange = _Exchange(timeout)
        try:
            opener = _web_opener(reach, exchange, context)
            status, error = post(url, body, headers, timeout=timeout, opener=opener)
        finally:
            exchange.close()
        if exchange.cut:
            return None, failures.describe("cut", seconds=f"{timeout:g}")
        return status, error

    return send


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    opener: urllib.request.OpenerDirector,
) -> tuple[int | None, str]:
    """POST with the standard library; any failure becomes (status or None, reason), the
    reason in service.domain.delivery_failures' words (the detail is logged)."""
    if not url.lower().startswith(WEB_SCHEMES):
        return None, failures.describe("not_web")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as error:
        status = int(error.code)
        kind = "redirect" if 300 <= status < 400 else "status"
        return status, failures.describe(kind, status=status)
    # A receiver that answers what is not HTTP (http.client.HTTPException), or a URL stored
    # before the checks of today that cannot be sent (UnicodeError, InvalidURL: ValueErrors):
    # a failed attempt of this delivery, never an error that stops the round for all others.
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
        cause = getattr(error, "reason", error)
        log.info("delivery %s failed: %r", headers.get(signing.DELIVERY_HEADER), cause)
        return None, _described(cause, _host_of(url), timeout)


def _host_of(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _described(cause: object, host: str | None, timeout: float) -> str:
    """A failure in the words its agency may read: what kind of failure, never its text."""
    if isinstance(cause, Undeliverable):
        return cause.shown
    if not host:
        return failures.describe("unsendable")
    # In this order: a certificate's refusal is an SSLError and a ValueError too, an SSLError
    # an OSError, and http.client's RemoteDisconnected a ConnectionResetError and an
    # HTTPException.
    kinds: tuple[tuple[type[BaseException], str], ...] = (
        (ssl.SSLCertVerificationError, "certificate"),
        (ssl.SSLError, "tls"),
        (socket.gaierror, "unresolved"),
        (ConnectionRefusedError, "refused"),
        (TimeoutError, "cut"),  # a read that got nothing in time
        (OSError, "unreachable"),
        # a URL stored before today's checks: UnicodeEncodeError, http.client.InvalidURL
        (ValueError, "unsendable"),
        (http.client.HTTPException, "not_http"),
    )
    for kind, sentence in kinds:
        if isinstance(cause, kind):
            return failures.describe(sentence, host=host, seconds=f"{timeout:g}")
    return failures.describe("unsendable")  # URLError's own reasons: an unknown scheme


def deliver_due(
    conn: Connection,
    send: Sender,
    *,
    batch: int = 20,
    lease_seconds: int = 120,
    policy: Policy = Policy(),  # frozen: one default for all calls is safe
) -> Round:
    """One round: claim what is due, send it, record how it went.

    A webhook that did not answer (a timeout, a refused connection, a name that does not
    resolve), or answered that it cannot take deliveries now (5xx, 429), gets no second
    delivery in the round: its others are handed back, due when the failed one is tried again,
    so that one agency's dead receiver costs the round one delivery's time, not one for each
    of its notifications, while every other agency's deliveries and the queued imports wait
    behind it. Its deliveries outside the round wait as long (webhooks.hold): it is tried once
    per back-off, however many it has. And no delivery starts once half the lease has gone:
    the rest are handed back due at once, before the lease runs out and another worker could
    claim and send them too."""
    claimed = webhooks.claim_due(conn, batch, lease_seconds)
    stop_starting_at = time.monotonic() + lease_seconds / 2
    silent: dict[UUID, int] = {}  # webhooks unavailable: seconds until they are tried
    later: dict[int, list[UUID]] = {}  # deliveries handed back, by seconds until due
    delivered = abandoned = suspended = 0
    for n, delivery in enumerate(claimed):
        if time.monotonic() >= stop_starting_at:
            later.setdefault(0, []).extend(unsent.id for unsent in claimed[n:])
            break
        if delivery.webhook_id in silent:
            later.setdefault(silent[delivery.webhook_id], []).append(delivery.id)
            continue
        attempt = _deliver(conn, delivery, send, policy)
        delivered += attempt.delivered
        abandoned += attempt.abandoned
        suspended += attempt.suspended
        if attempt.unavailable:
            silent[delivery.webhook_id] = attempt.retry_in_seconds
    for seconds, ids in later.items():
        webhooks.postpone(conn, ids, seconds)
    return Round(len(claimed), delivered, abandoned, suspended)


@dataclass(frozen=True)
class _Attempt:
    delivered: bool
    # nothing answered (no HTTP status at all), or the receiver said it is down or overloaded
    unavailable: bool = False
    retry_in_seconds: int = 0
    abandoned: int = 0
    suspended: bool = False


def unavailable(status: int | None) -> bool:
    """Whether an attempt's outcome says the receiver takes no delivery now, whichever it is
    (no answer, 5xx, 429), rather than refusing this one."""
    return status is None or status == 429 or status >= 500


def _deliver(
    conn: Connection,
    delivery: Claimed,
    send: Sender,
    policy: Policy = Policy(),  # frozen: one default for all calls is safe
) -> _Attempt:
    notification = notifications.by_id(conn, delivery.notification_id)
    assert notification is not None
    body = signing.delivery_body(delivery.id, notification)
    # The webhook's sends stay share-locked until the outcome is recorded (see the module's
    # docstring): a transaction of at most one delivery's time, the one wait a deactivation
    # may meet; recorded in it, a delivered row is not taken for an undelivered one by the
    # deactivation that waited. Holding the webhook's other deliveries comes after: it updates
    # rows that another worker's transaction may hold.
    with conn.transaction():
        target = webhooks.target_for_sending(conn, delivery.webhook_id, delivery.id)
        if target.abandoned:  # given up since it was claimed (a sibling's failure): not sent
            return _Attempt(delivered=False)
        if target.deactivated:  # since it was claimed: never to be sent
            webhooks.drop(conn, delivery.id)
            return _Attempt(delivered=False)
        if target.suspended:  # made as it was suspended: given up with its others
            return _Attempt(
                delivered=False, abandoned=webhooks.abandon(conn, delivery.webhook_id, None)
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
            return _Attempt(delivered=True)
        retry = signing.retry_in_seconds(delivery.attempts + 1, policy.draw())
        shown = error or f"HTTP {status}"
        failing = webhooks.failed(conn, delivery.id, status, shown, retry, policy.suspend_hours)
    log.info("delivery %s failed (%s); again in %s s", delivery.id, error or status, retry)
    # After the outcome's transaction, as hold: it updates the webhook's other deliveries, which
    # another worker's outcome may hold while it waits for this one's health row.
    abandoned = webhooks.abandon(conn, delivery.webhook_id, policy.give_up_hours)
    if abandoned:
        log.warning("webhook %s: %d deliveries given up", delivery.webhook_id, abandoned)
    if failing is not None and failing.to_suspend:
        reason = signing.suspension_reason(policy.suspend_hours, failing.since, shown)
        given_up = webhooks.suspend(conn, delivery.webhook_id, policy.suspend_hours, reason)
        if given_up >= 0:
            log.warning("webhook %s suspended: %s", delivery.webhook_id, reason)
            return _Attempt(False, abandoned=abandoned + given_up, suspended=True)
    down = unavailable(status)
    if down:
        webhooks.hold(conn, delivery.webhook_id, delivery.id, retry)
    return _Attempt(delivered=False, unavailable=down, retry_in_seconds=retry, abandoned=abandoned)
