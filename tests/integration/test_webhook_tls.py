"""A delivery over HTTPS connects to the address it vetted and still checks the host's name."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from service import delivery
from service.domain import webhooks as signing
from tests.receivers import trickling

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="openssl makes the receiver's certificate"
)


def own_network(port: int) -> signing.Reach:
    """Production's reach with the receivers' network, 127.0.0.0/8, and port, allowed."""
    networks = signing.parse_networks("127.0.0.0/8")
    return signing.Reach(anywhere=False, networks=networks, ports=frozenset({port}))


class Receiver(BaseHTTPRequestHandler):
    hosts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.hosts.append(self.headers["Host"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def contexts(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A receiver's TLS context with a certificate for localhost, and a client context that
    trusts that certificate."""
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(certificate), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certificate, key)
    return server_context, ssl.create_default_context(cafile=str(certificate))


@pytest.fixture
def tls_receiver(
    contexts: tuple[ssl.SSLContext, ssl.SSLContext],
) -> Iterator[tuple[int, ssl.SSLContext]]:
    """An HTTPS receiver on 127.0.0.1, and a client context that trusts it."""
    server_context, trusted = contexts
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    Receiver.hosts = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, trusted
    server.shutdown()
    server.server_close()


def test_https_goes_to_the_vetted_address_under_the_url_s_name(
    tls_receiver: tuple[int, ssl.SSLContext],
) -> None:
    port, trusted = tls_receiver
    send = delivery.sender(own_network(port), timeout=5.0, context=trusted)

    assert send(f"https://localhost:{port}/hook", b"{}", {}) == (204, "")
    assert Receiver.hosts == [f"localhost:{port}"]


def test_the_certificate_is_still_checked_against_the_url_s_host(
    tls_receiver: tuple[int, ssl.SSLContext],
) -> None:
    port, trusted = tls_receiver
    send = delivery.sender(own_network(port), timeout=5.0, context=trusted)

    status, error = send(f"https://127.0.0.1:{port}/hook", b"{}", {})

    assert status is None
    assert error == (
        "the TLS certificate of 127.0.0.1 was not accepted (expired, self-signed, or not issued "
        "for this name)"
    )
    assert Receiver.hosts == []


def test_a_name_that_leads_inside_is_not_connected_to(
    tls_receiver: tuple[int, ssl.SSLContext],
) -> None:
    port, trusted = tls_receiver
    public_only = signing.Reach(anywhere=False, ports=frozenset({port}))
    send = delivery.sender(public_only, timeout=5.0, context=trusted)

    status, error = send(f"https://localhost:{port}/hook", b"{}", {})

    assert (status, error) == (
        None,
        "localhost does not resolve to an address deliveries may reach",
    )
    assert Receiver.hosts == []


@pytest.fixture
def tls_trickler(
    contexts: tuple[ssl.SSLContext, ssl.SSLContext],
) -> Iterator[tuple[int, ssl.SSLContext]]:
    """An HTTPS receiver that answers one byte of a header every 0.2 s, forever."""
    server_context, trusted = contexts
    with trickling(lambda raw: server_context.wrap_socket(raw, server_side=True)) as port:
        yield port, trusted


def test_a_receiver_that_never_finishes_over_tls_is_cut_off(
    tls_trickler: tuple[int, ssl.SSLContext],
) -> None:
    # TLS takes the connected socket over (detached, it can no longer be shut down): the cut
    # must reach the connection all the same.
    port, trusted = tls_trickler
    send = delivery.sender(own_network(port), timeout=1.0, context=trusted)
    answers: list[tuple[int | None, str]] = []
    sending = threading.Thread(
        target=lambda: answers.append(send(f"https://localhost:{port}/hook", b"{}", {})),
        daemon=True,
    )

    sending.start()
    sending.join(timeout=5)  # without the cut, it never ends

    assert answers == [(None, "no complete answer within 1 s")]
