"""Webhook deliveries: how they are signed, where they may go, and when a failed one is retried.

A receiver checks `X-Trace-Registry-Signature: t=<unix seconds>,v1=<hex>` by computing
HMAC-SHA256 with its secret over `<t>.<body>` and comparing in constant time; `t` lets it refuse
old replays. `X-Trace-Registry-Delivery` carries the delivery's id, the same on every retry, so
that a receiver can drop duplicates (delivery is at least once); the body's `delivery_id` is the
same id, under the signature (a header alone is not: a captured delivery sent again within
the receiver's window with another id in the header would not be dropped).
"""

from __future__ import annotations

import encodings.idna
import hashlib
import hmac
import ipaddress
import re
import secrets
import socket
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from uuid import UUID

import orjson

from service.errors import TooManyWebhooks

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# IPv6 prefixes that carry an IPv4 address, which decides where a connection really goes.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# IPv6 ranges a delivery never connects to, whatever `is_global` says in the Python at hand (it
# changed between patch releases): IPv4-compatible addresses (::127.0.0.1), SIIT's
# IPv4-translated ones, site-local ones, and NAT64 prefixes for local use (RFC 8215).
_NEVER = tuple(
    ipaddress.IPv6Network(network)
    for network in ("::/96", "::ffff:0:0:0/96", "fec0::/10", "64:ff9b:1::/48")
)
SIGNATURE_HEADER = "X-Trace-Registry-Signature"
DELIVERY_HEADER = "X-Trace-Registry-Delivery"
FIRST_RETRY_SECONDS = 30
LONGEST_WAIT_SECONDS = 6 * 3600
# Up to this share of a retry's wait is taken off at random: webhooks that failed together (a
# network between the registry and many receivers down for a while) are then tried again
# spread over the last fifth of their wait, not all in one round. Off, never added: the back-off
# stays at most LONGEST_WAIT_SECONDS.
RETRY_JITTER = 0.2
# A delivery undeliverable this long is given up, ABANDONED (TRACE_REGISTRY_WEBHOOK_GIVE_UP_HOURS):
# a receiver down from a Friday evening to a Monday morning still gets what it missed, and a
# dead one's backlog stops being tried after three days (as Stripe's retries stop at three).
GIVE_UP_HOURS = 72
# A webhook every attempt to which has failed this long is suspended
# (TRACE_REGISTRY_WEBHOOK_SUSPEND_HOURS): after the give-up, so that a receiver back within
# five days needs nobody to act, and well before a forgotten one has tried for weeks.
SUSPEND_HOURS = 120
# How old a signature the reference check takes (a receiver's window against replays).
SIGNATURE_MAX_AGE_SECONDS = 300
# How long one delivery may take in all, from looking its host up to the answer's head.
DELIVERY_SECONDS = 10.0
# The ports production deliveries may use unless the deployment lists others
# (TRACE_REGISTRY_WEBHOOK_PORTS).
DEFAULT_PORTS = frozenset({443})
_SCHEME_PORTS = {"https": 443, "http": 80}


def check_room(active: int, most: int) -> None:
    """Refuse another webhook to an agency with `most` active already: every notification is a
    delivery to each active webhook, so without a bound one agency could multiply the worker's
    rounds at will."""
    if active >= most:
        raise TooManyWebhooks(
            f"your agency has {active} active webhooks, the most it may have "
            f"(TRACE_REGISTRY_WEBHOOKS_PER_AGENCY is {most}): deactivate one you no longer need "
            "with DELETE /v1/webhooks/{id} (GET /v1/webhooks lists them), then register this one"
        )


def new_secret() -> str:
    """A signing secret, shown once to the agency that registers the webhook."""
    return secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def delivery_body(delivery_id: UUID, notification: object) -> bytes:
    """What a delivery posts: the notification, and the delivery's id, which the signature so
    covers too."""
    document = {"type": "notification", "delivery_id": delivery_id, "notification": notification}
    return orjson.dumps(document, option=orjson.OPT_UTC_Z)


