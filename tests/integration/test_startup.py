"""The real processes: the start-up script that the container runs (schema, then gunicorn),
schemathesis fuzzing the running service over HTTP, and the `trace-registry` command."""

from __future__ import annotations

import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from uuid import UUID

import orjson
import pytest

from service import embedded
from service.api.headers import SECURITY_HEADERS
from service.api.problems import NOT_A_METHOD, NOT_A_REQUEST_LINE, NOT_AN_HTTP_VERSION
from service.config import Settings
from service.db import connect
from service.schema_setup import SCHEMA_VERSION, installed_version
from tests.integration.conftest import BODY_IDLE_SECONDS, serving
from tests.live import (
    CLI,
    create_key,
    environment,
    free_port,
    http_get,
    running,
    stop,
    wait_until_ready,
)
from tests.paths import ROOT

pytestmark = pytest.mark.slow


def test_the_start_script_applies_the_schema_and_serves(live_service: tuple[str, str]) -> None:
    base_url, database_url = live_service

    assert http_get(f"{base_url}/healthz") == (200, b'{\n  "status": "ok"\n}\n')
    with connect(Settings(database_url=database_url)) as conn:
        assert installed_version(conn) == SCHEMA_VERSION


def test_a_key_from_the_cli_opens_the_api(live_service: tuple[str, str]) -> None:
    base_url, database_url = live_service

    key = create_key(database_url, "Interpol NCB Brussels")

    assert key.startswith("trk_")
    assert http_get(f"{base_url}/v1/items", key)[0] == 200
    assert http_get(f"{base_url}/v1/items", key[:-1] + "x")[0] == 401


