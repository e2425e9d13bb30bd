"""The compose stack's proxy (deploy/proxy/nginx.conf), run on this machine's nginx in front of
a live service: an import's key is checked before its body is read.

Skipped where nginx is not installed (`../shared/tools/container-check` runs the same
configuration in its container)."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.integration.conftest import serving
from tests.live import create_key, free_port, http_get
from tests.paths import ROOT

NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(path)), None
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed on this machine"),
]

# What the request says it will send: far over the 2 MiB a JSON route takes.
DECLARED_BYTES = 500 * 1024 * 1024
NDJSON_PARTY = b'{"record_type": "party", "ref": "p1", "name": "Arsenal", "kind": "MANUFACTURER", "country": "BE"}\n'  # noqa: E501


# What the proxy and the API share (TRACE_REGISTRY_PROXY_SECRET): the proxy's proof that it
# checked an import's key.
PROXY_SECRET = "proxy-secret-" + "s" * 32


class Proxy:
    def __init__(
        self,
        upstream_port: int,
        bind: str | None = None,
        secret: str = PROXY_SECRET,
        secret_file: Path | None = None,
    ) -> None:
        # Readable by nginx's workers (another user when the tests run as root).
        self.root = Path(tempfile.mkdtemp(prefix="trace-registry-proxy-"))
        self.root.chmod(0o755)
        self.port = free_port()
        etc = self.root / "etc"
        shutil.copytree(ROOT / "deploy" / "proxy", etc)
        for path in etc.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        etc.chmod(0o755)
        for name in ("nginx.conf", "problem.conf", "start.sh"):
            conf = etc / name
            text = conf.read_text().replace("/etc/trace-registry-proxy", str(etc))
            text = text.replace("/tmp/nginx", str(self.root / "nginx"))
            text = text.replace("server api:8000;", f"server 127.0.0.1:{upstream_port};")
            text = text.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
            if bind is not None:  # the address the API sees the proxy at
                text = text.replace(
                    "proxy_request_buffering on;",
                    f"proxy_request_buffering on;\n proxy_bind {bind};",
                )
            conf.write_text(text)
        self.body_temp = self.root / "nginx-client-body"
        # Started as the image starts it: its start script writes the secret where nginx.conf
        # includes it, then runs nginx.
        path = f"{Path(NGINX or 'nginx').parent}{os.pathsep}{os.environ.get('PATH', '')}"
        self.process = subprocess.Popen(
            ["/bin/sh", str(etc / "start.sh")],
            env={**os.environ, "PATH": path, **proxy_secret_environment(secret, secret_file)},
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError("nginx did not listen within 10 s")

    def bodies_kept(self) -> list[Path]:
        """Request bodies nginx has on its disk (it deletes each once its request ends)."""
        return list(self.body_temp.rglob("*")) if self.body_temp.exists() else []

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def upload(
        self,
        key: str | None,
        body: bytes,
        declared: int | None = None,
        method: str = "POST",
        headers: tuple[str, ...] = (),
    ) -> Answer:
        """A request to /v1/imports over a raw socket: the head, then the body a piece at a
        time until an answer comes (or the body is all sent)."""
        head = [
            f"{method} /v1/imports HTTP/1.1",
            "Host: proxy.test",
            "Content-Type: application/x-ndjson",
            f"Content-Length: {declared if declared is not None else len(body)}",
            "Connection: close",
            *headers,
        ]
        if key is not None:
            head.append(f"Authorization: Bearer {key}")
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as connection:
            connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            connection.settimeout(0.05)
            sent, received = 0, b""
            while sent < len(body) and not received:
                piece = body[sent : sent + 65536]
                try:
                    connection.sendall(piece)
                except OSError:  # refused and closed: the answer is waiting
                    break
                sent += len(piece)
                with contextlib.suppress(TimeoutError):
                    received = connection.recv(65536)
            if received:
                # The rest of the body is not coming: say so, or nginx, draining it before it
                # closes (lingering_close), waits lingering_timeout (5 s) for more.
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_WR)
            connection.settimeout(10)
            while chunk := _recv(connection):
                received += chunk
        return Answer(received, sent)


def proxy_secret_environment(secret: str, secret_file: Path | None) -> dict[str, str]:
    if secret_file is not None:
        return {"TRACE_REGISTRY_PROXY_SECRET_FILE": str(secret_file)}
    return {"TRACE_REGISTRY_PROXY_SECRET": secret}


def _recv(connection: socket.socket) -> bytes:
    try:
        return connection.recv(65536)
    except OSError:
        return b""


class Answer:
    def __init__(self, raw: bytes, sent: int) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }
        self.sent = sent

    def problem(self) -> dict[str, object]:
        assert self.headers["content-type"] == "application/problem+json"
        document: dict[str, object] = json.loads(self.body)
        return document


@pytest.fixture
def proxy(live_service: tuple[str, str]) -> Iterator[Proxy]:
    base_url, _ = live_service
    running = Proxy(int(base_url.rsplit(":", 1)[1]))
    yield running
    running.stop()


def test_an_import_without_a_good_key_is_refused_before_its_body_is_read(
    proxy: Proxy, live_service: tuple[str, str]
) -> None:
    _, database_url = live_service
    reader = create_key(database_url, "Border Police", "trace:read")
    body = b"x" * (8 * 1024 * 1024)  # of the 500 MiB it says it sends

    for key, status, code in [
        (None, 401, "unauthenticated"),
        ("tr_not_a_key_at_all_000000000000", 401, "unauthenticated"),
        (reader, 403, "forbidden"),
    ]:
        answer = proxy.upload(key, body, declared=DECLARED_BYTES)

        assert answer.status == status
        assert answer.problem()["code"] == code
        # answered while the body was arriving: little of it was sent, none of it kept
        assert answer.sent < len(body) / 2, answer.sent
        assert proxy.bodies_kept() == []
    assert "bearer" in proxy.upload(None, b"").headers["www-authenticate"].lower()


def test_other_methods_on_the_import_route_take_no_more_than_any_route(
    proxy: Proxy, live_service: tuple[str, str]
) -> None:
    # Only a POST's key is checked first, so only a POST may send a file's worth of body.
    _, database_url = live_service
    writer = create_key(database_url, "National Registry", "registry:write")
    body = b"x" * (4 * 1024 * 1024)
    for method in ("PUT", "PATCH", "DELETE", "GET"):
        answer = proxy.upload("tr_not_a_key_at_all_000000000000", body, DECLARED_BYTES, method)

        assert (answer.status, answer.problem()["code"]) == (413, "body_too_large"), method
        assert answer.sent < len(body) / 2
        assert proxy.bodies_kept() == []
    assert proxy.upload(writer, b"", method="DELETE").status == 405  # the API's answer


def test_the_import_route_answers_problem_documents_as_every_route_does(
    proxy: Proxy, live_service: tuple[str, str]
) -> None:
    _, database_url = live_service
    writer = create_key(database_url, "National Registry", "registry:write")

    over_the_limit = proxy.upload(writer, NDJSON_PARTY, declared=2_000_000_000)
    bad_header = proxy.upload(writer, NDJSON_PARTY, headers=("X-Case-Reference: " + "x" * 101,))

    assert (over_the_limit.status, over_the_limit.problem()["code"]) == (413, "body_too_large")
    # refused by the API's check of the headers: a 400, not "the API is not answering"
    assert (bad_header.status, bad_header.problem()["code"]) == (400, "invalid_input")
    assert "X-Case-Reference" in str(bad_header.problem()["detail"])


def test_an_import_with_a_good_key_is_taken_and_stored(
    proxy: Proxy, live_service: tuple[str, str]
) -> None:
    _, database_url = live_service
    writer = create_key(database_url, "National Registry", "registry:write")
    # over the 128 KiB nginx keeps in memory: the file goes through its disk buffer
    body = NDJSON_PARTY + b"\n" * (512 * 1024)

    answer = proxy.upload(writer, body)

    assert answer.status == 201, answer.body
    assert json.loads(answer.body)["stored"]["party"] == 1
    status, listed = http_get(f"http://127.0.0.1:{proxy.port}/v1/imports", writer)
    assert status == 200
    assert len(json.loads(listed)["items"]) == 1


def test_an_import_over_the_keys_rate_is_429_with_the_apis_retry_after(
    proxy: Proxy, live_service: tuple[str, str]
) -> None:
    base_url, database_url = live_service
    writer = create_key(database_url, "National Registry", "registry:write", rate_limit=1)
    for _ in range(1000):  # the key's burst, spent
        if http_get(f"{base_url}/v1/imports?limit=1", writer)[0] == 429:
            break

    answer = proxy.upload(writer, NDJSON_PARTY)

    assert answer.status == 429
    assert answer.problem()["code"] == "rate_limited"
    assert int(answer.headers["retry-after"]) > 0


def test_the_import_route_while_the_api_does_not_answer_is_503() -> None:
    nobody_listening = free_port()
    proxy = Proxy(nobody_listening)
    try:
        answers = [
            proxy.upload("tr_any_key", NDJSON_PARTY),
            proxy.upload("tr_any_key", b"", method="GET"),
        ]
    finally:
        proxy.stop()

    for answer in answers:
        assert answer.status == 503
        assert answer.problem()["code"] == "service_unavailable"
        assert answer.headers["retry-after"] == "5"


def fetch(
    port: int, path: str, key: str, accept_encoding: str | None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """A GET through the proxy: its status, headers and body as they came (not decompressed)."""
    headers = {"Authorization": f"Bearer {key}"}
    if accept_encoding is not None:
        headers["Accept-Encoding"] = accept_encoding
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def test_answers_are_compressed_for_clients_that_ask_and_only_for_them(
    proxy: Proxy, live_service: tuple[str, str]
) -> None:
    base_url, database_url = live_service
    reader = create_key(database_url, "Border Police", "trace:read")
    path = "/v1/manufacturers"
    status, as_the_api_sent_it = http_get(base_url + path, reader)
    assert status == 200

    status, headers, body = fetch(proxy.port, path, reader, "gzip")
    plain_status, plain_headers, plain_body = fetch(proxy.port, path, reader, None)

    assert (status, headers["Content-Encoding"]) == (200, "gzip")
    assert headers["Content-Type"] == "application/json"
    assert "Accept-Encoding" in headers["Vary"]
    assert gzip.decompress(body) == as_the_api_sent_it
    assert len(body) * 3 < len(as_the_api_sent_it), (len(body), len(as_the_api_sent_it))
    # a client that does not ask gets the API's answer as it was
    assert (plain_status, plain_headers["Content-Encoding"]) == (200, None)
    assert plain_body == as_the_api_sent_it


# The proxy reaches the API from an address of its own; clients reach the proxy from 127.0.0.1
# and, for a second client, 127.0.0.3. The service trusts all of 127.0.0.0/8, as the compose
# stack trusts the private networks, clients' own addresses among them (its proxy sees a
# client through Docker's gateway): only the proxy's overwriting X-Forwarded-For keeps a client
# from naming itself.
PROXY_ADDRESS = "127.0.0.2"
BAD_KEY = "trk_abcdefgh_" + "x" * 43


@pytest.fixture
def proxied(empty_database_url: str) -> Iterator[tuple[Proxy, str]]:
    """The service behind the proxy, trusting its X-Forwarded-For, with a burst of 3 failed
    authentications a client; yields (proxy, database URL)."""
    with serving(
        empty_database_url,
        TRACE_REGISTRY_TRUSTED_PROXIES="127.0.0.0/8",
        TRACE_REGISTRY_PROXY_SECRET=PROXY_SECRET,
        TRACE_REGISTRY_AUTH_FAILURES_PER_MINUTE="1",
        TRACE_REGISTRY_AUTH_FAILURE_BURST="3",
    ) as base_url:
        running = Proxy(int(base_url.rsplit(":", 1)[1]), bind=PROXY_ADDRESS)
        yield running, empty_database_url
        running.stop()


def ask(port: int, source: str, forwarded_for: str | None = None) -> tuple[int, dict[str, Any]]:
    """GET /v1/items with a bad key from `source`; the status and the problem answered."""
    headers = {"Authorization": f"Bearer {BAD_KEY}"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(source, 0)
    )
    try:
        connection.request("GET", "/v1/items", headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def clients_audited(database_url: str) -> list[str]:
    with psycopg.connect(database_url, row_factory=dict_row) as db:
        rows = db.execute("SELECT details->>'client' AS client FROM audit_log ORDER BY id")
        return [row["client"] for row in rows]


def test_behind_the_proxy_failures_are_counted_per_client_not_per_proxy(
    proxied: tuple[Proxy, str],
) -> None:
    proxy, database_url = proxied

    # what a client writes in X-Forwarded-For itself is not believed: nginx appends the
    # address it took the request from, and that is the client
    flood = [ask(proxy.port, "127.0.0.1", forwarded_for=f"203.0.113.{n}")[0] for n in range(4)]
    other_client = ask(proxy.port, "127.0.0.3")[0]
    an_import = proxy.upload(BAD_KEY, NDJSON_PARTY)

    assert flood == [401, 401, 401, 429]
    assert other_client == 401
    # the import route's check before the body is read: the same client, over its rate
    assert an_import.status == 429
    assert an_import.problem()["code"] == "rate_limited"
    assert 50 <= int(an_import.headers["retry-after"]) <= 60
    assert clients_audited(database_url) == ["127.0.0.1"] * 3 + ["127.0.0.3"]


def test_x_forwarded_for_is_not_believed_from_a_client_that_reaches_the_service_directly(
    live_service: tuple[str, str],
) -> None:
    base_url, database_url = live_service  # no proxy trusted, as by default
    port = int(base_url.rsplit(":", 1)[1])

    statuses = [ask(port, "127.0.0.1", forwarded_for=f"203.0.113.{n}")[0] for n in range(2)]

    assert statuses == [401, 401]
    assert clients_audited(database_url) == ["127.0.0.1"] * 2


def seconds_owed(database_url: str, key: str) -> float:
    """How far the key's rate is spent ahead of the clock (one request at 1 a minute: 60 s)."""
    with psycopg.connect(database_url, row_factory=dict_row) as db:
        row = db.execute(
            "SELECT extract(epoch FROM r.allowed_at - clock_timestamp())::float AS owed "
            "FROM rate_limits r JOIN api_keys k ON k.id = r.key_id WHERE k.prefix = %s",
            [key.split("_")[1]],
        ).fetchone()
    assert row is not None
    return float(row["owed"])


