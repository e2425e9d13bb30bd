"""Bearer API keys, scopes, rate limits and the audited unit of work.

Every /v1 view is wrapped in `requires(scope)`, which, in order:
1. begins the request's audit entry;
2. authenticates the key and counts the request against the key's rate (one statement);
   401 for a missing, unknown, expired or revoked key, 429 over the rate;
   a failure is counted against its client's rate of failures (a second statement, on failures
   only: a good key's request sends none); past it, 429 instead of 401;
3. refuses a key without the scope (403);
4. runs the view and writes the audit entry in one transaction, so that an answer is never
   given without its entry, nor a write kept without it; a POST with an Idempotency-Key takes
   the key in that transaction first, and answers again what it answered the first time
   (service.api.idempotency).
Refusals are written to the audit trail by the error handlers (service.api.problems).

Failed authentications and the audit trail: a request that fails to authenticate reached no
data, but the trail must show that it was tried, from where and with which key prefix, and
anyone who can reach the service can send them. Each failure within its client's rate
(TRACE_REGISTRY_AUTH_FAILURES_PER_MINUTE, TRACE_REGISTRY_AUTH_FAILURE_BURST) is an entry of its
own (401, `details.client`); past the rate, a failure is answered 429 with Retry-After and only
counted, in the client's tally, and the client's next entry (its next failure within the rate:
during a flood, one each spacing of the rate) names the count (`details.refused_unrecorded`)
and resets it. So a flood from one client adds at most the burst and then its rate of entries
to the trail, however fast it comes, and every refusal is counted in one of them; the
refusals after a client's last entry wait until it tries again, or, if it does not, until
`trace-registry worker` names them in an entry of its own. The kernel's rate-limited logs do
the same ("N callbacks suppressed"). Counts live in PostgreSQL (service.repository.clients),
shared by every worker and host; the client is the peer, or behind trusted proxies the address
they name (service.domain.clients).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Response, g, make_response, request

from service.api import audit, idempotency, requests, responses, uploads
from service.api.context import Principal, connection, mark_start, settings
from service.db import Connection
from service.domain import api_keys, clients
from service.errors import AuthenticationFailed, PermissionDenied, RateLimited, TooManyFailures
from service.repository import agencies
from service.repository import clients as client_limits

P = ParamSpec("P")
R = TypeVar("R")


# What the deployment's proxy (deploy/proxy/nginx.conf) adds to an import it took after asking
# the API about its key (GET /v1/imports, counted against the key's rate): the import itself is
# then not counted again. Its value is the secret the proxy shares with the API
# (TRACE_REGISTRY_PROXY_SECRET; unset, never believed), and it is believed only from
# TRACE_REGISTRY_TRUSTED_PROXIES: those networks hold more than the proxy (in compose, the worker
# and any container on the project's network), and the address alone let any of them send
# imports that were never counted. The proxy clears a client's own.
KEY_CHECKED_HEADER = "X-Import-Key-Checked"


def authenticate(header: str | None, draft: audit.Draft, *, counted: bool = True) -> Principal:
    """The caller behind an `Authorization: Bearer <key>` header, or AuthenticationFailed
    (TooManyFailures past the client's rate of failures). Not `counted`: the request was
    counted against the key's rate already, and is not counted again."""
    try:
        return _caller(header, draft, counted)
    except AuthenticationFailed:
        _count_failure(draft)
        raise


def _count_failure(draft: audit.Draft) -> None:
    # Judged after the key, not before: a good key's request then sends no statement more, and
    # is served from an address that others' failures have used up (a NAT, a proxy); a guess at
    # a 256-bit secret gains nothing from being answered.
    config = settings()
    client = client_address()
    counters = clients.counters_of(clients.subject_of(client))
    judged = client_limits.failed_authentication(
        connection(), counters, client, config.auth_failures_per_minute, config.auth_failure_burst
    )
    if not judged.admitted:
        raise TooManyFailures(
            "too many failed authentications from your address; try again later",
            judged.retry_after,
        )
    audit.failed_from(draft, client, counters.tally)


def client_address() -> str:
    """The request's client: the peer, or the address trusted proxies name."""
    return clients.client_address(
        request.remote_addr or "",
        request.headers.get("X-Forwarded-For"),
        settings().trusted_proxy_networks,
    )


def counted_by_proxy() -> bool:
    """Whether the proxy says, with the secret it shares with the API, that it counted this
    request against its key's rate already (by asking the API about the key before taking the
    body: KEY_CHECKED_HEADER)."""
    secret = settings().proxy_secret
    said = request.headers.get(KEY_CHECKED_HEADER)
    if not secret or said is None:
        return False
    # In constant time: a client that may reach the API could otherwise learn it a byte at a time.
    proven = hmac.compare_digest(said.encode(), secret.encode())
    return proven and clients.is_trusted(
        request.remote_addr or "", settings().trusted_proxy_networks
    )


def _caller(header: str | None, draft: audit.Draft, counted: bool) -> Principal:
    """The caller behind the header, or AuthenticationFailed.

    A well-formed key costs the same whether or not its prefix exists: one query, then a
    constant-time comparison of hashes (against a fixed hash when no key has the prefix).
    """
    scheme, _, key = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthenticationFailed("send an API key as `Authorization: Bearer <key>`")
    key = key.strip()
    prefix = api_keys.prefix_of(key)
    audit.claimed_prefix(draft, prefix)
    stored = None
    if prefix is not None:
        config = settings()
        stored = agencies.authenticate(
            connection(),
            prefix,
            api_keys.hash_key(key),
            config.rate_limit_per_minute,
            config.rate_limit_burst,
            counted=counted,
        )
    if not api_keys.key_matches(key, stored.secret_hash if stored else None) or stored is None:
        raise AuthenticationFailed("this API key is not valid")
    # By the clock that decided whether to count the request: judged by this machine's, a key
    # the database found expired (and did not count) was taken as live when this clock lagged,
    # and answered 429 as if over its rate.
    status = api_keys.status_of(stored.revoked_at, stored.expires_at, stored.judged_at)
    if status != "ACTIVE":
        raise AuthenticationFailed(f"this API key is {status.lower()}")
    caller = Principal(stored.agency, stored.prefix, frozenset(stored.scopes))
    audit.identify(draft, caller)
    if not stored.admitted:
        config = settings()
        raise RateLimited(
            "this API key has sent more requests than its rate allows; try again later",
            agencies.retry_after(
                connection(), stored.prefix, config.rate_limit_per_minute, config.rate_limit_burst
            ),
        )
    return caller


def requires(
    scope: str, *, one_statement: bool = False, checked_by_proxy: bool = False
) -> Callable[[Callable[P, R]], Callable[P, Response]]:
    """Authenticate the request, refuse it (403) unless the key has `scope`, and run the view
    with its audit entry in one transaction.

    `one_statement`: the view reads, then stores its answer and the audit entry in one
    statement (`audit.written_with`), which commits them together; the transaction (two round
    trips and a second statement) is then left out, unless an Idempotency-Key needs it.
    `checked_by_proxy`: the deployment's proxy asks about the key before it takes the body
    (and that request is counted): a request it says it checked is not counted again."""
    if scope not in api_keys.SCOPES:
        raise ValueError(f"unknown scope {scope}")

    def decorate(view: Callable[P, R]) -> Callable[P, Response]:
        large_body = uploads.takes_large_body(view)
        json_body = large_body is None and requests.reads_json_body(view)
        optional_body = requests.body_is_optional(view)
        takes_a_query = requests.reads_a_query(view)
        text_report = responses.text_report_of(view)

        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Response:
            mark_start()
            draft = audit.begin()
            caller = authenticate(
                request.headers.get("Authorization"),
                draft,
                counted=not (checked_by_proxy and counted_by_proxy()),
            )
            if scope not in caller.scopes:
                raise PermissionDenied(f"this API key lacks the `{scope}` scope")
            g.principal = caller
            if text_report is not None:
                g.text_report = text_report
            audit.stated_case(draft)
            if not takes_a_query:  # where a list's view reads its query: its entry states the case
                requests.refuse_a_query()
            if large_body is not None:
                large_body.check()
            elif (
                json_body
                and idempotency.requested_key() is not None
                and (requests.sent_a_body() or not optional_body)
            ):
                # Before the key is looked up: a body the route refuses is refused (415, or 400
                # for none), not answered as the key's first request was, nor refused as
                # another (409).
                requests.check_body(requests.JSON_MEDIA_TYPES)
            conn = connection()
            response: Response | None = None
            try:
                if one_statement and idempotency.requested_key() is None:
                    response = make_response(view(*args, **kwargs))
                    _write_unless_written(conn, draft, response)
                    return response
                with conn.transaction():
                    replayed = idempotency.begin(conn, caller, large_body=large_body is not None)
                    if replayed is None:
                        response = make_response(view(*args, **kwargs))
                        idempotency.finish(conn, response)
                    else:
                        response = replayed
                    _write_unless_written(conn, draft, response)
                return response
            except BaseException:
                # An answer made but not given (its audit entry or commit failed): what it
                # holds goes now, a batch's spooled file with it, rather than when collected.
                if response is not None:
                    response.close()
                raise

        guarded.required_scope = scope  # type: ignore[attr-defined]
        return guarded

    return decorate


def _write_unless_written(conn: Connection, draft: audit.Draft, response: Response) -> None:
    # A view that stored the entry with its answer (audit.written_with) leaves none to write.
    if not draft.written:
        audit.write(conn, draft, response.status_code)
