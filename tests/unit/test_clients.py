"""The client of a request, and what its failed authentications are counted against."""

from __future__ import annotations

import pytest

from service.domain.clients import client_address, counters_of, subject_of
from service.domain.webhooks import parse_networks

PROXIES = parse_networks("10.0.0.0/8, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        # not through a trusted proxy: the header is the client's own, and ignored
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        ("203.0.113.7", None, "203.0.113.7"),
        # one proxy: the address it appended, whatever the client wrote before it
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "192.0.2.66, 198.51.100.1", "198.51.100.1"),
        # two proxies of ours: past both
        ("10.0.0.2", "192.0.2.66, 198.51.100.1, 10.0.0.9", "198.51.100.1"),
        # a trusted peer that appended nothing, or nothing readable: the peer
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "", "10.0.0.2"),
        ("10.0.0.2", "198.51.100.1, not-an-address", "10.0.0.2"),
        ("10.0.0.2", "unknown, 10.0.0.9", "10.0.0.9"),
        # IPv6, and an IPv4 client as a dual-stack socket shows it
        ("fd00::1", " 2001:db8::5 ", "2001:db8::5"),
        ("::ffff:203.0.113.7", None, "203.0.113.7"),
        ("::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"),
        # an address with the port the proxy took it from, as some proxies append it (an IPv6
        # one in brackets): the address
        ("10.0.0.2", "192.0.2.66, 198.51.100.1:4711", "198.51.100.1"),
        ("10.0.0.2", "[2001:db8::5]:443", "2001:db8::5"),
        ("10.0.0.2", "[2001:db8::5]", "2001:db8::5"),
        ("10.0.0.2", "198.51.100.1, 10.0.0.9:8080", "198.51.100.1"),
        # what only looks like one is still not an address
        ("10.0.0.2", "198.51.100.1:", "10.0.0.2"),
        ("10.0.0.2", "198.51.100.1:http", "10.0.0.2"),
        ("10.0.0.2", "[2001:db8::5]x", "10.0.0.2"),
        ("10.0.0.2", "[198.51.100.1]", "10.0.0.2"),
        ("10.0.0.2", "2001:db8::5:443", "2001:db8::5:443"),
        # not an address at all (a Unix socket): as it is
        ("", "198.51.100.1", ""),
    ],
)
def test_the_client_is_the_rightmost_address_no_trusted_proxy_holds(
    peer: str, forwarded_for: str | None, client: str
) -> None:
    assert client_address(peer, forwarded_for, PROXIES) == client


def test_nothing_is_trusted_by_default() -> None:
    assert client_address("10.0.0.2", "198.51.100.1", ()) == "10.0.0.2"


def test_an_ipv6_client_is_counted_by_its_64() -> None:
    assert subject_of("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert subject_of("2001:db8:1:2:bbbb::9") == subject_of("2001:db8:1:2:aaaa::1")
    assert subject_of("2001:db8:1:3::1") != subject_of("2001:db8:1:2::1")
    assert subject_of("203.0.113.7") == "203.0.113.7"


def test_each_subject_has_counters_of_its_own_apart_from_keys() -> None:
    first, second = counters_of("203.0.113.7"), counters_of("203.0.113.8")

    assert first == counters_of("203.0.113.7")
    assert len({first.limiter, first.tally, second.limiter, second.tally}) == 4
    # API keys' ids are UUIDv7: a client's row never takes a key's
    assert {first.limiter.version, first.tally.version} == {5}
