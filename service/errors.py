"""The project's own exceptions. Each one knows the HTTP problem it becomes.

    TraceRegistryError
     ├── InvalidInput            400  bad body, query or path value (one entry per field)
     ├── BodyTooSlow             400  a request body not read whole within its time
     ├── AuthenticationFailed    401  missing, unknown, expired or revoked API key
     ├── PermissionDenied        403  a valid key that may not do this
     ├── NotFound                404  no such record
     ├── Conflict                409
     │    ├── Duplicate              a unique identity already recorded
     │    ├── UnknownReference       a referenced record does not exist
     │    ├── LedgerViolation        an attempt to change recorded history
     │    ├── StateConflict          the request contradicts what is recorded
     │    ├── IdempotencyKeyReused   an Idempotency-Key already sent with another request
     │    ├── TooManyWebhooks        the agency has as many active webhooks as it may
     │    └── ImportsBusy            another import of the agency is being loaded
     ├── BatchTooSlow            413  a batch of traces not answered within its time
     ├── RateLimited             429  the key sent more requests than its rate (with Retry-After)
     │    └── TooManyFailures        the client failed to authenticate more often than its rate
     ├── StorageFull             503  no room on the service's disk (with Retry-After)
     └── DatabaseUnavailable     503  PostgreSQL cannot be reached (with Retry-After)

Nothing here imports Flask or psycopg: the domain and the repository raise these, and
`service.api.problems` turns them into `application/problem+json` responses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with the input. `location` is "body", "query" or "path".

    For the body, `field` is a JSON Pointer without its leading slash ("line_items/0/quantity").
    """

    location: str
    field: str
    detail: str
    # for a record of an import file, its 1-based line
    line: int | None = None


class TraceRegistryError(Exception):
    status = 500
    code = "internal_error"
    title = "Internal error"
    # Whether the refusal is written to the audit trail (service.api.problems).
    audited = True

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        # one entry per field or record at fault, where `detail`, kept to a line, may name a few
        self.errors = errors or []


class InvalidInput(TraceRegistryError):
    status = 400
    code = "invalid_input"
    title = "The request is not valid"

    @classmethod
    def for_field(cls, location: str, field: str, detail: str) -> InvalidInput:
        return cls(detail, [FieldError(location, field, detail)])


class AuthenticationFailed(TraceRegistryError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required"


class PermissionDenied(TraceRegistryError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(TraceRegistryError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(TraceRegistryError):
    status = 409
    code = "conflict"
    title = "Conflict with recorded data"


class Duplicate(Conflict):
    code = "duplicate"
    title = "Already recorded"


class UnknownReference(Conflict):
    code = "unknown_reference"
    title = "A referenced record does not exist"


class LedgerViolation(Conflict):
    code = "append_only"
    title = "Recorded history cannot be changed"


class StateConflict(Conflict):
    code = "state_conflict"
    title = "The request contradicts the record"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was sent with another request"


class TooManyWebhooks(Conflict):
    code = "too_many_webhooks"
    title = "Your agency has as many active webhooks as it may"


class ImportsBusy(Conflict):
    """Another import of the agency is being loaded (one at a time per agency). The API queues
    the file instead, and the worker takes another job: neither answers it."""

    code = "state_conflict"
    title = "Another import of your agency is being loaded"


class BodyTooSlow(TraceRegistryError):
    """A request body not read whole within TRACE_REGISTRY_BODY_SECONDS (a client trickling it
    in), or that stopped arriving for TRACE_REGISTRY_BODY_IDLE_SECONDS before its end: refused,
    nothing stored, rather than cut off with its worker when gunicorn's 30 s run out
    (service.api.watchdog, service.api.uploads)."""

    status = 400
    code = "body_too_slow"
    title = "The body took too long to arrive"


class BatchTooSlow(TraceRegistryError):
    """A batch of traces not answered within its time (TRACE_REGISTRY_BATCH_SECONDS): refused,
    nothing stored, rather than cut off with its worker when gunicorn's 30 s run out."""

    status = 413
    code = "batch_too_slow"
    title = "The batch takes too long to answer at once"


class RateLimited(TraceRegistryError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"
    # It reached no data, and a flood of them must not become a flood of writes.
    audited = False

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class TooManyFailures(RateLimited):
    """A client (an address: service.domain.clients) failed to authenticate more often than
    TRACE_REGISTRY_AUTH_FAILURES_PER_MINUTE allows: answered 429 instead of 401, and counted, not
    written, in the audit trail (service.api.auth)."""


class StorageFull(TraceRegistryError):
    """The service's own disk has no room for what a request spools there (an import file on
    its way in, a batch's answer on its way out): nothing is stored, and it may be sent again."""

    status = 503
    code = "storage_full"
    title = "The service has no room for this request"


class DatabaseUnavailable(TraceRegistryError):
    status = 503
    code = "database_unavailable"
    title = "The registry database is unavailable"
    # A database that is down cannot take the entry.
    audited = False
