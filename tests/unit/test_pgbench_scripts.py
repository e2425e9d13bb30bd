"""The benchmark's pgbench scripts (bench/pgbench/, expanded as bench/run runs them) use no
variable before something defines it: with prepared statements pgbench sends an undefined
variable as NULL, silently, and the script then measures less work than it claims (the whole
trace once ran without its key check that way)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import load
from tests.paths import ROOT

# What bench/run passes with --define: load.run_pgbench's sample_count, and
# bench.main.pgbench_variables.
DEFINED_BY_THE_BENCHMARK = frozenset(
    {"sample_count", "key_prefix", "secret_hash", "answer_trace_id", "answer_read"}
)
TEMPLATES = sorted((ROOT / "bench" / "pgbench").glob("*.sql"))
# `:name`, not the second colon of a `::type` cast nor a slice bound such as `[1:10]`
VARIABLE = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
GSET = re.compile(r"\\gset(?:\s+(\w+))?\s*$")
SET = re.compile(r"^\\set\s+(\w+)\s")


def _top_level_select_list(statement: str) -> str:
    """The select list of the statement's outermost (last top-level) SELECT."""
    depth, start = 0, None
    for match in re.finditer(r"\(|\)|\bSELECT\b|\bFROM\b", statement, re.IGNORECASE):
        token = match[0].upper()
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif depth == 0 and token == "SELECT":
            start = match.end()
        elif depth == 0 and token == "FROM" and start is not None:
            return statement[start : match.start()]
    if start is None:
        raise AssertionError(f"no SELECT to \\gset in:\n{statement}")
    return statement[start:]


def _output_names(statement: str) -> set[str]:
    """The names \\gset gives the columns of the statement's one row."""
    names, depth, item = set(), 0, ""
    for character in _top_level_select_list(statement) + ",":
        depth += {"(": 1, ")": -1}.get(character, 0)
        if character == "," and depth == 0:
            names.add(re.findall(r"\w+", item)[-1])
            item = ""
        else:
            item += character
    return names


def _commands(script: str) -> list[tuple[str, str | None]]:
    """The script's commands in order: (text, None) for SQL ended by `;` and for meta-commands,
    (SQL, prefix) for SQL whose row \\gset keeps under that prefix ('' for none)."""
    commands: list[tuple[str, str | None]] = []
    lines: list[str] = []
    for line in script.splitlines():
        text = line.strip()
        if not text or text.startswith("--"):
            continue
        gset = GSET.search(text)
        if gset:
            lines.append(text[: gset.start()])
            commands.append(("\n".join(lines), gset[1] or ""))
            lines = []
        elif text.startswith("\\") or text.endswith(";"):
            commands.append(("\n".join([*lines, text]), None))
            lines = []
        else:
            lines.append(text)
    assert not "".join(lines).strip(), f"unfinished command: {lines}"
    return commands


def undefined_variables(script: str, defined: frozenset[str]) -> list[str]:
    """Each use of a variable that nothing defined before it, as `name in: command`."""
    known, found = set(defined), []
    for command, gset_prefix in _commands(script):
        found += [
            f":{name} in: {command[:80]}" for name in VARIABLE.findall(command) if name not in known
        ]
        if set_line := SET.match(command):
            known.add(set_line[1])
        if gset_prefix is not None:
            known |= {gset_prefix + name for name in _output_names(command)}
    return found


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_every_variable_is_defined_before_it_is_used(template: Path) -> None:
    assert undefined_variables(load.expand(template), DEFINED_BY_THE_BENCHMARK) == []


def test_the_check_finds_a_variable_nothing_defines() -> None:
    # The whole trace's first version: the key check's %(prefix)s was bound to nothing.
    script = "\\set n random(1, :sample_count)\nSELECT 1 FROM api_keys WHERE prefix = :prefix;\n"
    assert undefined_variables(script, DEFINED_BY_THE_BENCHMARK) == [
        ":prefix in: SELECT 1 FROM api_keys WHERE prefix = :prefix;"
    ]


def test_gset_defines_the_columns_of_its_row_under_its_prefix() -> None:
    script = (
        "SELECT k.id, count(*) AS n, coalesce((array_agg(x))[1:10], '{}') AS ids\n"
        "FROM (SELECT 1, 2 FROM t) AS k \\gset row_\n"
        "SELECT :row_id, :row_n, :row_ids, :id;\n"
    )
    assert undefined_variables(script, frozenset()) == [
        ":id in: SELECT :row_id, :row_n, :row_ids, :id;"
    ]
