"""The audit entry of a request: begun when a guarded route is entered, completed by the view
(what was looked up, how many records it returned), and written with the status answered.

An answer and its audit entry commit together (`service.api.auth.requires` runs the view and
the entry in one transaction, or the view stores its answer and the entry in one statement,
`written_with`): if the entry cannot be written, the caller gets a 503 and nothing of the
request stays. A request refused before or by the view (401, 403, 400, 404, 409...) is
written after its work has been rolled back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import overload
from uuid import UUID

import psycopg
from flask import g, request
from marshmallow import ValidationError

from service.api.context import Principal, connection
from service.db import Connection
from service.domain.ids import uuid7
from service.domain.matching import audited_form
from service.domain.records import AgencyRef
from service.domain.traces import TraceDisclosure
from service.errors import InvalidInput, TraceRegistryError
from service.repository import audit as trail
from service.schemas.fields import field_errors
from service.schemas.traces import TraceContextIn

log = logging.getLogger(__name__)

CASE_REFERENCE_HEADER = "X-Case-Reference"
PURPOSE_HEADER = "X-Purpose"
# A stated case and purpose are held to a trace context's rules for them (a case reference is
# one line of ShownText, at most 100 characters counted in NFC, as kept; a purpose free text, at
# most 300): the trail's filter finds one case however it was stated, and a case a trace took
# (a no-break space, a direction mark) was refused as a header.
_STATED = {
    CASE_REFERENCE_HEADER: TraceContextIn().fields["case_reference"],
    PURPOSE_HEADER: TraceContextIn().fields["purpose"],
}
# The WSGI environ's names of those headers (PEP 3333).
_ENVIRON_KEYS = {
    name: "HTTP_" + name.upper().replace("-", "_")
    for name in (CASE_REFERENCE_HEADER, PURPOSE_HEADER)
}
# Query parameters that say where a page starts, not what was asked.
_NOT_RECORDED = frozenset({"cursor"})
# More than this many serials in one entry are recorded as typed in `details` only.
_MAX_SERIALS = 1_000


@dataclass
class Draft:
    id: UUID
    method: str
    route: str
    path: str
    agency_id: UUID | None = None
    key_prefix: str | None = None
    serials: list[str] = field(default_factory=list)
    record_ids: list[UUID] = field(default_factory=list)
    case_reference: str | None = None
    purpose: str | None = None
    records_returned: int | None = None
    details: dict[str, object] = field(default_factory=dict)
    written: bool = False
    # a client's tally of refused authentications, for the entry to take (failed_from)
    tally: UUID | None = None

    def entry(self, status: int) -> trail.NewEntry:
        returned = self.records_returned
        if returned is None:
            returned = 1 if 200 <= status < 300 else 0
        return trail.NewEntry(
            id=self.id,
            agency_id=self.agency_id,
            key_prefix=self.key_prefix,
            method=self.method,
            route=_storable(self.route),
            path=_storable(self.path),
            status=status,
            serials=tuple(_storable(s) for s in dict.fromkeys(self.serials))[:_MAX_SERIALS],
            record_ids=tuple(dict.fromkeys(self.record_ids)),
            case_reference=self.case_reference,
            purpose=self.purpose,
            records_returned=returned if 200 <= status < 300 else 0,
            details=_storable(self.details),
        )


_NUL = "\x00"


@overload
def _storable(value: str) -> str: ...
@overload
def _storable(value: dict[str, object]) -> dict[str, object]: ...
def _storable(value: object) -> object:
    """What was asked, as PostgreSQL's text and jsonb can hold it: a NUL byte (a path or query
    with %00 in it) as U+FFFD. Without it the entry of such a request could not be written, and
    the request went unaudited."""
    if isinstance(value, str):
        return value.replace(_NUL, "\ufffd") if _NUL in value else value
    if isinstance(value, dict):
        return {_storable(str(key)): _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return value


def begin() -> Draft:
    """The request's draft entry: route, path, the ids in the path, the query asked."""
    rule = request.url_rule
    draft = Draft(
        id=uuid7(),
        method=request.method,
        route=rule.rule if rule is not None else request.path,
        path=request.path,
    )
    for value in (request.view_args or {}).values():
        if isinstance(value, UUID):
            draft.record_ids.append(value)
    asked = {
        name: values[0] if len(values) == 1 else values
        for name, values in request.args.lists()
        if name not in _NOT_RECORDED
    }
    if asked:
        draft.details["query"] = asked
    serial = request.args.get("serial_number")
    if serial:
        looked_up_serials(draft, [serial])
    g.audit = draft
    return draft


def stated_case(draft: Draft) -> None:
    """The case reference and purpose a caller may state on any request, in headers."""
    draft.case_reference = _header(CASE_REFERENCE_HEADER)
    draft.purpose = _header(PURPOSE_HEADER)


def current() -> Draft | None:
    draft: Draft | None = g.get("audit")
    return draft


def identify(draft: Draft, caller: Principal) -> None:
    draft.agency_id = caller.agency.id
    draft.key_prefix = caller.key_prefix


def claimed_prefix(draft: Draft, prefix: str | None) -> None:
    """The prefix of a key that was refused, as presented (it may name no key)."""
    draft.key_prefix = prefix


def failed_from(draft: Draft, client: str, tally: UUID) -> None:
    """The request failed to authenticate within its client's rate: the entry names the client
    and takes the client's tally of refusals since its last entry (service.api.auth)."""
    draft.details["client"] = client
    draft.tally = tally


def looked_up_serials(draft: Draft, as_typed: Iterable[str]) -> None:
    typed = list(as_typed)
    draft.serials.extend(audited_form(serial) for serial in typed[:_MAX_SERIALS])
    recorded = draft.details.setdefault("serials_as_typed", [])
    assert isinstance(recorded, list)
    recorded.extend(typed)


