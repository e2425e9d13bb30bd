"""trace-registry: serial-number trace lookup for small arms and light weapons."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask

from service.config import ConfigurationError, Settings

if TYPE_CHECKING:
    from service.db import Connection

log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The WSGI application. `config` overrides settings read from the environment."""
    from service.api import (
        admin,
        alerts,
        eucs,
        events,
        headers,
        health,
        imports,
        items,
        manufacturers,
        methods,
        notifications,
        parties,
        problems,
        traces,
        uploads,
    )
    from service.api.context import Runtime, install
    from service.api.overtime import Overtime
    from service.db import Database

    settings = Settings.from_environment().with_overrides(config or {})
    if not settings.database_url:
        raise ConfigurationError(
            "DATABASE_URL is not set; `trace-registry serve` starts an embedded PostgreSQL for you"
        )
    app = methods.Application(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    database = Database(settings, check=_keys_folded_alike)
    install(app, Runtime(settings, database, Overtime(settings.request_seconds)))
    problems.register(app, settings.retry_after_seconds)
    headers.install(app, settings)
    app.teardown_request(lambda _error: uploads.close())
    bodies_guarded = uploads.whole_bodies_only(
        app.wsgi_app, settings.body_idle_seconds, settings.body_seconds
    )
    app.wsgi_app = bodies_guarded  # type: ignore[method-assign,assignment]
    blueprints = (
        health,
        parties,
        items,
        eucs,
        events,
        traces,
        imports,
        manufacturers,
        notifications,
        alerts,
        admin,
    )
    for module in blueprints:
        app.register_blueprint(module.blueprint)
    database.open()
    log.info("trace-registry ready")
    return app


def _keys_folded_alike(conn: Connection) -> None:
    """Refuse a connection to a registry whose keys were folded under another Unicode version
    than this interpreter's: every lookup of the service folds what it is asked, and would
    silently miss what folds otherwise. Checked as the pool opens each connection (they live
    long): no request pays a statement for it. The pool logs the refusal and tries again later
    (the database may be folded again meanwhile); requests wait for a connection, then are
    answered 503."""
    from service.schema_setup import FoldedUnderAnotherUnicode, require_keys_folded_alike

    try:
        require_keys_folded_alike(conn)
    except BaseException as exc:
        conn.close()  # the pool drops a connection its check refused, but leaves it open
        if isinstance(exc, FoldedUnderAnotherUnicode):
            log.error("trace-registry refuses this database: %s", exc)
        raise
