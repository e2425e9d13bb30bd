"""/v1/traces: trace requests, single and batch, kept with the answers they got."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import orjson
from flask import Blueprint, Response

from service.api import audit, idempotency, requests, trace_batches
from service.api.auth import requires
from service.api.context import (
    connection,
    manufacturer_directory,
    principal,
    seconds_since_start,
    settings,
)
from service.api.responses import created, keyset_page, offers_text, reported
from service.deadlines import Deadline
from service.domain.ids import uuid7
from service.domain.reports import trace_report
from service.domain.traces import ObservedWeapon, TraceAnswer, TraceContext
from service.errors import NotFound
from service.repository import agencies, traces
from service.schemas.traces import TraceBatchIn, TraceIn, TraceQuery
from service.tracing import Tracer

blueprint = Blueprint("traces", __name__, url_prefix="/v1/traces")
trace_in = TraceIn()
trace_batch_in = TraceBatchIn()
trace_query = TraceQuery()


def _tracer() -> Tracer:
    caller = principal()
    return Tracer(
        connection(),
        manufacturer_directory(),
        caller.agency,
        settings().euc_verification_days,
    )


@blueprint.post("")
@requires("trace:read", one_statement=True)
@offers_text(trace_report)
def create_trace() -> Response:
    """Trace one weapon: ranked candidates, each with its chain of custody (JSON, or a text
    report for Accept: text/plain)."""
    request = requests.body(trace_in)
    _audit_request(request["context"], [request["weapon"]])
    answer = _tracer().answer(
        request["weapon"], request["context"], max_candidates=request["max_candidates"]
    )
    return _stored(answer)


@blueprint.post("/batch")
@requires("trace:read")
def create_trace_batch() -> Response:
    """Trace up to 1,000 weapons of one case in one request."""
    request = requests.body(trace_batch_in)
    _audit_request(request["context"], request["weapons"])
    batch_id = uuid7()
    document = trace_batches.answer(
        _tracer(),
        connection(),
        principal().key_prefix,
        batch_id,
        request["weapons"],
        request["context"],
        Deadline(settings().batch_seconds, seconds_since_start(), settings().statement_timeout_ms),
    )
    with document:
        # One trace per weapon against the key's rate, as if each had been sent alone: otherwise
        # a key's rate would bound its requests but not its traces (a thousand times the rate).
        agencies.charge_requests(
            connection(),
            principal().key_prefix,
            len(request["weapons"]) - 1,
            settings().rate_limit_per_minute,
        )
        idempotency.replay_from_batch(batch_id)
        return document.response(201, f"/v1/traces?batch_id={batch_id}")


@blueprint.get("")
@requires("trace:read")
@requests.takes_a_query
def list_traces() -> Response:
    """The agency's own traces, newest first."""
    args = requests.query(trace_query)
    filters = {
        name: args[name] for name in ("case_reference", "batch_id", "created_from", "created_to")
    }
    return keyset_page(
        args["cursor"],
        filters,
        args["limit"],
        lambda before, limit: traces.find(
            connection(),
            principal().agency.id,
            case_reference=args["case_reference"],
            batch_id=args["batch_id"],
            created_from=_start_of(args["created_from"]),
            created_before=_start_of(args["created_to"], days_later=1),
            before=before,
            limit=limit,
        ),
    )


@blueprint.get("/<uuid:trace_id>")
@requires("trace:read")
@offers_text(trace_report)
def get_trace(trace_id: UUID) -> Response:
    """A stored trace, as it was answered on the day."""
    document = traces.get(connection(), trace_id, principal().agency.id)
    if document is None:
        raise NotFound(f"your agency has no trace with id {trace_id}")
    return reported(orjson.loads(document))


def _stored(answer: TraceAnswer) -> Response:
    """The answer, stored with the request's audit entry in the same statement."""
    _audit_answer(answer)
    response = created(answer, f"/v1/traces/{answer.id}")
    with audit.written_with(response.status_code) as entry:
        traces.insert(connection(), answer, principal().key_prefix, entry)
    return response


def _audit_request(context: TraceContext, weapons: list[ObservedWeapon]) -> None:
    audit.for_case(context.case_reference, context.purpose)
    audit.serials(weapon.serial_number for weapon in weapons)


def _audit_answer(answer: TraceAnswer) -> None:
    """The items disclosed: every candidate (a batch's: service.api.trace_batches)."""
    audit.traces_answered([answer.id], [candidate.item.id for candidate in answer.candidates])


def _start_of(day: date | None, days_later: int = 0) -> datetime | None:
    """Midnight UTC at the start of the day (or of a later day); None, no bound, for none or
    for a day after the last a date can name (the day after 9999-12-31)."""
    if day is None or day > date.max - timedelta(days=days_later):
        return None
    return datetime.combine(day + timedelta(days=days_later), time.min, tzinfo=UTC)