def looked_up_ids(ids: Iterable[UUID]) -> None:
    draft = current()
    if draft is not None:
        draft.record_ids.extend(ids)


def created(location: str) -> None:
    """A record the request stored: its location, and its id when the location ends in one."""
    draft = current()
    if draft is None:
        return
    draft.details["created"] = location
    named_at(location)


def key_issued(
    agency_id: UUID,
    scopes: Sequence[str],
    expires_at: datetime | None,
    rate_limit_per_minute: int | None,
) -> None:
    """What a new key may do and for whom, in the hash-chained entry itself: the key's own row
    (api_keys) is not chained, and an administrator who gave an agency more than it should have
    must be seen to have done so in the trail."""
    draft = current()
    if draft is None:
        return
    draft.details["key_issued"] = {
        "agency_id": str(agency_id),
        "scopes": list(scopes),
        "expires_at": expires_at.isoformat() if expires_at else None,
        "rate_limit_per_minute": rate_limit_per_minute,
    }


def overridden(recorded_by: AgencyRef, reason: str) -> None:
    """An administrator withdrew a record another agency made (a revocation, a re-export
    consent): the entry names whose record it was and why, so that the trail shows every use of
    the override, whoever reads the withdrawal later."""
    draft = current()
    if draft is None:
        return
    draft.details["override"] = {
        "recorded_by": {"id": str(recorded_by.id), "name": recorded_by.name},
        "reason": reason,
    }


def agency_country_changed(agency_id: UUID, old: str | None, new: str | None) -> None:
    """An agency's country set, corrected or cleared: what it was and is, in the chained entry
    (the agency's row is not chained), as `agencies set-country` records it."""
    draft = current()
    if draft is not None:
        draft.details["agency_country"] = {"agency_id": str(agency_id), "old": old, "new": new}


def named_at(location: str | None) -> UUID | None:
    """The record a location ends in, named among the entry's records; None if it ends in no
    id."""
    try:
        record_id = UUID(location.rsplit("/", 1)[-1]) if location else None
    except ValueError:
        return None
    if record_id is not None:
        looked_up_ids([record_id])
    return record_id


def replayed() -> None:
    """The answer is the stored answer of an earlier request with the same Idempotency-Key."""
    draft = current()
    if draft is not None:
        draft.details["idempotent_replay"] = True


def traces_answered_again(stored: Sequence[TraceDisclosure]) -> None:
    """What an answer made again from stored traces (an Idempotency-Key's replay) disclosed:
    their case, the serials read and every candidate item, as the first answer's entry named
    them, so that the trail's filters by serial and case find the replay too."""
    if stored:
        for_case(stored[0].case_reference, stored[0].purpose)
    serials(trace.serial_number for trace in stored)
    traces_answered(
        [trace.id for trace in stored],
        [item_id for trace in stored for item_id in trace.candidate_item_ids],
    )


def traces_answered(trace_ids: Sequence[UUID], disclosed_item_ids: Sequence[UUID]) -> None:
    """What traces disclosed: the traces stored, and every candidate item they named."""
    looked_up_ids(trace_ids)
    looked_up_ids(disclosed_item_ids)
    returned(len(disclosed_item_ids))


def returned(count: int) -> None:
    draft = current()
    if draft is not None:
        draft.records_returned = count


def for_case(case_reference: str | None, purpose: str | None) -> None:
    """The case reference and purpose stated in a body (traces), over the headers."""
    draft = current()
    if draft is not None:
        draft.case_reference = case_reference or draft.case_reference
        draft.purpose = purpose or draft.purpose


def serials(as_typed: Iterable[str]) -> None:
    draft = current()
    if draft is not None:
        looked_up_serials(draft, as_typed)


@contextlib.contextmanager
def written_with(status: int) -> Iterator[trail.NewEntry]:
    """The request's entry, for the view to append in the statement that stores its answer
    (the guard then writes none); it counts as written once that statement has run."""
    draft = current()
    if draft is None:
        raise RuntimeError("no audit entry was begun for this request")
    yield draft.entry(status)
    draft.written = True


def write(conn: Connection, draft: Draft, status: int) -> None:
    """Append the entry (inside the request's transaction when it has one)."""
    trail.append(conn, draft.entry(status), draft.tally)
    draft.written = True


def write_refusal(status: int) -> None:
    """Append the entry of a request that failed, after its own work was rolled back. A trail
    that cannot be written now is logged: the caller already gets an error."""
    draft = current()
    if draft is None or draft.written:
        return
    try:
        write(connection(), draft, status)
    except (psycopg.Error, TraceRegistryError) as exc:
        log.error("audit entry %s (%s %s) not written: %s", draft.id, draft.method,
                  draft.path, exc)  # fmt: skip


def _header(name: str) -> str | None:
    # Straight from the WSGI environ: werkzeug's header view costs more than the rest of this.
    value: str | None = request.environ.get(_ENVIRON_KEYS[name])
    if value is None or not value.strip():
        return None
    try:
        kept: str = _STATED[name].deserialize(_as_sent(value))
    except ValidationError as exc:
        errors = list(field_errors(exc.messages, "header", name))
        raise InvalidInput(errors[0].detail, errors) from exc
    return kept


def _as_sent(value: str) -> str:
    """A header's text: the environ holds its bytes as Latin-1 (PEP 3333), and "Café" sent in
    UTF-8 (curl, browsers) was kept as "CafÃ©", which the trail's filter never found. Bytes that
    are not UTF-8 are read as Latin-1 still (Python's http.client sends a header so)."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value
