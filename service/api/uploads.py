"""Large request bodies (bulk imports): read once from the socket, in chunks, into a temporary
file that stays in memory up to 1 MiB and spills to disk beyond, hashed on the way so that an
Idempotency-Key can compare requests without holding the body."""

from __future__ import annotations

import hashlib
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, ParamSpec, TypeVar

from flask import g, request
from gunicorn.http.errors import NoMoreData, ParseException
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import NotImplemented as TransferCodingNotImplemented
from werkzeug.wsgi import get_content_length

from service.api.context import settings
from service.api.requests import UnsupportedMediaType, check_media_type, limit_for_body
from service.api.watchdog import Watch, Watchdog
from service.domain.wording import counted
from service.errors import BodyTooSlow

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


def whole_bodies_only(
    app: WSGIApplication, idle_seconds: float, body_seconds: float
) -> WSGIApplication:
    """Read every request body through _FramedBody: a body cut short or malformed is refused,
    never taken as whole; one that stops arriving for `idle_seconds` is refused too, and so is
    one not read whole within `body_seconds`.

    gunicorn's sync worker reads the body from a blocking socket: a client that sent less than
    its Content-Length and then waited, or that sent it a byte every few seconds, held the
    worker until gunicorn killed it at its timeout (30 s), and got a 500. The socket's timeout
    bounds each read (and each write of the answer), and the watchdog the whole body, well
    within gunicorn's."""
    watchdog = Watchdog(body_seconds)

    def guarded(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        codings = environ.get("HTTP_TRANSFER_ENCODING")
        length = None if codings else get_content_length(environ)
        if not (codings or length):
            return app(environ, start_response)
        client = environ.get("gunicorn.socket")
        watch = None
        if isinstance(client, socket.socket):
            client.settimeout(idle_seconds)
            watch = watchdog.watch(client)
        environ["wsgi.input"] = _FramedBody(
            environ["wsgi.input"], length, codings, idle_seconds, watch
        )
        try:
            return app(environ, start_response)
        finally:
            if watch is not None:
                watch.release()

    return guarded


# A body that ends before its length: a client gone mid-upload.
CUT_SHORT = (
    "the body ended before the length its Content-Length header gave (the upload was cut "
    "short): nothing was stored; send it again whole"
)


class _FramedBody:
    """gunicorn's body stream, refusing what gunicorn would let through as a whole body.

    gunicorn tells Werkzeug it ends the stream itself (`wsgi.input_terminated`), and it does,
    but quietly: a body that stops before its Content-Length (a client gone mid-upload) just
    ends, and an import file cut at a line boundary read as a complete, smaller file and was
    stored. Here it is a 400. A chunked body cut short or malformed makes gunicorn raise its
    own errors inside the app (they were a 500): a 400 too. And gunicorn takes `gzip, chunked`
    and hands on the bytes still compressed, which would be read as the body: a 501."""

    def __init__(
        self,
        stream: IO[bytes],
        length: int | None,
        codings: str | None,
        idle_seconds: float,
        watch: Watch | None,
    ) -> None:
        self._stream = stream
        self._length = length
        self._codings = codings
        self._idle_seconds = idle_seconds
        self._watch = watch
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        with self._framed():
            data = self._stream.read(size)
        return self._counted(data, whole=size is None or size < 0)

    def readline(self, size: int = -1) -> bytes:
        with self._framed():
            data = self._stream.readline(size)
        return self._counted(data, whole=False)

    def _counted(self, data: bytes, *, whole: bool) -> bytes:
        """The data read, unless it shows that the body ended before its length (an empty
        read, or a read of everything that brought less): cut short by the client, or by the
        watchdog."""
        self._read += len(data)
        if whole or not data or self._read == self._length:
            if self._length is not None and self._read < self._length:
                raise self._cut_off() or BadRequest(CUT_SHORT)
            if self._watch is not None:  # read whole: no cut now, whatever the view then does
                self._watch.release()
        return data

    def _cut_off(self) -> BodyTooSlow | None:
        """The refusal of a body that the watchdog cut off, if it did: the read that came
        short or failed was its doing, not the client's."""
        if self._watch is None or not self._watch.cut:
            return None
        # Of a chunked body, the bytes of a chunk not whole yet have come but not been read.
        came = "" if self._length is None else f" ({counted(self._read, 'byte')} of {self._length})"
        return BodyTooSlow(
            f"the body came too slowly: it was not whole after {self._watch.seconds:g} s{came}. "
            "Nothing was stored; send it again whole, faster"
        )

    @contextmanager
    def _framed(self) -> Iterator[None]:
        if self._codings is not None and self._codings.replace(" ", "").lower() != "chunked":
            raise TransferCodingNotImplemented(
                f"the transfer coding {self._codings!r} is not undone here: send the body "
                "with `Transfer-Encoding: chunked` alone, or with a Content-Length"
            )
        try:
            yield
        except (ParseException, NoMoreData) as exc:
            if too_slow := self._cut_off():
                raise too_slow from exc
            raise BadRequest(
                f"the chunked body is malformed or was cut short ({type(exc).__name__}): "
                "nothing was stored; send it again whole"
            ) from exc
        except TimeoutError as exc:
            # the fault of a body not whole in time (_cut_off), told by the same code
            raise BodyTooSlow(
                f"the body stopped arriving: nothing came for {self._idle_seconds:g} s before "
                "its end. Nothing was stored; send it again whole"
            ) from exc


@dataclass(frozen=True, slots=True)
class LargeBody:
    """What a view that takes a large body takes: its media types, and their refusal (415)."""

    accepted: tuple[str, ...]
    refusal: type[UnsupportedMediaType]

    def check(self) -> None:
        """Before anything reads the body: an Idempotency-Key's fingerprint spooled it whole
        (up to TRACE_REGISTRY_MAX_IMPORT_BYTES) before the view refused it with 415, and a
        body its key had been answered for was answered again whatever its Content-Type."""
        check_media_type(self.accepted, self.refusal)


def large_body(
    accepted: tuple[str, ...], refusal: type[UnsupportedMediaType]
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Mark a view whose body may be as large as TRACE_REGISTRY_MAX_IMPORT_BYTES, of the
    `accepted` media types (requires() checks them, LargeBody.check)."""

    def mark(view: Callable[P, R]) -> Callable[P, R]:
        view.large_body = LargeBody(accepted, refusal)  # type: ignore[attr-defined]
        return view

    return mark


def takes_large_body(view: Callable[..., object]) -> LargeBody | None:
    found = getattr(view, "large_body", None)
    return found if isinstance(found, LargeBody) else None


def spooled() -> Spooled:
    """The request's body, spooled (once per request)."""
    found: Spooled | None = g.get("spooled_body")
    if found is not None:
        return found
    request.max_content_length = limit_for_body(settings().max_import_bytes)
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
