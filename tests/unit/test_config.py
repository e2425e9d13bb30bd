"""Settings from the environment: what is read, how it is parsed, what is refused."""

from __future__ import annotations

import importlib
import ipaddress
import os
from pathlib import Path

import pytest
import yaml

from service import config
from service.cli import build_parser
from service.config import DEVELOPMENT_SECRET, ConfigurationError, Settings, default_workers

GOOD_SECRET = "s" * 32


def from_env(**environ: str) -> Settings:
    return Settings.from_environment(environ)


# Reading ------------------------------------------------------------------------------------------


def test_an_empty_environment_gives_the_defaults() -> None:
    assert from_env() == Settings()
    assert Settings().environment == "development"
    assert Settings().secret_key == DEVELOPMENT_SECRET
    assert Settings().database_url == ""


def test_database_url_is_read_without_a_prefix() -> None:
    url = "postgresql://registry@db.example:5432/registry"
    assert from_env(DATABASE_URL=url).database_url == url


def test_a_prefixed_database_url_is_ignored() -> None:
    settings = from_env(TRACE_REGISTRY_DATABASE_URL="postgresql://elsewhere/db")
    assert settings.database_url == ""
    settings = from_env(
        DATABASE_URL="postgresql://here/db", TRACE_REGISTRY_DATABASE_URL="postgresql://there/db"
    )
    assert settings.database_url == "postgresql://here/db"


def test_every_setting_is_read_and_parsed() -> None:
    settings = from_env(
        DATABASE_URL="postgresql://db/registry",
        TRACE_REGISTRY_ENV="production",
        TRACE_REGISTRY_SECRET_KEY=GOOD_SECRET,
        TRACE_REGISTRY_POOL_MIN_SIZE="2",
        TRACE_REGISTRY_POOL_MAX_SIZE="16",
        TRACE_REGISTRY_POOL_TIMEOUT_SECONDS="2.5",
        TRACE_REGISTRY_CONNECT_TIMEOUT_SECONDS="7",
        TRACE_REGISTRY_STATEMENT_TIMEOUT_MS="30000",
        TRACE_REGISTRY_RETRY_AFTER_SECONDS="11",
        TRACE_REGISTRY_MAX_REQUEST_BYTES="2048",
    )
    assert settings == Settings(
        database_url="postgresql://db/registry",
        environment="production",
        secret_key=GOOD_SECRET,
        pool_min_size=2,
        pool_max_size=16,
        pool_timeout_seconds=2.5,
        connect_timeout_seconds=7,
        statement_timeout_ms=30_000,
        retry_after_seconds=11,
        max_request_bytes=2048,
    )
    assert isinstance(settings.pool_max_size, int)
    assert isinstance(settings.pool_timeout_seconds, float)


def test_delivered_deliveries_are_kept_30_days_unless_told() -> None:
    assert Settings().delivery_retention_days == 30
    assert from_env(TRACE_REGISTRY_DELIVERY_RETENTION_DAYS="7").delivery_retention_days == 7


def test_webhook_deliveries_are_given_up_after_72_hours_and_webhooks_suspended_after_120() -> None:
    assert (Settings().webhook_give_up_hours, Settings().webhook_suspend_hours) == (72, 120)
    told = from_env(
        TRACE_REGISTRY_WEBHOOK_GIVE_UP_HOURS="24", TRACE_REGISTRY_WEBHOOK_SUSPEND_HOURS="48"
    )
    assert (told.webhook_give_up_hours, told.webhook_suspend_hours) == (24, 48)


