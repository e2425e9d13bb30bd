"""Where webhook deliveries may connect: public addresses, and the networks a deployment names."""

from __future__ import annotations

import ipaddress

import pytest

from service.config import ConfigurationError, Settings
from service.domain.webhooks import Reach, host_problem, parse_networks, parse_ports, url_problem

PUBLIC_ONLY = Reach(anywhere=False)
OWN_NETWORK = Reach(anywhere=False, networks=parse_networks("10.20.0.0/16, fd00:12::/32"))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # the cloud's metadata service
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped: the packets go to 127.0.0.1
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "ff02::1",
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    ],
)
def test_a_delivery_never_reaches_a_private_or_special_address(address: str) -> None:
    refused = PUBLIC_ONLY.refuses(ipaddress.ip_address(address))

    assert refused is not None and "not a public address" in refused


@pytest.mark.parametrize(
    "address",
    [
        "::7f00:1",  # IPv4-compatible ::127.0.0.1
        "::ffff:0:7f00:1",  # SIIT
        "fec0::1",  # site-local
        "64:ff9b:1::a9fe:a9fe",  # NAT64 for local use
    ],
)
def test_a_delivery_avoids_ipv6_that_embeds_ipv4_or_is_deprecated(address: str) -> None:
    # Python 3.11.7 calls each of these global.
    assert PUBLIC_ONLY.refuses(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "193.0.6.139", "2001:4860:4860::8888", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_a_delivery_reaches_a_public_address(address: str) -> None:
    assert PUBLIC_ONLY.refuses(ipaddress.ip_address(address)) is None


def test_the_named_networks_are_reached_and_only_they() -> None:
    assert OWN_NETWORK.refuses(ipaddress.ip_address("10.20.5.6")) is None
    assert OWN_NETWORK.refuses(ipaddress.ip_address("fd00:12::7")) is None
    assert OWN_NETWORK.refuses(ipaddress.ip_address("10.21.0.1")) is not None
    assert OWN_NETWORK.refuses(ipaddress.ip_address("127.0.0.1")) is not None


def test_development_reaches_anywhere() -> None:
    anywhere = Reach(anywhere=True)

    assert anywhere.refuses(ipaddress.ip_address("127.0.0.1")) is None
    assert host_problem("localhost", anywhere) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/hook",
        "https://LOCALHOST./hook",
        "https://api.localhost:8443/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]:8443/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[fe80::1%25eth0]/hook",
    ],
)
def test_a_url_that_can_only_lead_inside_is_refused_at_registration(url: str) -> None:
    problem = url_problem(url, allow_http=False, reach=PUBLIC_ONLY)

    assert problem is not None and problem.startswith("a webhook URL must")


@pytest.mark.parametrize(
    "url", ["https://receiver.example.org/hook", "https://8.8.8.8/hook", "https://10.20.0.9/hook"]
)
def test_a_public_name_or_address_or_a_named_network_is_registered(url: str) -> None:
    # A name is checked where it leads at each delivery, not here (DNS may change).
    assert url_problem(url, allow_http=False, reach=OWN_NETWORK) is None


def test_the_settings_give_the_reach() -> None:
    production = Settings(
        environment="production", secret_key="k" * 32, webhook_networks="10.20.0.0/16"
    )

    assert production.webhook_reach == Reach(
        anywhere=False, networks=(ipaddress.ip_network("10.20.0.0/16"),)
    )
    assert Settings().webhook_reach.anywhere
    assert Settings.from_environment(
        {"TRACE_REGISTRY_WEBHOOK_NETWORKS": "192.168.7.0/24,fd00::/8"}
    ).webhook_reach.networks == parse_networks("192.168.7.0/24, fd00::/8")


@pytest.mark.parametrize("networks", ["10.20.0.0/33", "intranet", "10.20.0.0/16,,300.1.1.1"])
def test_a_network_that_is_not_one_is_refused_at_start(networks: str) -> None:
    with pytest.raises(ConfigurationError, match="TRACE_REGISTRY_WEBHOOK_NETWORKS"):
        Settings.from_environment({"TRACE_REGISTRY_WEBHOOK_NETWORKS": networks})


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("https://receiver.example.org:8443/hook", 8443),
        ("https://receiver.example.org:25/hook", 25),
        ("https://8.8.8.8:6379/hook", 6379),
        ("http://receiver.example.org/hook", 80),  # were http allowed, its port is 80
    ],
)
def test_outside_development_a_url_must_name_a_listed_port(url: str, port: int) -> None:
    problem = url_problem(url, allow_http=True, reach=PUBLIC_ONLY)

    assert problem == (
        "a webhook URL's port must be one deliveries may use, 443 "
        f"(TRACE_REGISTRY_WEBHOOK_PORTS), not {port}"
    )


def test_the_listed_ports_and_development_s_any_port_are_taken() -> None:
    listed = Reach(anywhere=False, ports=parse_ports("443, 8443"))

    for url in ("https://receiver.example.org/hook", "https://receiver.example.org:443/hook"):
        assert url_problem(url, allow_http=False, reach=PUBLIC_ONLY) is None
    assert (
        url_problem("https://receiver.example.org:8443/h", allow_http=False, reach=listed) is None
    )
    assert (
        url_problem("http://127.0.0.1:5000/h", allow_http=True, reach=Reach(anywhere=True)) is None
    )
    assert listed.refuses_port(8443) is None and listed.refuses_port(80) is not None
    assert Reach(anywhere=True).refuses_port(25) is None


def test_the_settings_give_the_ports() -> None:
    assert Settings(environment="production", secret_key="k" * 32).webhook_reach.ports == {443}
    assert Settings.from_environment(
        {"TRACE_REGISTRY_WEBHOOK_PORTS": "8443, 443,"}
    ).webhook_reach.ports == {443, 8443}


@pytest.mark.parametrize("ports", ["", " , ", "0", "65536", "https", "443;8443", "-1", "٤٤٣"])
def test_a_port_list_that_is_not_one_is_refused_at_start(ports: str) -> None:
    with pytest.raises(ConfigurationError, match="TRACE_REGISTRY_WEBHOOK_PORTS"):
        Settings.from_environment({"TRACE_REGISTRY_WEBHOOK_PORTS": ports})
