"""Named SQL queries, read once from the `.sql` files in `service/sql/`.

Each query in a file starts with a `-- name: <query_name>` line; comment lines right after it
document the query and are kept in the text sent to PostgreSQL. A malformed file fails at import
rather than sending a wrong query later.
"""

from __future__ import annotations

import re
from importlib import resources

_NAME_LINE = re.compile(r"^-- name:(.*)$", re.MULTILINE)
_NAME = re.compile(r"\w+")


def load(module: str) -> dict[str, str]:
    """All queries of `service/sql/<module>.sql`, by name."""
    text = (resources.files("service") / "sql" / f"{module}.sql").read_text(encoding="utf-8")
    return parse(text, f"service/sql/{module}.sql")


def parse(text: str, source: str) -> dict[str, str]:
    """The named queries in the text of a .sql file; ValueError for anything malformed."""
    preamble, *parts = _NAME_LINE.split(text)
    if not parts:
        raise ValueError(f"{source} holds no named query")
    if _sql_lines(preamble):
        raise ValueError(f"{source}: SQL before the first `-- name:` line")
    queries: dict[str, str] = {}
    for raw_name, body in zip(parts[::2], parts[1::2], strict=True):
        name = raw_name.strip()
        if not _NAME.fullmatch(name):
            raise ValueError(f"{source}: {name!r} is not a query name (letters, digits, _)")
        if name in queries:
            raise ValueError(f"{source}: the query {name!r} is defined twice")
        if not _sql_lines(body):
            raise ValueError(f"{source}: the query {name!r} has no SQL")
        queries[name] = body.strip().rstrip(";")
    return queries


def _sql_lines(text: str) -> list[str]:
    return [
        line for line in text.splitlines() if line.strip() and not line.strip().startswith("--")
    ]
