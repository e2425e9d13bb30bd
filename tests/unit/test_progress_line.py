"""The command line's progress line for an import."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.cli import ProgressLine
from service.importing import FOUND_IMPORTED_BEFORE, Progress


def test_a_finished_import_ends_on_its_last_progress_without_time_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Not on a terminal, a line is printed every few seconds: a small file's only line was the
    # one drawn as it began, "3 rows, 92 rows/s, 0% read, 0 s left", for a file read whole.
    line = ProgressLine(Path("registry.ndjson"), size=300)
    line.show(Progress(lines=0, bytes_read=0))
    line.show(Progress(lines=3, bytes_read=300))

    line.done()

    printed = capsys.readouterr().err.splitlines()
    assert len(printed) == 2
    assert printed[0].endswith("0% read, 0 s left")
    assert printed[-1].startswith("registry.ndjson: 3 rows, ")
    assert printed[-1].endswith(" rows/s, 100% read")


def test_a_file_imported_before_is_not_said_to_end_unread(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Answered from its earlier import, the file is not read: it ended on "0% read".
    line = ProgressLine(Path("registry.ndjson"), size=300)
    found = Progress(lines=3, bytes_read=0)
    found.lap(FOUND_IMPORTED_BEFORE)
    line.show(found)

    line.done()

    assert capsys.readouterr().err.splitlines() == [
        "registry.ndjson: 3 rows, the same file as an earlier import: not read again"
    ]
