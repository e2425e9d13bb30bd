"""The named queries in service/sql/*.sql: each file loads, and each name means one query."""

from __future__ import annotations

import importlib
import re
from importlib import resources
from pathlib import Path

import pytest

from service.repository import queries
from tests.paths import ROOT

SQL_DIR = ROOT / "service" / "sql"
# schema.sql is DDL, not named queries; the wheel copies it into service/sql/.
MODULES = sorted(path.stem for path in SQL_DIR.glob("*.sql") if path.stem != "schema")
NAME_LINE = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)
SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|LOCK|ALTER)\b", re.IGNORECASE)


def _names_in_file(module: str) -> list[str]:
    return NAME_LINE.findall((SQL_DIR / f"{module}.sql").read_text(encoding="utf-8"))


def _statement(query: str) -> str:
    """The query without the comment lines that document it."""
    return "\n".join(line for line in query.splitlines() if not line.lstrip().startswith("--"))


def test_the_query_files_are_found() -> None:
    assert {"agencies", "eucs", "events", "items", "parties"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_every_file_loads(module: str) -> None:
    loaded = queries.load(module)
    assert loaded
    assert all(re.fullmatch(r"\w+", name) for name in loaded)


@pytest.mark.parametrize("module", MODULES)
def test_names_are_unique_within_a_file(module: str) -> None:
    # load() returns a dict, so a repeated name would silently replace the first query.
    names = _names_in_file(module)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert duplicates == []
    assert list(queries.load(module)) == names


def test_names_are_unique_across_files() -> None:
    every_name = [name for module in MODULES for name in _names_in_file(module)]
    assert len(every_name) == len(set(every_name))


@pytest.mark.parametrize("module", MODULES)
def test_no_query_is_empty(module: str) -> None:
    for name, query in queries.load(module).items():
        statement = _statement(query)
        assert statement.strip(), name
        assert SQL_START.match(statement), name
        # One statement each: the trailing semicolon is removed and no other one is left.
        assert not query.endswith(";"), name
        assert ";" not in statement, name
        assert "-- name:" not in query, name


@pytest.mark.parametrize("module", MODULES)
def test_the_text_before_the_first_name_holds_no_sql(module: str) -> None:
    text = (SQL_DIR / f"{module}.sql").read_text(encoding="utf-8")
    preamble = NAME_LINE.split(text)[0]
    assert _statement(preamble).strip() == ""


@pytest.mark.parametrize("module", MODULES)
def test_queries_use_named_placeholders_only(module: str) -> None:
    # The repository passes dicts: a positional %s would fail at run time.
    for name, query in queries.load(module).items():
        assert not re.search(r"%s\b", query), name


@pytest.mark.parametrize("module", MODULES)
def test_every_query_the_repository_uses_exists(module: str) -> None:
    repository = importlib.import_module(f"service.repository.{module}")
    source = Path(repository.__file__ or "").read_text(encoding="utf-8")
    used = set(re.findall(r'SQL\["(\w+)"\]', source))
    assert used, f"service/repository/{module}.py names no query"
    assert used <= set(repository.SQL), sorted(used - set(repository.SQL))
    assert queries.load(module) == repository.SQL


def test_an_unknown_module_is_an_error() -> None:
    with pytest.raises(FileNotFoundError):
        queries.load("no_such_module")


# load() on files written for the test -------------------------------------------------------------


@pytest.fixture
def sql_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A service/sql/test_module.sql in a temporary package that load() reads from."""
    (tmp_path / "sql").mkdir()
    real_files = resources.files

    def files(package: str) -> object:
        return tmp_path if package == "service" else real_files(package)

    monkeypatch.setattr(queries.resources, "files", files)
    return tmp_path / "sql" / "test_module.sql"


def test_load_keeps_documenting_comments_and_drops_the_semicolon(sql_file: Path) -> None:
    sql_file.write_text(
        "-- Queries for the test.\n\n"
        "-- name: first\n-- Why this query exists.\nSELECT 1;\n\n"
        "-- name: second\nSELECT 2\nFROM t;\n",
        encoding="utf-8",
    )
    assert queries.load("test_module") == {
        "first": "-- Why this query exists.\nSELECT 1",
        "second": "SELECT 2\nFROM t",
    }


def test_a_file_without_names_is_refused(sql_file: Path) -> None:
    sql_file.write_text("SELECT 1;\n", encoding="utf-8")
    with pytest.raises(ValueError, match="holds no named query"):
        queries.load("test_module")


# Malformed files are refused --------------------------------------------------------------------


def test_load_refuses_a_repeated_name(sql_file: Path) -> None:
    sql_file.write_text("-- name: q\nSELECT 1;\n-- name: q\nSELECT 2;\n", encoding="utf-8")
    with pytest.raises(ValueError):
        queries.load("test_module")


def test_load_refuses_an_empty_query(sql_file: Path) -> None:
    sql_file.write_text("-- name: empty\n\n-- name: full\nSELECT 1;\n", encoding="utf-8")
    with pytest.raises(ValueError):
        queries.load("test_module")


def test_load_refuses_sql_before_the_first_name(sql_file: Path) -> None:
    sql_file.write_text("SELECT 0;\n-- name: q\nSELECT 1;\n", encoding="utf-8")
    with pytest.raises(ValueError):
        queries.load("test_module")


def test_load_refuses_a_malformed_name_line(sql_file: Path) -> None:
    sql_file.write_text("-- name: ok\nSELECT 1;\n-- name: get-item\nSELECT 2;\n", encoding="utf-8")
    with pytest.raises(ValueError):
        queries.load("test_module")
