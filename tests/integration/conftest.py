"""Fixtures that run the service as a process (see tests/live.py)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.conftest import create_database, database_url_for, drop_database, service_url_for
from tests.live import START_SCRIPT, environment, free_port, stop, wait_until_ready
from tests.paths import ROOT


@pytest.fixture
def empty_database_url(postgres_admin_url: str) -> Iterator[str]:
    name = f"trace_registry_startup_{os.getpid()}"
    drop_database(postgres_admin_url, name)
    create_database(postgres_admin_url, name)
    yield database_url_for(postgres_admin_url, name)
    drop_database(postgres_admin_url, name)


# How long the live service waits for a body that stopped arriving (its default is 10 s).
BODY_IDLE_SECONDS = 2


@pytest.fixture
def live_service(empty_database_url: str) -> Iterator[tuple[str, str]]:
    """The start-up script serving an empty database; yields (base URL, database URL)."""
    with serving(empty_database_url) as base_url:
        yield base_url, empty_database_url


@contextlib.contextmanager
def serving(database_url: str, **settings: str) -> Iterator[str]:
    """The start-up script serving the database, with settings of the environment's; yields
    the base URL."""
    port = free_port()
    env = environment(
        DATABASE_URL=service_url_for(database_url),
        DATABASE_OWNER_URL=database_url,
        TRACE_REGISTRY_PORT=str(port),
        WEB_CONCURRENCY="2",
        TRACE_REGISTRY_BODY_IDLE_SECONDS=str(BODY_IDLE_SECONDS),
        **settings,
    )
    process = subprocess.Popen(["/bin/sh", str(START_SCRIPT)], env=env, cwd=ROOT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url, process)
        yield base_url
    finally:
        assert stop(process) == 0
