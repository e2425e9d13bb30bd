"""Typed settings, read once from the environment (twelve-factor).

Every setting has a default that suits the embedded, single-machine mode. In production mode
(`TRACE_REGISTRY_ENV=production`) the service refuses to start with the development secret, because
that secret signs pagination cursors.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import cached_property
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from service.domain.webhooks import (
    GIVE_UP_HOURS,
    SUSPEND_HOURS,
    IPNetwork,
    Reach,
    parse_networks,
    parse_ports,
)

# Where a variable's name is not TRACE_REGISTRY_<FIELD>.
_VARIABLE_NAMES = {
    "database_url": "DATABASE_URL",
    "database_owner_url": "DATABASE_OWNER_URL",
    "environment": "TRACE_REGISTRY_ENV",
}

ENVIRONMENTS = ("development", "production")
DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105


def default_workers() -> int:
    """gunicorn sync workers when WEB_CONCURRENCY is not set: one per core and one more. A
    trace is CPU work in the worker and in PostgreSQL; on a 2-core machine with everything in
    cache, 3 workers answered 2-8% more exact traces at 32 clients than 5, with a lower p99, and
    as many near-miss and wildcard traces (A/B runs, 2026-12-05, README "Benchmarks"). The one
    more keeps a worker free while another waits on a slow query or a synchronous import."""
    return (os.cpu_count() or 1) + 1


class ConfigurationError(RuntimeError):
    """The environment asks for something the service cannot run with."""


# gunicorn kills a sync worker whose request runs longer (service.gunicorn_conf takes it from
# here), and the client gets a 500: the app's own deadlines must end before it.
WORKER_TIMEOUT_SECONDS = 30
# What a body's deadline leaves the request at least, of the worker's timeout: its refusal (an
# audit entry and a few hundred bytes written) or, for a body that came whole just in time, its
# work and its answer.
AFTER_BODY_SECONDS = 5
# What a request's own deadline leaves of the worker's timeout: the cancellation to reach the
# server (service.api.overtime.CANCEL_SECONDS at most) and the 503 written.
AFTER_OVERTIME_SECONDS = 3
# What a body's or a batch's deadline leaves before the request's own: the refusal, or the
# batch answered just in time stored and committed.
AFTER_OWN_DEADLINE_SECONDS = 1


def check_within_worker_timeout(settings: Settings, worker_timeout: float) -> None:
    """Refuse a deadline of the service's own that the worker's timeout would overtake: a
    body's (TRACE_REGISTRY_BODY_SECONDS), a batch's (TRACE_REGISTRY_BATCH_SECONDS) or a
    request's (TRACE_REGISTRY_REQUEST_SECONDS), each counted from the request's start.
    Checked with the settings, and again by gunicorn at start against the timeout it was
    really given."""
    longest = worker_timeout - AFTER_BODY_SECONDS
    for name in ("body_seconds", "batch_seconds"):
        seconds = getattr(settings, name)
        if not seconds <= longest:
            raise ConfigurationError(
                f"{variable_name(name)} ({seconds:g}) must be at most {longest:g}: gunicorn's "
                f"worker timeout ({worker_timeout:g} s) less {AFTER_BODY_SECONDS} s for the "
                "request's refusal or its work"
            )
        if not seconds + AFTER_OWN_DEADLINE_SECONDS <= settings.request_seconds:
            raise ConfigurationError(
                f"{variable_name('request_seconds')} ({settings.request_seconds:g}) must be at "
                f"least {variable_name(name)} ({seconds:g}) and {AFTER_OWN_DEADLINE_SECONDS} s: "
                "its refusal, or the work that ended just in time, stored before the request's "
                "own deadline"
            )
    request_longest = worker_timeout - AFTER_OVERTIME_SECONDS
    if not settings.request_seconds <= request_longest:
        raise ConfigurationError(
            f"{variable_name('request_seconds')} ({settings.request_seconds:g}) must be at most "
            f"{request_longest:g}: gunicorn's worker timeout ({worker_timeout:g} s) less "
            f"{AFTER_OVERTIME_SECONDS} s for the cancellation and the 503"
        )


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    # The schema owner, for `db init` and the other commands that change the schema; unset: the
    # same role as DATABASE_URL (then the audit trail is guarded by its triggers alone).
    database_owner_url: str = ""
    environment: str = "development"
    secret_key: str = DEVELOPMENT_SECRET
    pool_min_size: int = 1
    pool_max_size: int = 4
    pool_timeout_seconds: float = 5.0
    connect_timeout_seconds: int = 3
    statement_timeout_ms: int = 10_000
    retry_after_seconds: int = 5
    max_request_bytes: int = 1_048_576
    # How long after an export a delivery verification may take before EUC_NOT_VERIFIED.
    euc_verification_days: int = 180
    # Requests a minute per API key (a key may carry its own), and how many may come at once.
    rate_limit_per_minute: int = 6_000
    rate_limit_burst: int = 100
    # Failed authentications (401) a minute per client address, and how many may come at once:
    # past them 429, and no audit entry each (service.api.auth, service.domain.clients).
    auth_failures_per_minute: int = 10
    auth_failure_burst: int = 20
    # Proxies (comma-separated networks) whose X-Forwarded-For names the client; empty: none,
    # the peer is the client whatever the header says.
    trusted_proxies: str = ""
    # What the deployment's proxy sends as X-Import-Key-Checked to say that it counted an
    # import's key already (service.api.auth.counted_by_proxy); empty: the header is never
    # believed. Without it, any host on a trusted proxy's network (in compose, the worker and
    # any other container) could send imports that its key's rate never counted.
    proxy_secret: str = ""
    # Origins allowed to call the API from a browser, comma-separated; empty: no CORS headers.
    cors_origins: str = ""
    # How long the answer to a POST sent with an Idempotency-Key is kept (at least a day).
    idempotency_hours: int = 24
    # The largest import file (streamed to a temporary file, never held in memory), and how many
    # of a rejected file's problems its answer lists (all are counted).
    # 1 GiB: such a file (about 5,500,000 records) is taken and queued in about 11 s on a
    # 2-core machine (181 MB in 1.9 s), well inside gunicorn's 30 s for one request.
    max_import_bytes: int = 1024**3
    import_errors_kept: int = 1_000
    # Larger import files are queued for `trace-registry worker` (202 Accepted); smaller ones are
    # loaded while the client waits, unless it sends `Prefer: respond-async`.
    import_sync_bytes: int = 16 * 1024**2
    # Processes that read a large NDJSON import (`trace-registry import` and `worker`; see
    # service.importing.readers_for): 0, one per core; 1, the importing process alone.
    import_readers: int = 0
    # How long a batch of traces may take: past it, the batch is refused (413, nothing stored)
    # with how far it got. gunicorn ends a request at 30 s, cutting it off without an answer;
    # 1,000 hard readings (near misses of common digit runs) took 26 s on a 2-core machine.
    batch_seconds: float = 20.0
    # How long a request's body may stop arriving before it is refused (400 `body_too_slow`,
    # nothing stored): a client that sends less than its Content-Length and waits held a sync
    # worker until gunicorn killed it at 30 s, and got a 500.
    body_idle_seconds: float = 10.0
    # How long a request's body may take to arrive whole before it is refused (400
    # `body_too_slow`, nothing stored): a client that trickles it in a byte every few seconds
    # never trips the idle timeout, and held a sync worker until gunicorn killed it at 30 s (a
    # 500). It leaves the request at least 10 s of gunicorn's 30 for its work and its answer
    # (a statement may take TRACE_REGISTRY_STATEMENT_TIMEOUT_MS, 10 s); under the buffering
    # proxy the body arrives whole at once and this never counts.
    body_seconds: float = 20.0
    # How long a request's work may take from its start: past it, its statement is cancelled
    # and its connection cut (503, the database took too long, nothing stored;
    # service.api.overtime). Each statement has its own timeout, but several slow ones in a
    # request outlasted gunicorn's 30 s, which answers 500. At least a second past a body's and
    # a batch's own deadlines, which answer first (check_within_worker_timeout).
    request_seconds: float = 25.0
    # Networks that webhook deliveries may reach in production besides public addresses
    # (comma-separated, `10.20.0.0/16`): receivers on the deployment's own network. In
    # development, deliveries go anywhere (service.domain.webhooks.Reach).
    webhook_networks: str = ""
    # Ports (comma-separated) that webhook URLs may name, and deliveries connect to, in
    # production; https's own by default. In development, any port (receivers on 127.0.0.1).
    webhook_ports: str = "443"
    # Webhooks an agency may have active at once: every notification is one delivery per active
    # webhook, so without a bound one agency could multiply the worker's rounds at will.
    webhooks_per_agency: int = 10
    # How long a delivered webhook delivery is kept (its attempts, last status) before
    # `trace-registry worker` deletes it; the notification itself stays, and an undelivered
    # delivery is kept until it is delivered (or its webhook deactivated).
    delivery_retention_days: int = 30
    # How long a webhook delivery may stay undeliverable before the worker gives it up
    # (ABANDONED, never tried again; its notification stays), and how long every attempt to a
    # webhook may fail before the worker suspends it (service.domain.webhooks says why 72, 120).
    webhook_give_up_hours: int = GIVE_UP_HOURS
    webhook_suspend_hours: int = SUSPEND_HOURS

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `DATABASE_URL`, `TRACE_REGISTRY_ENV` and every `TRACE_REGISTRY_<FIELD>` set."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            variable = variable_name(field.name)
            raw = environ.get(variable)
            if raw is not None:
                values[field.name] = _parse(variable, raw, field.type)
        return cls(**values).checked()

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        """A copy with some fields replaced (tests and the CLI use this)."""
        return replace(self, **overrides).checked()

    def checked(self) -> Settings:
        if self.environment not in ENVIRONMENTS:
            choices = ", ".join(ENVIRONMENTS)
            raise ConfigurationError(f"TRACE_REGISTRY_ENV must be one of {choices}")
        if self.environment == "production" and self.secret_key == DEVELOPMENT_SECRET:
            raise ConfigurationError(
                "TRACE_REGISTRY_SECRET_KEY must be set to a secret of your own in production"
            )
        if len(self.secret_key) < 32:
            raise ConfigurationError("TRACE_REGISTRY_SECRET_KEY must be at least 32 characters")
        if self.proxy_secret and not _is_token(self.proxy_secret, 32):
            raise ConfigurationError(
                "TRACE_REGISTRY_PROXY_SECRET must be empty or at least 32 letters, digits, - and _ "
                "(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if not 1 <= self.pool_min_size <= self.pool_max_size:
            raise ConfigurationError("pool sizes must satisfy 1 <= min <= max")
        for name, value, lowest in (
            ("pool_timeout_seconds", self.pool_timeout_seconds, 0.001),
            ("connect_timeout_seconds", self.connect_timeout_seconds, 1),
            ("statement_timeout_ms", self.statement_timeout_ms, 1),
            ("retry_after_seconds", self.retry_after_seconds, 1),
            ("max_request_bytes", self.max_request_bytes, 1024),
            ("euc_verification_days", self.euc_verification_days, 1),
            ("rate_limit_per_minute", self.rate_limit_per_minute, 1),
            ("rate_limit_burst", self.rate_limit_burst, 1),
            ("auth_failures_per_minute", self.auth_failures_per_minute, 1),
            ("auth_failure_burst", self.auth_failure_burst, 1),
            ("idempotency_hours", self.idempotency_hours, 24),
            ("max_import_bytes", self.max_import_bytes, 1024),
            ("import_errors_kept", self.import_errors_kept, 1),
            ("import_sync_bytes", self.import_sync_bytes, 0),
            ("import_readers", self.import_readers, 0),
            ("batch_seconds", self.batch_seconds, 1),
            ("body_idle_seconds", self.body_idle_seconds, 0.1),
            ("body_seconds", self.body_seconds, 1),
            ("request_seconds", self.request_seconds, 1),
            ("webhooks_per_agency", self.webhooks_per_agency, 1),
            ("delivery_retention_days", self.delivery_retention_days, 1),
            ("webhook_give_up_hours", self.webhook_give_up_hours, 1),
            ("webhook_suspend_hours", self.webhook_suspend_hours, 1),
        ):
            # `not value >= lowest` also refuses NaN; infinity would never time out.
            if not value >= lowest or math.isinf(value):
                raise ConfigurationError(f"{variable_name(name)} must be at least {lowest}")
        if self.webhook_suspend_hours < self.webhook_give_up_hours:
            raise ConfigurationError(
                f"{variable_name('webhook_suspend_hours')} ({self.webhook_suspend_hours}) must be"
                f" at least {variable_name('webhook_give_up_hours')}"
                f" ({self.webhook_give_up_hours}): a suspension gives up every undelivered"
                " delivery of the webhook, so one sooner than the give-up would cut it short"
            )
        check_within_worker_timeout(self, WORKER_TIMEOUT_SECONDS)
        for name, networks in (
            ("webhook_networks", self.webhook_networks),
            ("trusted_proxies", self.trusted_proxies),
        ):
            try:
                parse_networks(networks)
            except ValueError as error:
                raise ConfigurationError(f"{variable_name(name)}: {error}") from error
        try:
            parse_ports(self.webhook_ports)
        except ValueError as error:
            raise ConfigurationError(f"{variable_name('webhook_ports')}: {error}") from error
        for name, url in (
            ("database_url", self.database_url),
            ("database_owner_url", self.database_owner_url),
        ):
            # Checked here, not at the first connection, so that a typo is one line naming the
            # variable (libpq's own message may quote the URL, password and all, and came from
            # the CLI as a traceback).
            try:
                conninfo_to_dict(url)
            except psycopg.ProgrammingError as error:
                raise ConfigurationError(
                    f"{variable_name(name)} is not a PostgreSQL connection URL such as "
                    "postgresql://user:password@host:5432/database"
                ) from error
        for origin in self.allowed_origins:
            if origin == "*" or not origin.startswith(("https://", "http://")):
                raise ConfigurationError(
                    "TRACE_REGISTRY_CORS_ORIGINS lists origins such as https://tracing.example.org"
                )
        return self

    @property
    def allowed_origins(self) -> frozenset[str]:
        return frozenset(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

    @property
    def webhook_reach(self) -> Reach:
        """Where webhook deliveries may connect."""
        anywhere = self.environment != "production"
        return Reach(
            anywhere=anywhere,
            networks=parse_networks(self.webhook_networks),
            ports=parse_ports(self.webhook_ports),
        )

    @cached_property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        """Where a request's X-Forwarded-For is believed (service.domain.clients)."""
        return parse_networks(self.trusted_proxies)

    @property
    def owner_url(self) -> str:
        """Where the schema is applied and owned."""
        return self.database_owner_url or self.database_url


def _is_token(text: str, shortest: int) -> bool:
    # Written into the proxy's configuration and a header as it is: no quote, space or `;`.
    return len(text) >= shortest and all(c.isascii() and (c.isalnum() or c in "-_") for c in text)


def variable_name(field_name: str) -> str:
    """The environment variable that sets a field."""
    return _VARIABLE_NAMES.get(field_name, f"TRACE_REGISTRY_{field_name.upper()}")


def _parse(variable: str, raw: str, annotation: object) -> Any:
    kind = {"int": int, "float": float, "str": str}[str(annotation)]
    try:
        return kind(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{variable}={raw!r} is not a {kind.__name__}") from exc
