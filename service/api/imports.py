"""/v1/imports: a national registry's parties, items, certificates and events in one file."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from flask import Blueprint, Response, request

from service import importing
from service.api import audit, idempotency, requests, uploads
from service.api.auth import requires
from service.api.context import (
    arrived_at,
    connection,
    known_countries,
    principal,
    seconds_since_start,
    settings,
)
from service.api.problems import problem
from service.api.responses import created, json_response, keyset_page
from service.config import Settings
from service.deadlines import Deadline
from service.domain.imports import MEDIA_TYPES, NDJSON
from service.domain.wording import counted
from service.errors import FieldError, ImportsBusy, InvalidInput, NotFound
from service.repository import imports
from service.schemas.imports import ImportListQuery, ImportQuery

blueprint = Blueprint("imports", __name__, url_prefix="/v1/imports")
# How long a file loaded while the client waits may wait for its agency's other import to end;
# after that it is queued (202).
SYNC_WAIT_SECONDS = 5.0
# How long, from the request's start, a file may take to load while the client waits: past it
# the load is rolled back and the file queued (202), well before gunicorn cuts the worker off at
# 30 s (a file under TRACE_REGISTRY_IMPORT_SYNC_BYTES whose events touch many items took 30 s
# and was answered 500).
SYNC_SECONDS = 15.0
# What a file loaded while the client waits leaves of the request's own deadline
# (TRACE_REGISTRY_REQUEST_SECONDS), when that comes first: the rollback and the file queued.
QUEUE_SECONDS = 5.0
import_query = ImportQuery()
import_list_query = ImportListQuery()


class NotAnImportFile(requests.UnsupportedMediaType):
    title = "Send NDJSON or CSV"
    body_name = "file"


@blueprint.post("")
@requires(importing.SCOPE, checked_by_proxy=True)
@uploads.large_body(MEDIA_TYPES, NotAnImportFile)
@requests.takes_a_query
def create_import() -> Response:
    """Import a file: every record or none (the problems of every bad record otherwise).
    Its media type was checked before the body was read (uploads.LargeBody)."""
    record_type = requests.query(import_query)["record_type"]
    if request.mimetype != NDJSON and record_type is None:
        raise InvalidInput.for_field(
            "query", "record_type", "a CSV file holds one record type: party, item, euc or event"
        )
    config = settings()
    body = uploads.spooled()
    arrived = arrived_at()
    # An agency's files load in the order they came (a later one may refer to an earlier one's
    # records): behind files of the agency still queued, this one is queued too.
    if (
        body.size > config.import_sync_bytes
        or _prefers_async()
        or imports.has_queued(connection(), principal().agency.id)
    ):
        return _queue(body, record_type, arrived)
    try:
        outcome = importing.run(
            connection(),
            body.file,
            importing.Request(
                agency_id=principal().agency.id,
                media_type=request.mimetype,
                record_type=record_type,
                countries=known_countries(),
                today=datetime.now(UTC).date(),
                verification_days=config.euc_verification_days,
                errors_kept=config.import_errors_kept,
                sha256=body.sha256,
                wait_seconds=SYNC_WAIT_SECONDS,
                deadline=Deadline(_sync_seconds(config), seconds_since_start(), 0),
                arrived_at=arrived,
            ),
        )
    except (ImportsBusy, importing.ImportTooSlow):
        # The agency's other import (a large one, perhaps) is still being loaded, an earlier
        # file of the agency was queued while this one waited, or this one takes longer than a
        # client should wait: the worker loads it, in its place by when it came.
        body.file.seek(0)
        return _queue(body, record_type, arrived)
    location = f"/v1/imports/{outcome.id}"
    if outcome.status == "FAILED":
        # Answered, not raised: the records are rolled back already, and the import's record
        # (with its problems) and the audit entry are kept. Its Idempotency-Key is not spent:
        # the corrected file may come with the same key.
        idempotency.leave_key_free()
        return problem(
            400,
            "import_rejected",
            "The file has bad records: nothing was stored",
            f"{counted(outcome.error_count, 'problem')} in {counted(outcome.lines, 'line')}; the "
            f"import's record is {location}",
            errors=[FieldError("body", p.field, p.detail, line=p.line) for p in outcome.errors],
            extensions={"import_id": str(outcome.id), "error_count": outcome.error_count},
        )
    return created(outcome, location)


@blueprint.get("")
@requires("registry:write")
@requests.takes_a_query
def list_imports() -> Response:
    """The agency's imports, newest first (their problems: GET each one)."""
    args = requests.query(import_list_query)
    return keyset_page(
        args["cursor"],
        {"status": args["status"]},
        args["limit"],
        lambda before, limit: imports.find(
            connection(), principal().agency.id, status=args["status"], before=before, limit=limit
        ),
    )


@blueprint.get("/<uuid:import_id>")
@requires("registry:write")
def get_import(import_id: UUID) -> Response:
    """An import of the caller's agency: waiting, what it stored, or why it stored nothing."""
    found = imports.get(connection(), principal().agency.id, import_id)
    if found is None:
        raise NotFound(f"your agency has no import with id {import_id}")
    return json_response(found)


def _prefers_async() -> bool:
    """RFC 7240: `Prefer: respond-async` asks for 202 rather than waiting."""
    preferences = ",".join(request.headers.getlist("Prefer")).lower()
    return any(p.split(";")[0].strip() == "respond-async" for p in preferences.split(","))


def _queue(body: uploads.Spooled, record_type: str | None, arrived_at: datetime) -> Response:
    """Keep the file for the worker, in its agency's order by when it came; 202 with where to
    follow it."""
    waiting = importing.queue(
        connection(),
        principal().agency.id,
        request.mimetype,
        record_type,
        body.file,
        sha256=body.sha256,
        size=body.size,
        sent_by_key_prefix=principal().key_prefix,
        arrived_at=arrived_at,
    )
    location = f"/v1/imports/{waiting.id}"
    audit.created(location)
    headers = {"Location": location}
    if _prefers_async():  # RFC 7240: said only of a preference the client expressed
        headers["Preference-Applied"] = "respond-async"
    return json_response(waiting, 202, headers=headers)


def _sync_seconds(config: Settings) -> float:
    """How long a file may take to load while the client waits: SYNC_SECONDS, or less when the
    request's deadline would cut the load before it is queued instead."""
    return min(SYNC_SECONDS, max(config.request_seconds - QUEUE_SECONDS, 1.0))
