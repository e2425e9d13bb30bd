"""/v1/imports: a national registry's parties, items, certificates and events in one file."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from flask import Blueprint, Response, request

from service import cursors, importing
from service.api import audit, requests, uploads
from service.api.auth import requires
from service.api.context import connection, known_countries, principal, settings
from service.api.problems import problem
from service.api.responses import created, json_response, page
from service.domain.ids import uuid7
from service.domain.imports import MEDIA_TYPES, NDJSON
from service.errors import FieldError, InvalidInput, NotFound
from service.repository import imports
from service.repository.imports import ImportRecord
from service.schemas.imports import ImportListQuery, ImportQuery

blueprint = Blueprint("imports", __name__, url_prefix="/v1/imports")
import_query = ImportQuery()
import_list_query = ImportListQuery()


@blueprint.post("")
@requires("registry:write")
@uploads.large_body
def create_import() -> Response:
    """Import a file: every record or none (the problems of every bad record otherwise)."""
    if request.mimetype not in MEDIA_TYPES:
        raise requests.UnsupportedMediaType(
            f"this route takes {' or '.join(MEDIA_TYPES)}, not "
            f"{request.mimetype or 'a body without a type'}"
        )
    record_type = requests.query(import_query)["record_type"]
    if request.mimetype != NDJSON and record_type is None:
        raise InvalidInput.for_field(
            "query", "record_type", "a CSV file holds one record type: party, item, euc or event"
        )
    config = settings()
    body = uploads.spooled()
    if body.size > config.import_sync_bytes or _prefers_async():
        return _queue(body, record_type)
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
        ),
    )
    location = f"/v1/imports/{outcome.id}"
    if outcome.status == "FAILED":
        # Answered, not raised: the records are rolled back already, and the import's record
        # (with its problems) and the audit entry are kept.
        return problem(
            400,
            "import_rejected",
            "The file has bad records: nothing was stored",
            f"{outcome.error_count} problems in {outcome.lines} lines; the import's record is "
            f"{location}",
            errors=[FieldError("body", p.field, p.detail, line=p.line) for p in outcome.errors],
            extensions={"import_id": str(outcome.id), "error_count": outcome.error_count},
        )
    return created(outcome, location)


@blueprint.get("")
@requires("registry:write")
def list_imports() -> Response:
    """The agency's imports, newest first (their problems: GET each one)."""
    args = requests.query(import_list_query)
    filters = {"status": args["status"]}
    secret = settings().secret_key
    before = cursors.decode(secret, args["cursor"], filters) if args["cursor"] else None
    found = imports.find(
        connection(),
        principal().agency.id,
        status=args["status"],
        before=before,
        limit=args["limit"] + 1,
    )
    more = len(found) > args["limit"]
    next_cursor = cursors.encode(secret, found[-2].id, filters) if more else None
    return page(list(found[: args["limit"]]), next_cursor)


@blueprint.get("/<uuid:import_id>")
@requires("registry:write")
def get_import(import_id: UUID) -> Response:
    """An import of the caller's agency: waiting, what it stored, or why it stored nothing."""
    agency_id = principal().agency.id
    found: ImportRecord | None = imports.get(connection(), agency_id, import_id)
    if found is None:
        found = imports.waiting(connection(), agency_id, import_id)
    if found is None:
        raise NotFound(f"your agency has no import with id {import_id}")
    return json_response(found)


def _prefers_async() -> bool:
    """RFC 7240: `Prefer: respond-async` asks for 202 rather than waiting."""
    preferences = ",".join(request.headers.getlist("Prefer")).lower()
    return any(p.split(";")[0].strip() == "respond-async" for p in preferences.split(","))


def _queue(body: uploads.Spooled, record_type: str | None) -> Response:
    """Keep the file for the worker; 202 with where to follow it."""
    job = imports.Job(
        id=uuid7(),
        agency_id=principal().agency.id,
        media_type=request.mimetype,
        record_type=record_type,
        sha256=body.sha256,
        size=body.size,
        attempts=0,
    )
    body.file.seek(0)
    imports.queue(connection(), job, iter(lambda: body.file.read(uploads.IN_MEMORY), b""))
    waiting = imports.waiting(connection(), job.agency_id, job.id)
    location = f"/v1/imports/{job.id}"
    audit.created(location)
    return json_response(
        waiting,
        202,
        headers={"Location": location, "Preference-Applied": "respond-async"},
    )