def test_an_import_through_the_proxy_counts_once_against_its_key_s_rate(
    proxied: tuple[Proxy, str],
) -> None:
    # The check before the body (GET /v1/imports) was counted, and then the import itself: an
    # import cost its key two requests, and a key with one left was answered 429 only once its
    # whole file had been taken, the check having spent what the import needed.
    proxy, database_url = proxied
    writer = create_key(database_url, "National Registry", "registry:write", rate_limit=1)

    first = proxy.upload(writer, NDJSON_PARTY)
    after_one = seconds_owed(database_url, writer)
    # the header that tells the API so is the proxy's: a client's own is not believed
    second = proxy.upload(writer, NDJSON_PARTY, headers=("X-Import-Key-Checked: counted",))
    after_two = seconds_owed(database_url, writer)

    assert (first.status, second.status) == (201, 201), (first.body, second.body)
    assert 0 < after_one <= 60
    assert 60 < after_two <= 120


def post_import(port: int, source: str, key: str, headers: dict[str, str]) -> int:
    """POST one party to /v1/imports from `source`, straight to `port`; the status."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(source, 0)
    )
    try:
        connection.request(
            "POST",
            "/v1/imports",
            body=NDJSON_PARTY,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/x-ndjson",
                **headers,
            },
        )
        return connection.getresponse().status
    finally:
        connection.close()


def test_an_import_is_counted_unless_the_proxy_proves_it_checked_the_key(
    empty_database_url: str,
) -> None:
    # The proxy's address is no proof: the trusted networks hold other hosts (in compose, the
    # worker and any container on the network). A proxy without the API's secret, or a host on
    # a trusted address sending the header itself, has its import counted like any other.
    with serving(
        empty_database_url,
        TRACE_REGISTRY_TRUSTED_PROXIES="127.0.0.0/8",
        TRACE_REGISTRY_PROXY_SECRET=PROXY_SECRET,
    ) as base_url:
        api_port = int(base_url.rsplit(":", 1)[1])
        writer = create_key(empty_database_url, "National Registry", "registry:write", rate_limit=1)
        impostor = Proxy(api_port, bind=PROXY_ADDRESS, secret="another-secret-" + "x" * 32)
        try:
            through_it = impostor.upload(writer, NDJSON_PARTY)
        finally:
            impostor.stop()
        after_one = seconds_owed(empty_database_url, writer)
        direct = post_import(api_port, PROXY_ADDRESS, writer, {"X-Import-Key-Checked": "counted"})
        after_two = seconds_owed(empty_database_url, writer)

    assert (through_it.status, direct) == (201, 201), through_it.body
    # the proxy's check and its import: two requests; then one more
    assert 60 < after_one <= 120
    assert 120 < after_two <= 180


def test_the_api_makes_the_secret_it_shares_with_the_proxy_on_first_start(
    empty_database_url: str, tmp_path: Path
) -> None:
    # The compose stack: no secret set, the API makes one in a file of the volume it shares with
    # the proxy, which reads it there; the next start keeps it.
    secret_file = tmp_path / "proxy-secret"
    settings = {
        "TRACE_REGISTRY_TRUSTED_PROXIES": "127.0.0.0/8",
        "TRACE_REGISTRY_PROXY_SECRET_FILE": str(secret_file),
    }
    with serving(empty_database_url, **settings) as base_url:
        made = secret_file.read_text()
        proxy = Proxy(int(base_url.rsplit(":", 1)[1]), bind=PROXY_ADDRESS, secret_file=secret_file)
        writer = create_key(empty_database_url, "National Registry", "registry:write", rate_limit=1)
        try:
            answer = proxy.upload(writer, NDJSON_PARTY)
        finally:
            proxy.stop()
    with serving(empty_database_url, **settings):
        kept = secret_file.read_text()

    assert answer.status == 201, answer.body
    assert 0 < seconds_owed(empty_database_url, writer) <= 60  # counted once
    assert len(made.strip()) >= 32 and kept == made
    assert secret_file.stat().st_mode & 0o077 == 0


def test_the_proxy_does_not_start_without_a_secret(tmp_path: Path) -> None:
    # Every import through it would be counted twice: said at start, not found out later.
    script = ROOT / "deploy" / "proxy" / "start.sh"
    for environment in ({}, {"TRACE_REGISTRY_PROXY_SECRET": "short"}):
        variables = {k: v for k, v in os.environ.items() if not k.startswith("TRACE_REGISTRY_")}
        started = subprocess.run(
            ["/bin/sh", str(script)],
            env={**variables, **environment, "TRACE_REGISTRY_PROXY_SECRET_FILE": ""},
            capture_output=True,
            text=True,
            timeout=10,
        )

        assert started.returncode == 1
        assert "TRACE_REGISTRY_PROXY_SECRET" in started.stderr