def raw_exchange(base_url: str, request: bytes) -> tuple[bytes, bytes]:
    """Send bytes as they are (what an HTTP client library would not), stop sending, and read
    the answer to its end: (status, the rest of the answer)."""
    port = int(base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(request)
        client.shutdown(socket.SHUT_WR)
        answer = b"".join(iter(lambda: client.recv(65536), b""))
    status_line, _, rest = answer.partition(b"\r\n")
    return status_line.split()[1], rest


def post_head(path: str, key: str, media_type: str, framing: str) -> bytes:
    """A POST's request line and headers, its body framed by `framing` (a Content-Length or a
    Transfer-Encoding header, as written)."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: {media_type}\r\n{framing}\r\nConnection: close\r\n\r\n"
    ).encode()


PARTIES = b"".join(
    b'{"record_type": "party", "ref": "CUT-%d", "name": "Cut %d", "kind": "OTHER", '
    b'"country": "BE"}\n' % (n, n)
    for n in range(3)
)


def parties_and_imports(database_url: str) -> dict[str, int]:
    with connect(Settings(database_url=database_url)) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM parties) AS parties,"
            " (SELECT count(*) FROM imports) AS imports"
        ).fetchone()
    return dict(row) if row else {}


PARTY = b'{"name": "Cut", "kind": "OTHER", "country": "BE"}'

# A body sent shorter than its Content-Length says, to an import and to a JSON route.
BODIES_CUT_SHORT = pytest.mark.parametrize(
    ("path", "media_type", "body"),
    [
        ("/v1/imports", "application/x-ndjson", PARTIES),
        ("/v1/parties", "application/json", PARTY),
    ],
    ids=["import", "json"],
)


@BODIES_CUT_SHORT
def test_a_body_that_ends_before_its_content_length_is_refused_and_nothing_is_stored(
    live_service: tuple[str, str], path: str, media_type: str, body: bytes
) -> None:
    # A client that goes away mid-upload: gunicorn ends the body early, without an error. The
    # lines that came were a whole file to the import (three parties stored, 201).
    base_url, database_url = live_service
    key = create_key(database_url, "Flaky Link Registry", "registry:write")
    head = post_head(path, key, media_type, f"Content-Length: {len(body) + 1000}")

    status, rest = raw_exchange(base_url, head + body)

    assert status == b"400", rest
    assert b"Content-Type: application/problem+json" in rest
    assert b"ended before the length its Content-Length header gave" in rest
    assert parties_and_imports(database_url) == {"parties": 0, "imports": 0}


@BODIES_CUT_SHORT
def test_a_body_that_stops_arriving_is_refused_in_time_and_nothing_is_stored(
    live_service: tuple[str, str], path: str, media_type: str, body: bytes
) -> None:
    # A client that sends less than its Content-Length and waits: the sync worker read on
    # until gunicorn killed it at 30 s, and the client got a 500.
    base_url, database_url = live_service
    key = create_key(database_url, "Stalled Link Registry", "registry:write")
    head = post_head(path, key, media_type, f"Content-Length: {len(body) + 1000}")
    port = int(base_url.rsplit(":", 1)[1])
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=25) as client:
        client.sendall(head + body)  # and nothing more, the connection kept open
        answer = b"".join(iter(lambda: client.recv(65536), b""))
    waited = time.monotonic() - started

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"400", answer
    assert b"Content-Type: application/problem+json" in rest
    assert b"the body stopped arriving" in rest
    # the same fault as a body not whole in time, told by the same code (it was bad_request)
    assert orjson.loads(rest.partition(b"\r\n\r\n")[2])["code"] == "body_too_slow"
    assert BODY_IDLE_SECONDS <= waited < BODY_IDLE_SECONDS + 5
    assert parties_and_imports(database_url) == {"parties": 0, "imports": 0}
    assert http_get(f"{base_url}/healthz")[0] == 200


# How long the trickle test's service waits for a whole body (its default is 20 s).
BODY_SECONDS = 3


def trickled_exchange(base_url: str, head: bytes, body: bytes, pace: float) -> tuple[bytes, float]:
    """Send the head, then the body a byte every `pace` seconds (each gap under the idle
    timeout) until an answer comes: (the answer, read to its end; seconds it took)."""
    port = int(base_url.rsplit(":", 1)[1])
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=40) as client:
        client.sendall(head)
        for byte in body:
            client.sendall(bytes([byte]))
            if select.select([client], [], [], pace)[0]:
                break
        answer = b"".join(iter(lambda: client.recv(65536), b""))
    return answer, time.monotonic() - started


@pytest.mark.parametrize(
    ("path", "media_type", "body", "framing"),
    [
        ("/v1/imports", "application/x-ndjson", PARTIES, f"Content-Length: {len(PARTIES)}"),
        (
            "/v1/imports",
            "application/x-ndjson",
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(PARTIES), PARTIES),
            "Transfer-Encoding: chunked",
        ),
        ("/v1/parties", "application/json", PARTY, f"Content-Length: {len(PARTY)}"),
    ],
    ids=["import", "chunked-import", "json"],
)
def test_a_body_trickled_in_is_refused_in_time_and_nothing_is_stored(
    empty_database_url: str, path: str, media_type: str, body: bytes, framing: str
) -> None:
    # A byte a second never trips the idle timeout: the sync worker read on until gunicorn
    # killed it at 30 s, and the client got a 500.
    settings = {"TRACE_REGISTRY_BODY_SECONDS": str(BODY_SECONDS)}
    with serving(empty_database_url, **settings) as base_url:
        key = create_key(empty_database_url, "Trickling Link Registry", "registry:write")
        head = post_head(path, key, media_type, framing)

        answer, waited = trickled_exchange(base_url, head, body, BODY_IDLE_SECONDS / 2)

        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.split()[1] == b"400", answer
        assert b"Content-Type: application/problem+json" in rest
        assert orjson.loads(rest.partition(b"\r\n\r\n")[2])["code"] == "body_too_slow"
        assert BODY_SECONDS <= waited < BODY_SECONDS + 3
        assert parties_and_imports(empty_database_url) == {"parties": 0, "imports": 0}
        # The same body sent whole, at once, is taken.
        status, rest = raw_exchange(base_url, head + body)
        assert status == b"201", rest


@pytest.mark.parametrize(
    ("chunks", "status"),
    [
        (b"%x\r\n%s\r\n0\r\n\r\n" % (len(PARTIES), PARTIES), b"201"),
        (b"%x\r\n%s" % (len(PARTIES), PARTIES), b"400"),  # cut before the chunk's CRLF
        (b"%x\r\n%s" % (len(PARTIES) + 100, PARTIES), b"400"),  # cut inside the chunk
        (b"zz\r\n%s\r\n0\r\n\r\n" % PARTIES, b"400"),  # not a chunk size
    ],
    ids=["whole", "cut", "cut-inside", "malformed"],
)
@pytest.mark.parametrize("codings", ["chunked", "gzip, chunked"])
def test_a_chunked_upload_is_stored_whole_or_refused(
    live_service: tuple[str, str], chunks: bytes, status: bytes, codings: str
) -> None:
    # gunicorn raises its parse errors inside the app, where they were a 500; and it takes
    # `gzip, chunked` without undoing the gzip, so the body was read still compressed.
    base_url, database_url = live_service
    if codings != "chunked":
        status = b"501"
    key = create_key(database_url, "Chunked Link Registry", "registry:write")
    head = post_head("/v1/imports", key, "application/x-ndjson", f"Transfer-Encoding: {codings}")

    answered, rest = raw_exchange(base_url, head + chunks)

    assert answered == status, rest
    assert (b"application/problem+json" in rest) == (status != b"201")
    if status == b"400":
        assert b"the chunked body is malformed or was cut short" in rest
    with connect(Settings(database_url=database_url)) as conn:
        stored = conn.execute("SELECT count(*) AS parties FROM parties").fetchone()
    assert stored == {"parties": 3 if status == b"201" else 0}


@pytest.mark.parametrize(
    ("request_line", "header", "status"),
    [
        (b"GET /v1/items HTTP/1.1", b"Authorization: Bearer " + b"x" * 10_000, b"431"),
        (b"GET /v1/items HTTP/1.1", b"X-Case-Reference: a\x7fb", b"400"),
        (b"GET /v1/items HTTP/1.1", b"Content-Length: -1", b"400"),
        (b"GET /v1/items HTTP/1.1", b"Transfer-Encoding: foo", b"501"),
        (b"GET /v1/items HTTP/1.1 extra", b"Accept: */*", b"400"),
    ],
    ids=["too-large", "control-character", "negative-length", "unknown-coding", "request-line"],
)
def test_what_gunicorn_refuses_itself_is_a_problem_document(
    live_service: tuple[str, str], request_line: bytes, header: bytes, status: bytes
) -> None:
    # gunicorn answers these before the app sees them; it wrote an HTML page, and then a
    # problem document without the headers every answer carries.
    base_url, _ = live_service
    request = request_line + b"\r\nHost: 127.0.0.1\r\n" + header + b"\r\n\r\n"

    answered, rest = raw_exchange(base_url, request)

    head, _, body = rest.partition(b"\r\n\r\n")
    assert answered == status, rest
    assert b"Content-Type: application/problem+json" in head
    lines = head.split(b"\r\n")
    for name, value in SECURITY_HEADERS.items():
        assert f"{name}: {value}".encode() in lines, name
    (request_id,) = [line[len(b"X-Request-Id: ") :] for line in lines if b"X-Request-Id" in line]
    assert UUID(request_id.decode()).version == 7
    document = orjson.loads(body)
    assert document["status"] == int(status) and document["type"].startswith("urn:trace-registry")
    assert document["title"] == HTTPStatus(int(status)).phrase  # gunicorn said "Bad Request"


def test_a_url_with_a_raw_non_ascii_character_is_told_to_percent_encode_it(
    live_service: tuple[str, str],
) -> None:
    # Found in the messages review: gunicorn's detail echoed the line as Latin-1 ("Invalid
    # Request Line 'Invalid HTTP request line: 'GET /v1/traces?case_reference=CafÃ©-7 ...''"),
    # with no word of what to do.
    base_url, _ = live_service
    request = "GET /v1/traces?case_reference=Café-7 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    answered, rest = raw_exchange(base_url, request.encode())

    document = orjson.loads(rest.partition(b"\r\n\r\n")[2])
    assert answered == b"400"
    assert (document["code"], document["detail"]) == ("bad_request", NOT_A_REQUEST_LINE)
    assert "Ã" not in document["detail"]


@pytest.mark.parametrize(
    ("request_line", "detail"),
    [
        (b"G\xc9T /v1/items HTTP/1.1", NOT_A_METHOD),
        (b"get /v1/items HTTP/1.1", NOT_A_METHOD),
        (b"GET /v1/items HTTP/9.9", NOT_AN_HTTP_VERSION),
    ],
    ids=["non-ascii-method", "lower-case-method", "unknown-version"],
)
def test_a_request_line_gunicorn_cannot_read_is_explained_not_echoed(
    live_service: tuple[str, str], request_line: bytes, detail: str
) -> None:
    # gunicorn's detail echoed the method or the version sent, as a Python repr decoded as
    # Latin-1 ("Invalid Method 'Invalid HTTP method: 'G\\xc3\\x89T''"), with no word of what
    # to do.
    base_url, _ = live_service

    answered, rest = raw_exchange(base_url, request_line + b"\r\nHost: 127.0.0.1\r\n\r\n")

    document = orjson.loads(rest.partition(b"\r\n\r\n")[2])
    assert answered == b"400"
    assert (document["code"], document["detail"]) == ("bad_request", detail)


def test_keys_create_reuses_an_existing_agency(live_service: tuple[str, str]) -> None:
    _, database_url = live_service

    first = create_key(database_url, "Customs", "trace:read")
    second = create_key(database_url, "Customs", "registry:write")

    with connect(Settings(database_url=database_url)) as conn:
        rows = conn.execute(
            "SELECT a.name, k.scopes FROM api_keys k JOIN agencies a ON a.id = k.agency_id"
            " ORDER BY k.created_at"
        ).fetchall()
    assert first != second
    assert [(row["name"], row["scopes"]) for row in rows] == [
        ("Customs", ["trace:read"]),
        ("Customs", ["registry:write"]),
    ]


@pytest.fixture
def fuzzed_service(empty_database_url: str) -> Iterator[tuple[str, str]]:
    """live_service, with failed authentications unlimited, as the fuzzer's key's rate is: it
    sends thousands of requests without a key, or with a broken one, on purpose."""
    unlimited = "1000000"
    with serving(
        empty_database_url,
        TRACE_REGISTRY_AUTH_FAILURES_PER_MINUTE=unlimited,
        TRACE_REGISTRY_AUTH_FAILURE_BURST=unlimited,
    ) as base_url:
        yield base_url, empty_database_url


def test_schemathesis_finds_no_server_error_and_no_broken_contract(
    fuzzed_service: tuple[str, str], tmp_path: Path
) -> None:
    """A real OpenAPI fuzzer, over HTTP, against the gunicorn the container runs."""
    base_url, database_url = fuzzed_service
    key = create_key(
        database_url, "Fuzzing Unit", "trace:read", "registry:write", rate_limit=1_000_000
    )

    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "--config-file", str(ROOT / "tests" / "schemathesis.toml"),
            "run", str(ROOT / "openapi.yaml"),
            "--url", base_url,
            "--header", f"Authorization: Bearer {key}",
            "--checks", "all",
            "--max-examples", "40",
            # Regex dialects agree only on ASCII (see SerialText in openapi.yaml); Unicode input
            # is covered by the normaliser's property tests and the API tests.
            "--generation-codec", "ascii",
            "--seed", "20261122",
            "--generation-database", "none",
            "--no-color",
            "--report", "junit", "--report-dir", str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_the_embedded_server_serves_keeps_its_data_and_stops(tmp_path: Path) -> None:
    """`trace-registry serve` with no DATABASE_URL: embedded PostgreSQL in --data-dir."""
    data_dir = tmp_path / "registry"
    port = free_port()
    serve = [*CLI, "serve", "--data-dir", str(data_dir), "--port", str(port), "--workers", "1"]
    base_url = f"http://127.0.0.1:{port}"

    first = subprocess.Popen(serve, env=environment(), cwd=tmp_path)
    try:
        wait_until_ready(base_url, first)
        key = subprocess.run(
            [*CLI, "keys", "create", "--agency", "Embedded", "--data-dir", str(data_dir)],
            env=environment(), capture_output=True, text=True, check=True, cwd=tmp_path,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        party = {"name": "Arsenal 1", "kind": "MANUFACTURER", "country": "BG"}
        request = urllib.request.Request(
            f"{base_url}/v1/parties",
            data=orjson.dumps(party),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            party_id = orjson.loads(response.read())["id"]
    finally:
        assert stop(first, signal.SIGINT) == 0
    assert _postgres_running_in(data_dir) is False

    second = subprocess.Popen(serve, env=environment(), cwd=tmp_path)
    try:
        wait_until_ready(base_url, second)
        status, body = http_get(f"{base_url}/v1/parties/{party_id}", key)
        assert status == 200
        assert orjson.loads(body)["name"] == "Arsenal 1"
    finally:
        assert stop(second) == 0
    assert _postgres_running_in(data_dir) is False


def _postgres_running_in(data_dir: Path) -> bool:
    postmaster = embedded.postmaster_pid(data_dir)
    return postmaster is not None and running(postmaster)
