"""Who sent a request, as far as the service can tell: the client that failed authentications
are counted against (service.api.auth). Pure functions.

X-Forwarded-For is a list that the client writes itself, to which each proxy appends the
address it took the request from. Only what the deployment's own proxies appended can be
believed, so the client is read from the right: the peer, unless it is a trusted proxy; then
the entry that proxy appended, unless that is a trusted proxy too; and so on (nginx's
`real_ip_recursive`; werkzeug's ProxyFix counts hops instead, which trusts whoever reaches the
service directly). Nothing is trusted by default (TRACE_REGISTRY_TRUSTED_PROXIES): a client that
reaches the service directly cannot choose its own address by sending the header.

Failures are counted per subject: an IPv4 address, or an IPv6 address's /64, since a host on an
IPv6 network is commonly given a whole /64 and may take a new address in it for each request.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.webhooks import IPAddress, IPNetwork

# The namespace of the name-based (version 5) ids of a subject's counters: in rate_limits, whose
# API keys' rows have time-ordered (version 7) ids, the two never meet.
_NAMESPACE = uuid.UUID("0a1d7c52-5f0b-4a43-9e8e-2f6f0c1b7a3d")
IPV6_SUBJECT_PREFIX = 64


@dataclass(frozen=True)
class Counters:
    """The rows where a subject's failed authentications are counted."""

    # its rate (GCRA: the time its next failure conforms)
    limiter: uuid.UUID
    # how many of its failures were refused (429) since its last audit entry took the count
    # (refused_authentications)
    tally: uuid.UUID


def client_address(peer: str, forwarded_for: str | None, trusted: Sequence[IPNetwork]) -> str:
    """The client's address: the peer's, or, behind trusted proxies, the rightmost address in
    X-Forwarded-For that is not one of theirs (a malformed entry ends the walk where it is)."""
    address = _address(peer)
    if address is None:
        return peer
    hops = (forwarded_for or "").split(",")
    while hops and any(address in network for network in trusted):
        appended = _address(hops.pop())
        if appended is None:
            break
        address = appended
    return str(address)


def is_trusted(peer: str, trusted: Sequence[IPNetwork]) -> bool:
    """Whether the peer is one of the deployment's proxies (what they add to a request may be
    believed)."""
    address = _address(peer)
    return address is not None and any(address in network for network in trusted)


def subject_of(address: str) -> str:
    """What failures are counted against: the address, or an IPv6 address's /64."""
    parsed = _address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_SUBJECT_PREFIX), strict=False))
    return str(parsed) if parsed is not None else address


def counters_of(subject: str) -> Counters:
    """The ids of the subject's rows in rate_limits."""
    return Counters(
        limiter=uuid.uuid5(_NAMESPACE, f"failed authentications {subject}"),
        tally=uuid.uuid5(_NAMESPACE, f"refused authentications {subject}"),
    )


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(_without_port(text.strip()))
    except ValueError:
        return None
    # An IPv4 client as a dual-stack socket shows it (::ffff:203.0.113.7) is that IPv4 client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _without_port(text: str) -> str:
    """The address of an entry as proxies write it: bare, with the port they took it from
    (`203.0.113.7:4711`), or an IPv6 one in brackets (`[2001:db8::5]:4711`, `[2001:db8::5]`).
    Read as no address, a proxy's every entry ended the walk at the proxy, and all its clients
    were counted as one. A bare IPv6 address has two colons or more: it has no port to take."""
    if text.startswith("["):
        inside, bracket, rest = text[1:].partition("]")
        port_or_none = rest == "" or (rest.startswith(":") and _is_port(rest[1:]))
        # only an IPv6 address is written in brackets: an IPv4 one in them is malformed
        return inside if bracket and port_or_none and ":" in inside else text
    host, colon, port = text.partition(":")
    return host if colon and ":" not in port and _is_port(port) else text


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 5