@pytest.mark.parametrize(
    "variable", ["TRACE_REGISTRY_WEBHOOK_GIVE_UP_HOURS", "TRACE_REGISTRY_WEBHOOK_SUSPEND_HOURS"]
)
def test_webhook_give_up_and_suspension_take_at_least_an_hour(variable: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{variable} must be at least 1"):
        from_env(**{variable: "0"})


def test_webhooks_are_not_suspended_before_their_deliveries_would_be_given_up() -> None:
    # A suspension gives up all the webhook's undelivered deliveries at once: sooner than the
    # give-up, it cut short the hours each delivery is tried, and a receiver back in between
    # needed its agency to resume it; nothing said so.
    with pytest.raises(ConfigurationError) as refused:
        from_env(
            TRACE_REGISTRY_WEBHOOK_GIVE_UP_HOURS="72", TRACE_REGISTRY_WEBHOOK_SUSPEND_HOURS="48"
        )
    assert str(refused.value) == (
        "TRACE_REGISTRY_WEBHOOK_SUSPEND_HOURS (48) must be at least "
        "TRACE_REGISTRY_WEBHOOK_GIVE_UP_HOURS (72): a suspension gives up every undelivered "
        "delivery of the webhook, so one sooner than the give-up would cut it short"
    )
    suspended_sooner = r"_SUSPEND_HOURS \(120\) must be at least \S+_GIVE_UP_HOURS \(121\)"
    with pytest.raises(ConfigurationError, match=suspended_sooner):
        Settings().with_overrides({"webhook_give_up_hours": 121})
    same = from_env(
        TRACE_REGISTRY_WEBHOOK_GIVE_UP_HOURS="48", TRACE_REGISTRY_WEBHOOK_SUSPEND_HOURS="48"
    )
    assert (same.webhook_give_up_hours, same.webhook_suspend_hours) == (48, 48)


def test_a_float_setting_accepts_an_integer() -> None:
    settings = from_env(TRACE_REGISTRY_POOL_TIMEOUT_SECONDS="3")
    assert settings.pool_timeout_seconds == 3.0
    assert isinstance(settings.pool_timeout_seconds, float)


def test_unrelated_variables_are_ignored() -> None:
    assert from_env(PATH="/usr/bin", TRACE_REGISTRY_UNKNOWN="x", POOL_MAX_SIZE="99") == Settings()


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TRACE_REGISTRY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", "postgresql://from-os-environ/db")
    monkeypatch.setenv("TRACE_REGISTRY_POOL_MAX_SIZE", "9")
    settings = Settings.from_environment()
    assert settings.database_url == "postgresql://from-os-environ/db"
    assert settings.pool_max_size == 9


# Parsing errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("TRACE_REGISTRY_POOL_MAX_SIZE", "four"),
        ("TRACE_REGISTRY_POOL_MAX_SIZE", "4.0"),
        ("TRACE_REGISTRY_POOL_MAX_SIZE", ""),
        ("TRACE_REGISTRY_POOL_MIN_SIZE", "1e3"),
        ("TRACE_REGISTRY_STATEMENT_TIMEOUT_MS", "10s"),
        ("TRACE_REGISTRY_MAX_REQUEST_BYTES", "1MB"),
        ("TRACE_REGISTRY_RETRY_AFTER_SECONDS", "0x10"),
        ("TRACE_REGISTRY_CONNECT_TIMEOUT_SECONDS", "three"),
        ("TRACE_REGISTRY_POOL_TIMEOUT_SECONDS", "five"),
        ("TRACE_REGISTRY_POOL_TIMEOUT_SECONDS", ""),
    ],
)
def test_values_that_do_not_parse_are_refused(variable: str, raw: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        from_env(**{variable: raw})
    kind = "float" if "POOL_TIMEOUT" in variable else "int"
    assert str(caught.value) == f"{variable}={raw!r} is not a {kind}"


# Checks -------------------------------------------------------------------------------------------


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ConfigurationError, match="TRACE_REGISTRY_SECRET_KEY"):
        from_env(TRACE_REGISTRY_ENV="production")
    with pytest.raises(ConfigurationError, match="in production"):
        from_env(TRACE_REGISTRY_ENV="production", TRACE_REGISTRY_SECRET_KEY=DEVELOPMENT_SECRET)


def test_the_documented_production_switch_is_the_one_read() -> None:
    # The module docstring tells operators which variable turns production mode on.
    assert "TRACE_REGISTRY_ENV=production" in (config.__doc__ or "")
    with pytest.raises(ConfigurationError):
        from_env(TRACE_REGISTRY_ENV="production")


@pytest.mark.parametrize("variable", ["DATABASE_URL", "DATABASE_OWNER_URL"])
@pytest.mark.parametrize(
    "raw",
    [
        "notaurl",
        "postgresql://app:s3cret@[db/registry",
        "postgresql://app:s3cret@db/registry?sslmode",
        "host=db password='s3cret",
    ],
)
def test_a_database_url_that_does_not_parse_is_refused_without_quoting_it(
    variable: str, raw: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        from_env(**{variable: raw})
    assert str(caught.value).startswith(f"{variable} is not a PostgreSQL connection URL")
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    "raw", ["", "postgresql://app:s3cret@db:5432/registry", "dbname=registry host=/tmp"]
)
def test_database_urls_that_parse_are_taken(raw: str) -> None:
    assert from_env(DATABASE_URL=raw, DATABASE_OWNER_URL=raw).database_url == raw


