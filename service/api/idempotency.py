"""Idempotent POSTs: the same `Idempotency-Key` with the same request answers the first answer
again, without doing the work twice; with another request it is refused (409).

Keys are the agency's own (two agencies may use the same key) and kept at least 24 hours. The
key is taken in the request's transaction before the view runs and the answer stored in it
after, so a request that fails leaves no trace and may simply be sent again, and a second
request with the same key, sent while the first is running, waits for the first's answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from uuid import UUID

from flask import Response, g, request

from service.api import audit, requests, responses, trace_batches, uploads
from service.api.context import Principal, settings
from service.db import Connection
from service.errors import IdempotencyKeyReused, InvalidInput
from service.repository import idempotency, traces
from service.repository.idempotency import Answer

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
LONGEST = 255
# Where a single trace is stored: a replay whose Location is one of these answered a trace.
TRACES_PATH = "/v1/traces"
# What a view names in its audit entry beyond the records of its answer (an administrator's
# override), by endpoint: a replay, which does not run the view, names it again by these, given
# the request's path arguments (the body is the first request's, byte for byte).
ReplayAudit = Callable[..., None]
_REPLAY_AUDITS: dict[str, ReplayAudit] = {}


def audited_on_replay(endpoint: str) -> Callable[[ReplayAudit], ReplayAudit]:
    """Register what a replay of the endpoint's answer adds to its audit entry."""

    def register(audit_replay: ReplayAudit) -> ReplayAudit:
        _REPLAY_AUDITS[endpoint] = audit_replay
        return audit_replay

    return register


def begin(conn: Connection, caller: Principal, *, large_body: bool = False) -> Response | None:
    """For a POST that carries a key: the stored answer to replay, or None after taking the key
    for this request (the view then runs, and `finish` stores its answer)."""
    key = requested_key()
    if key is None:
        return None
    claim = idempotency.Request(
        caller.agency.id, key, fingerprint(large_body), request.method, request.path
    )
    stored = idempotency.claim(conn, claim, settings().idempotency_hours)
    if stored is None:
        g.idempotency = claim
        return None
    if stored.fingerprint != claim.fingerprint:
        raise IdempotencyKeyReused(
            f"this Idempotency-Key was sent with another request ({stored.method} "
            f"{stored.path}, at {stored.created_at:%Y-%m-%dT%H:%M:%SZ}); use a new key for a "
            "new request"
        )
    if stored.answer.withheld:
        raise IdempotencyKeyReused(
            f"the first request with this Idempotency-Key created {stored.answer.location}; "
            "the secret it answered is shown only once and is not kept"
        )
    audit.replayed()
    _audit_replay(conn, caller, stored.answer)
    if stored.answer.batch_id is not None:
        document = trace_batches.made_again(conn, stored.answer.batch_id, caller.agency.id)
        return _replayed(document.response(stored.answer.status, stored.answer.location or ""))
    return replay(stored.answer)


def _audit_replay(conn: Connection, caller: Principal, answer: Answer) -> None:
    """Name in the replay's audit entry what its answer discloses again: the record it names,
    and for a trace or a batch the case, serials and candidate items, read from the stored
    traces (the view, which would have named them, does not run)."""
    record_id = audit.named_at(answer.location)
    if answer.batch_id is not None:
        audit.traces_answered_again(
            traces.disclosed(conn, caller.agency.id, batch_id=answer.batch_id)
        )
    elif record_id is not None and answer.location == f"{TRACES_PATH}/{record_id}":
        audit.traces_answered_again(traces.disclosed(conn, caller.agency.id, trace_id=record_id))
    audit_replay = _REPLAY_AUDITS.get(request.endpoint or "")
    if audit_replay is not None:
        audit_replay(**(request.view_args or {}))


def finish(conn: Connection, response: Response) -> None:
    """Store the answer of a request that took a key (in the same transaction)."""
    claim: idempotency.Request | None = g.pop("idempotency", None)
    if claim is None:
        return
    if g.get("leave_key_free", False):
        idempotency.free(conn, claim)
        return
    batch_id: UUID | None = g.get("replay_from_batch")
    # An answer given as a text report is kept as the JSON it was made from (a replay answers
    # either, as its own request asks: responses.replayed).
    as_json: bytes | None = g.get("json_answer")
    answer = Answer(
        status=response.status_code,
        location=response.headers.get("Location"),
        media_type="application/json"
        if as_json is not None
        else response.mimetype or "application/json",
        # A batch's answer streams from a file: reading it here would hold it all in memory.
        body=b"" if batch_id is not None else as_json or response.get_data(),
        withheld=bool(g.get("withhold_replay", False)),
        batch_id=batch_id,
    )
    idempotency.remember(conn, claim, answer)


def leave_key_free() -> None:
    """The answer is a refusal, though the view ran to its end and kept a record of it (a
    rejected import): the key is not spent on it, as on any request that failed, so that the
    corrected request can be sent with the same key."""
    g.leave_key_free = True


def withhold_replay() -> None:
    """The answer carries a secret: do not keep it for replays (they are refused instead)."""
    g.withhold_replay = True


def replay_from_batch(batch_id: UUID) -> None:
    """The answer is a batch's traces, which are stored: a replay makes it again from them
    rather than keeping it twice."""
    g.replay_from_batch = batch_id


def requested_key() -> str | None:
    if request.method != "POST":
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    # Two Idempotency-Key headers reach us joined by a comma (RFC 9110 5.3), which is all the
    # WSGI server hands on: a key may hold no comma, or two keys would be taken for one.
    if "," in key:
        raise InvalidInput.for_field(
            "header", HEADER, "one key per request: a comma joins two Idempotency-Key headers"
        )
    if not 1 <= len(key) <= LONGEST or not all("!" <= c <= "~" for c in key):
        raise InvalidInput.for_field(
            "header",
            HEADER,
            f"1 to {LONGEST} visible ASCII characters other than a comma (a UUID will do)",
        )
    return key


def fingerprint(large_body: bool = False) -> bytes:
    """What makes two requests the same: method, path and query, media type and body, byte for
    byte (a large body by its SHA-256, taken as it is spooled). Not the Content-Type's charset
    nor the Content-Encoding: a body refused for them (415) is never the key's answer (the
    refusal is raised in the request's transaction, which takes the key's claim back with it),
    so the same bytes sent again with them put right are a first request."""
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.mimetype or ""):
        digest.update(part.encode())
        digest.update(b"\0")
    # The query says what a body is (an import's ?record_type=): the same CSV sent as parties
    # and then as items is two requests. Hashed only when there is one, so that the answers
    # kept for requests without one still match after an upgrade.
    if request.query_string:
        digest.update(b"?" + request.query_string + b"\0")
    digest.update(uploads.spooled().sha256 if large_body else requests.whole_body(cache=True))
    return digest.digest()


def replay(answer: Answer) -> Response:
    headers = {"Location": answer.location} if answer.location else {}
    if answer.media_type == "application/json":
        return _replayed(responses.replayed(answer.body, answer.status, headers))
    return _replayed(
        Response(answer.body, answer.status, headers=headers, mimetype=answer.media_type)
    )


def _replayed(response: Response) -> Response:
    response.headers[REPLAYED_HEADER] = "true"
    return response