def signature_matches(
    secret: str,
    header: str,
    body: bytes,
    *,
    max_age_seconds: float = SIGNATURE_MAX_AGE_SECONDS,
    now: float | None = None,
) -> bool:
    """The receiver's check (used by the tests, and as the reference for receivers): the
    signature is the secret's over this body and its time, and that time is at most
    `max_age_seconds` from `now` either way (a delivery captured and sent again later is
    refused). Whatever the header holds, the answer is True or False, never an error."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(parts["t"])
        expected = signature(secret, timestamp, body)
    except (KeyError, ValueError):
        return False
    current = int(time.time() if now is None else now)
    if abs(current - timestamp) > max_age_seconds:  # ints: no float overflows on a huge `t`
        return False
    # Bytes: compare_digest raises TypeError on a str with characters outside ASCII.
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", "surrogatepass"))


def retry_in_seconds(attempts: int, draw: float = 0.0) -> int:
    """Exponential back-off after `attempts` failures: 30 s, 1 min, 2 min, ... at most 6 hours,
    less up to RETRY_JITTER of it: `draw` (a random number in [0, 1), 0 for none) says how much
    of that share is taken off."""
    if not 0.0 <= draw < 1.0:
        raise ValueError(f"a draw is in [0, 1), not {draw}")
    wait = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_WAIT_SECONDS)
    return int(wait * (1 - RETRY_JITTER * draw))


def suspension_reason(hours: int, failing_since: datetime, last_error: str) -> str:
    """Why the worker suspended a webhook, in words its agency reads (GET /v1/webhooks):
    `last_error` is one of service.domain.delivery_failures' sentences."""
    since = failing_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"every delivery attempt failed for {hours} hours (since {since}; the last: "
        f"{last_error}): its undelivered deliveries were given up (ABANDONED) and none is made "
        "until your agency resumes it (POST /v1/webhooks/{webhook_id}/resumption)"
    )


@dataclass(frozen=True)
class Reach:
    """Where deliveries may connect. A webhook URL is chosen by any agency with the write
    scope, and the worker posts from inside the deployment: without a limit, a URL naming
    127.0.0.1, a private network or the cloud's metadata address (169.254.169.254) would make
    the worker a way into what only the deployment can reach. So, in production, deliveries
    go to public addresses only, and to the networks the deployment names as its receivers'
    (`TRACE_REGISTRY_WEBHOOK_NETWORKS`); in development, anywhere (receivers on 127.0.0.1).
    And, outside development, only to the ports the deployment lists
    (`TRACE_REGISTRY_WEBHOOK_PORTS`, 443 unless set): a public address's other ports are
    mail, databases, administration consoles, whose answers the worker would otherwise be
    made to provoke; receivers on the deployment's networks are held to the same list."""

    anywhere: bool
    networks: tuple[IPNetwork, ...] = ()
    ports: frozenset[int] = DEFAULT_PORTS

    def refuses_port(self, port: int) -> str | None:
        """Why a delivery may not connect to this port, or None."""
        if self.anywhere or port in self.ports:
            return None
        return f"port {port} is not one deliveries may use: {self.ports_allowed}"

    @property
    def ports_allowed(self) -> str:
        return ", ".join(str(port) for port in sorted(self.ports))

    def refuses(self, address: IPAddress) -> str | None:
        """Why a delivery may not connect to this address, or None."""
        if self.anywhere:
            return None
        # Where the packets go: the IPv4 address inside a mapped, NAT64 or 6to4 IPv6 address.
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            elif address in _NAT64:
                address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            elif address.sixtofour is not None:
                address = address.sixtofour
        if any(address in network for network in self.networks):
            return None
        never = any(address in network for network in _NEVER)
        if address.is_global and not address.is_multicast and not never:
            return None
        return (
            f"{address} is not a public address (loopback, private, link-local or reserved); "
            "deliveries go to public addresses and to TRACE_REGISTRY_WEBHOOK_NETWORKS"
        )


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated networks (`10.20.0.0/16, fd00:12::/32`); ValueError names a bad one."""
    networks = []
    for part in (piece.strip() for piece in text.split(",")):
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError as error:
                raise ValueError(f"{part!r} is not a network ({error})") from error
    return tuple(networks)


def parse_ports(text: str) -> frozenset[int]:
    """Comma-separated ports (`443, 8443`), at least one; ValueError names a bad one."""
    ports = set()
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        if not (part.isascii() and part.isdigit() and 1 <= int(part) <= 65535):
            raise ValueError(f"{part!r} is not a port (a number from 1 to 65535)")
        ports.add(int(part))
    if not ports:
        raise ValueError("lists no port (443, the default, is the port of https)")
    return frozenset(ports)


def port_of(scheme: str, port: int | None) -> int:
    """The port a URL's connection goes to: the one it names, or its scheme's."""
    return port if port is not None else _SCHEME_PORTS[scheme]


def host_problem(host: str, reach: Reach) -> str | None:
    """Why a URL's host can never take deliveries, as far as its spelling tells: an address
    the reach refuses, or a name of this machine. Other names are checked where they lead, at
    each delivery (DNS may change between registration and delivery)."""
    if reach.anywhere:
        return None
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return "a webhook URL must not name this machine (localhost)"
    address = address_of(name)
    refused = reach.refuses(address) if address is not None else None
    return f"a webhook URL must reach a public address: {refused}" if refused else None


def address_of(text: str) -> IPAddress | None:
    """The IP address `text` spells (an IPv6 zone, `%eth0`, is not part of it), or None."""
    try:
        return ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None


def url_problem(url: str, allow_http: bool, reach: Reach | None = None) -> str | None:
    """Why a URL cannot take deliveries, or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # an unclosed IPv6 bracket, say, or a host that NFKC makes a path
        return "not a valid URL"
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        return f"a webhook URL must use {' or '.join(schemes)}"
    if any(character.isspace() for character in url):
        return "a webhook URL must not contain spaces"
    # The worker sends the URL on the request line and its host in the Host header, both
    # ASCII: anything else could never be delivered.
    if not (url.isascii() and url.isprintable()):
        return (
            "a webhook URL must be printable ASCII: percent-encode other characters, and "
            "write an international host name in its xn-- form"
        )
    if not host:
        return "a webhook URL needs a host"
    if address_of(host) is None and not _is_host_name(host):
        return "a webhook URL's host must be a host name (letters, digits, hyphens) or an address"
    if parts.username or parts.password:
        return "a webhook URL must not carry credentials"
    bad = _bad_escape(url) or _bad_a_label(host)
    if bad:
        return bad
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "a webhook URL's port must be a number from 1 to 65535"
    if reach is None:
        return None
    problem = host_problem(host, reach)
    effective = port_of(parts.scheme, port)
    if problem is None and reach.refuses_port(effective):
        return (
            f"a webhook URL's port must be one deliveries may use, {reach.ports_allowed} "
            f"(TRACE_REGISTRY_WEBHOOK_PORTS), not {effective}"
        )
    return problem