def test_production_accepts_a_secret_of_its_own() -> None:
    settings = from_env(TRACE_REGISTRY_ENV="production", TRACE_REGISTRY_SECRET_KEY="k" * 64)
    assert settings.environment == "production"
    assert settings.secret_key == "k" * 64


def test_development_may_use_the_development_secret() -> None:
    assert from_env(TRACE_REGISTRY_ENV="development").secret_key == DEVELOPMENT_SECRET


@pytest.mark.parametrize("length", [0, 1, 16, 31])
@pytest.mark.parametrize("environment", ["development", "production"])
def test_a_short_secret_is_refused(length: int, environment: str) -> None:
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        from_env(TRACE_REGISTRY_ENV=environment, TRACE_REGISTRY_SECRET_KEY="k" * length)


def test_a_secret_of_exactly_32_characters_is_enough() -> None:
    assert from_env(TRACE_REGISTRY_SECRET_KEY="k" * 32).secret_key == "k" * 32


@pytest.mark.parametrize(("minimum", "maximum"), [("5", "4"), ("2", "1"), ("0", "4"), ("-1", "4")])
def test_pool_sizes_must_satisfy_one_le_min_le_max(minimum: str, maximum: str) -> None:
    with pytest.raises(ConfigurationError, match="pool sizes"):
        from_env(TRACE_REGISTRY_POOL_MIN_SIZE=minimum, TRACE_REGISTRY_POOL_MAX_SIZE=maximum)


@pytest.mark.parametrize(("minimum", "maximum"), [("1", "1"), ("4", "4"), ("1", "50")])
def test_valid_pool_sizes(minimum: str, maximum: str) -> None:
    settings = from_env(TRACE_REGISTRY_POOL_MIN_SIZE=minimum, TRACE_REGISTRY_POOL_MAX_SIZE=maximum)
    assert (settings.pool_min_size, settings.pool_max_size) == (int(minimum), int(maximum))


def test_a_minimum_above_the_default_maximum_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="pool sizes"):
        from_env(TRACE_REGISTRY_POOL_MIN_SIZE="5")


def test_overrides_are_checked_too() -> None:
    base = Settings()
    assert base.with_overrides({"pool_max_size": 8}).pool_max_size == 8
    assert base.pool_max_size == 4  # a copy: the original is untouched
    with pytest.raises(ConfigurationError):
        base.with_overrides({"pool_min_size": 9})
    with pytest.raises(ConfigurationError):
        base.with_overrides({"environment": "production"})
    with pytest.raises(ConfigurationError):
        base.with_overrides({"secret_key": "short"})


# Edge cases once wrong, now pinned ----------------------------------------------------------


@pytest.mark.parametrize("spelling", ["Production", "PRODUCTION", "prod", "production "])
def test_other_spellings_of_production_are_not_silently_development(spelling: str) -> None:
    with pytest.raises(ConfigurationError):
        from_env(TRACE_REGISTRY_ENV=spelling)


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("TRACE_REGISTRY_STATEMENT_TIMEOUT_MS", "-1"),
        ("TRACE_REGISTRY_CONNECT_TIMEOUT_SECONDS", "-1"),
        ("TRACE_REGISTRY_RETRY_AFTER_SECONDS", "-5"),
        ("TRACE_REGISTRY_MAX_REQUEST_BYTES", "-1"),
        ("TRACE_REGISTRY_POOL_TIMEOUT_SECONDS", "-1"),
        ("TRACE_REGISTRY_POOL_TIMEOUT_SECONDS", "nan"),
        ("TRACE_REGISTRY_POOL_TIMEOUT_SECONDS", "inf"),
        ("TRACE_REGISTRY_AUTH_FAILURES_PER_MINUTE", "0"),
        ("TRACE_REGISTRY_AUTH_FAILURE_BURST", "0"),
        ("TRACE_REGISTRY_DELIVERY_RETENTION_DAYS", "0"),
    ],
)
def test_out_of_range_values_are_refused(variable: str, raw: str) -> None:
    with pytest.raises(ConfigurationError):
        from_env(**{variable: raw})


