"""Large request bodies (bulk imports): read once from the socket, in chunks, into a temporary
file that stays in memory up to 1 MiB and spills to disk beyond, hashed on the way so that an
Idempotency-Key can compare requests without holding the body."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, ParamSpec, TypeVar

from flask import g, request
from gunicorn.http.errors import NoMoreData, ParseException
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import NotImplemented as TransferCodingNotImplemented

from service.api.context import settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

P = ParamSpec("P")
R = TypeVar("R")
CHUNK = 1 << 16
IN_MEMORY = 1 << 20


@dataclass(frozen=True)
class Spooled:
    file: IO[bytes]
    sha256: bytes
    size: int


def whole_bodies_only(app: WSGIApplication) -> WSGIApplication:
    """Refuse (400) a body that ends before its Content-Length, rather than take it as whole.

    gunicorn says it terminates the input stream (`wsgi.input_terminated`), so Werkzeug reads
    it as it comes; but when a client goes away mid-body, gunicorn ends the stream early,
    without an error. An import file cut at a line boundary then read as a complete, smaller
    file, and was stored. Without that flag, Werkzeug holds a body with a Content-Length to
    its length and raises ClientDisconnected when it ends short. A chunked body keeps the
    flag: it has no length to hold it to; gunicorn raises its own parse error, inside the app,
    for one cut before its last chunk or malformed, which is then a 400 too (it was a 500)."""

    def guarded(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("HTTP_TRANSFER_ENCODING"):
            environ["wsgi.input"] = _ChunkedBody(
                environ["wsgi.input"], environ["HTTP_TRANSFER_ENCODING"]
            )
        elif environ.get("CONTENT_LENGTH"):
            environ.pop("wsgi.input_terminated", None)
        return app(environ, start_response)

    return guarded


class _ChunkedBody:
    """A chunked body whose parse errors (gunicorn's, met while the app reads) are a 400, and
    whose other transfer codings are a 501: gunicorn takes `gzip, chunked` and hands on the
    bytes still compressed, which would be read as the body."""

    def __init__(self, stream: IO[bytes], codings: str) -> None:
        self._stream = stream
        self._codings = codings

    def read(self, size: int = -1) -> bytes:
        with self._decoded():
            return self._stream.read(size)

    def readline(self, size: int = -1) -> bytes:
        with self._decoded():
            return self._stream.readline(size)

    @contextmanager
    def _decoded(self) -> Iterator[None]:
        if self._codings.replace(" ", "").lower() != "chunked":
            raise TransferCodingNotImplemented(
                f"the transfer coding {self._codings!r} is not undone here: send the body "
                "with `Transfer-Encoding: chunked` alone, or with a Content-Length"
            )
        try:
            yield
        except (ParseException, NoMoreData) as exc:
            raise BadRequest(
                f"the chunked body is malformed or was cut short ({type(exc).__name__}): "
                "nothing was stored; send it again whole"
            ) from exc


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
