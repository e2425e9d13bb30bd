"""Large request bodies (bulk imports): read once from the socket, in chunks, into a temporary
file that stays in memory up to 1 MiB and spills to disk beyond, hashed on the way so that an
Idempotency-Key can compare requests without holding the body."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, ParamSpec, TypeVar

from flask import g, request

from service.api.context import settings

P = ParamSpec("P")
R = TypeVar("R")
CHUNK = 1 << 16
IN_MEMORY = 1 << 20


@dataclass(frozen=True)
class Spooled:
    file: IO[bytes]
    sha256: bytes
    size: int


def large_body(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view whose body may be as large as TRACE_REGISTRY_MAX_IMPORT_BYTES."""
    view.large_body = True  # type: ignore[attr-defined]
    return view


def takes_large_body(view: Callable[..., object]) -> bool:
    return bool(getattr(view, "large_body", False))


def spooled() -> Spooled:
    """The request's body, spooled (once per request)."""
    found: Spooled | None = g.get("spooled_body")
    if found is not None:
        return found
    request.max_content_length = settings().max_import_bytes
    digest = hashlib.sha256()
    size = 0
    spool = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115 - closed at teardown
    try:
        while chunk := request.stream.read(CHUNK):
            spool.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    except BaseException:  # over the limit (413), or the client went away: no spool left open
        spool.close()
        raise
    spool.seek(0)
    found = Spooled(spool, digest.digest(), size)
    g.spooled_body = found
    return found


def close() -> None:
    found: Spooled | None = g.pop("spooled_body", None)
    if found is not None:
        found.file.close()