@pytest.mark.parametrize("raw", ["0.5", "26", "nan", "inf"])
@pytest.mark.parametrize(
    "variable", ["TRACE_REGISTRY_BODY_SECONDS", "TRACE_REGISTRY_BATCH_SECONDS"]
)
def test_a_deadline_past_the_worker_timeout_less_its_margin_is_refused(
    variable: str, raw: str
) -> None:
    # gunicorn would kill the worker first, and the client would get a 500 (a batch's 26 s
    # were taken).
    with pytest.raises(ConfigurationError, match=variable):
        from_env(**{variable: raw})


def test_a_body_deadline_is_20_seconds_unless_told_and_may_be_up_to_25_with_the_request_s() -> None:
    assert Settings().body_seconds == 20
    assert from_env(TRACE_REGISTRY_BODY_SECONDS="24").body_seconds == 24
    assert (
        from_env(TRACE_REGISTRY_BODY_SECONDS="25", TRACE_REGISTRY_REQUEST_SECONDS="26").body_seconds
        == 25
    )


def test_a_request_deadline_is_25_seconds_unless_told_within_the_worker_timeout() -> None:
    # Past it a request's statements are cancelled (503); gunicorn's 30 s would answer 500.
    assert Settings().request_seconds == 25
    assert from_env(TRACE_REGISTRY_REQUEST_SECONDS="27").request_seconds == 27
    with pytest.raises(ConfigurationError, match=r"REQUEST_SECONDS \(28\) must be at most 27"):
        from_env(TRACE_REGISTRY_REQUEST_SECONDS="28")


def test_a_request_deadline_is_not_before_a_body_s_or_a_batch_s() -> None:
    with pytest.raises(ConfigurationError, match=r"REQUEST_SECONDS \(15\) must be at least"):
        from_env(TRACE_REGISTRY_REQUEST_SECONDS="15")
    assert (
        from_env(
            TRACE_REGISTRY_REQUEST_SECONDS="15",
            TRACE_REGISTRY_BODY_SECONDS="14",
            TRACE_REGISTRY_BATCH_SECONDS="10",
        ).request_seconds
        == 15
    )


class _Arbiter:
    def __init__(self, timeout: int) -> None:
        self.cfg = type("Cfg", (), {"timeout": timeout})()


def test_gunicorn_refuses_to_start_with_a_timeout_the_body_deadline_would_outlast(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GUNICORN_CMD_ARGS="--timeout 20" overrides the configuration file's 30 s.
    conf = importlib.import_module("service.gunicorn_conf")
    monkeypatch.delenv("TRACE_REGISTRY_BODY_SECONDS", raising=False)
    monkeypatch.delenv("TRACE_REGISTRY_BATCH_SECONDS", raising=False)
    monkeypatch.delenv("TRACE_REGISTRY_REQUEST_SECONDS", raising=False)
    assert conf.timeout == config.WORKER_TIMEOUT_SECONDS
    conf.on_starting(_Arbiter(conf.timeout))

    with pytest.raises(ConfigurationError, match=r"BODY_SECONDS.*worker timeout \(20 s\)"):
        conf.on_starting(_Arbiter(20))
    monkeypatch.setenv("TRACE_REGISTRY_BODY_SECONDS", "10")
    with pytest.raises(ConfigurationError, match=r"BATCH_SECONDS.*worker timeout \(20 s\)"):
        conf.on_starting(_Arbiter(20))
    monkeypatch.setenv("TRACE_REGISTRY_BATCH_SECONDS", "10")
    with pytest.raises(ConfigurationError, match=r"REQUEST_SECONDS.*worker timeout \(20 s\)"):
        conf.on_starting(_Arbiter(20))
    monkeypatch.setenv("TRACE_REGISTRY_REQUEST_SECONDS", "17")
    conf.on_starting(_Arbiter(20))


def test_gunicorn_runs_a_worker_per_core_and_one_more_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    conf = importlib.reload(importlib.import_module("service.gunicorn_conf"))
    assert conf.workers == default_workers() == (os.cpu_count() or 1) + 1
    assert conf.worker_class == "sync"

    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    assert importlib.reload(conf).workers == 7


def test_serve_listens_where_the_environment_says_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The README's TRACE_REGISTRY_HOST and TRACE_REGISTRY_PORT: `serve` overwrote them with its
    # own defaults, so `scripts/run` served on 8000 whatever they said.
    monkeypatch.setenv("TRACE_REGISTRY_HOST", "0.0.0.0")
    monkeypatch.setenv("TRACE_REGISTRY_PORT", "8765")

    from_environment = build_parser().parse_args(["serve"])
    told = build_parser().parse_args(["serve", "--port", "9000"])

    assert (from_environment.host, from_environment.port) == ("0.0.0.0", 8765)
    assert told.port == 9000
    monkeypatch.setenv("TRACE_REGISTRY_PORT", "eighty")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve"])


@pytest.mark.parametrize(
    ("host", "port", "told", "hint"),
    [
        (None, None, None, "http://127.0.0.1:8000"),
        ("0.0.0.0", "8765", None, "http://127.0.0.1:8765"),  # every interface: this machine's
        ("::", "8765", None, "http://127.0.0.1:8765"),
        ("10.20.0.7", "9000", None, "http://10.20.0.7:9000"),
        ("fd00::7", "9000", None, "http://[fd00::7]:9000"),
        ("10.20.0.7", "9000", "https://registry.example.org/", "https://registry.example.org"),
    ],
)
def test_the_demo_names_the_api_where_serve_listens_unless_told(
    monkeypatch: pytest.MonkeyPatch, host: str | None, port: str | None, told: str | None, hint: str
) -> None:
    # `seed --demo` prints curl commands for the service: they named 127.0.0.1:8000 wherever
    # `serve` listened.
    for variable, value in (("TRACE_REGISTRY_HOST", host), ("TRACE_REGISTRY_PORT", port)):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)

    args = build_parser().parse_args(["seed", "--demo", *(["--api-url", told] if told else [])])

    assert args.api_url == hint