_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


def _is_host_name(host: str) -> bool:
    """Letters, digits and hyphens in labels of 1 to 63, at most 253 in all, and not an IPv4
    address in another spelling (`127.1`, `2130706433`, `0x7f.1`), which the resolver takes
    as one."""
    labels = host.removesuffix(".").split(".")
    return (
        len(host) <= 253
        and all(_HOST_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
        and not _spells_ipv4(host)
    )


# A percent sign only ever starts an escape of two hex digits (RFC 3986 2.1); any other is a
# URL no receiver's server parses the same way, if at all.
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _bad_escape(url: str) -> str | None:
    found = _BAD_ESCAPE.search(url)
    if found is None:
        return None
    return (
        f"a webhook URL's percent sign must start an escape of two hex digits: "
        f"{url[found.start() : found.start() + 3]!r} is not one (write a % itself as %25)"
    )


def _bad_a_label(host: str) -> str | None:
    """Why a host's `xn--` label is no international name (DNS could never resolve it), or
    None: its punycode must decode, round-trip (Python's IDNA 2003 rules), and name only
    code points that Unicode has assigned (RFC 3490 5: a stored name holds no unassigned one)."""
    for label in host.lower().removesuffix(".").split("."):
        if not label.startswith("xn--"):
            continue
        try:
            decoded = encodings.idna.ToUnicode(label)
        except UnicodeError:
            decoded = ""
        if not decoded or any(unicodedata.category(c) == "Cn" for c in decoded):
            return f"a webhook URL's host label {label!r} is not a valid international (IDNA) name"
    return None


def _spells_ipv4(host: str) -> bool:
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def canonical_url(url: str) -> str:
    """The URL with its scheme in lower case, as stored (a scheme is case-insensitive:
    `HTTPS://` is `https://`)."""
    scheme, colon, rest = url.partition(":")
    return scheme.lower() + colon + rest