def test_trusted_proxies_are_networks_and_none_by_default() -> None:
    assert from_env().trusted_proxy_networks == ()
    trusted = from_env(TRACE_REGISTRY_TRUSTED_PROXIES="10.0.0.0/8, fd00::/8")
    named = [str(network) for network in trusted.trusted_proxy_networks]
    assert named == ["10.0.0.0/8", "fd00::/8"]
    with pytest.raises(ConfigurationError, match="TRACE_REGISTRY_TRUSTED_PROXIES"):
        from_env(TRACE_REGISTRY_TRUSTED_PROXIES="10.0.0.0/8, the-proxy")


def test_the_compose_stack_trusts_its_proxy_on_an_ipv6_network_too() -> None:
    # The proxy reaches the API from the project's network: a private IPv4 address, or a unique
    # local IPv6 one where the operator enables IPv6. Not believed, it would be every client.
    compose = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yml").read_text())
    default = compose["services"]["api"]["environment"]["TRACE_REGISTRY_TRUSTED_PROXIES"]
    networks = Settings.from_environment(
        {"TRACE_REGISTRY_TRUSTED_PROXIES": default.split(":-", 1)[1].rstrip("}")}
    ).trusted_proxy_networks
    for proxy in ("172.18.0.5", "10.1.2.3", "192.168.10.4", "fd4e:9c1a:22::5"):
        assert any(ipaddress.ip_address(proxy) in network for network in networks), proxy
    assert not any(ipaddress.ip_address("203.0.113.9") in network for network in networks)


PROXY_SECRET = "p" * 40


def test_the_proxy_secret_is_none_by_default_and_a_token_of_32_characters_or_more() -> None:
    # Empty: no X-Import-Key-Checked is believed. It goes into the proxy's configuration and a
    # header as it is, so it is a token (what `secrets.token_urlsafe` makes), and long.
    assert from_env().proxy_secret == ""
    assert from_env(TRACE_REGISTRY_PROXY_SECRET=PROXY_SECRET).proxy_secret == PROXY_SECRET
    for bad in ("p" * 31, "p" * 39 + '"', "p" * 39 + " ", "p" * 39 + ";", "counted"):
        with pytest.raises(ConfigurationError, match="TRACE_REGISTRY_PROXY_SECRET"):
            from_env(TRACE_REGISTRY_PROXY_SECRET=bad)


def test_the_compose_stack_commits_no_proxy_secret() -> None:
    # The API and the proxy share a secret generated on first start (or the operator's own),
    # never one written here that every deployment would share.
    text = (Path(__file__).parents[2] / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    for service in ("api", "proxy"):
        environment = compose["services"][service]["environment"]
        assert environment["TRACE_REGISTRY_PROXY_SECRET"] == "${TRACE_REGISTRY_PROXY_SECRET:-}"
        assert environment["TRACE_REGISTRY_PROXY_SECRET_FILE"]
    assert "TRACE_REGISTRY_PROXY_SECRET" not in str(compose["services"]["worker"])
