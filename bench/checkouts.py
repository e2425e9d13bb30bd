"""The code as it stands and another commit of it, side by side, for benchmarks that compare the
two in turns (`--against REF`): on a machine whose speed drifts by a third within the hour, only
runs taken in turns, minutes apart, compare.

The other commit is checked out in a temporary git worktree, and its code is run from there: a
child process started in it (`python -m ...`, cwd the worktree, PYTHONPATH too) imports its
`service`, ahead of the one the virtual environment installs. The worktree shares this
checkout's virtual environment and is never set up on its own: `scripts/setup-venv` run in it
would install the package again from the worktree, and every later run would import that one.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.dataset import ROOT

WORKING_TREE = "working tree"


@contextmanager
def checkouts(against: str | None) -> Iterator[list[tuple[str, Path]]]:
    """(WORKING_TREE, ROOT), and (against, its worktree) when another commit is named; the
    worktree is removed at the end."""
    if against is None:
        yield [(WORKING_TREE, ROOT)]
        return
    with tempfile.TemporaryDirectory(prefix="bench-against-") as parent:
        other = Path(parent) / "checkout"
        git = ["git", "-C", str(ROOT)]
        subprocess.run([*git, "worktree", "add", "--detach", str(other), against], check=True)
        try:
            yield [(WORKING_TREE, ROOT), (against, other)]
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(other)], check=False)


def environment(code: Path) -> dict[str, str]:
    """This process's environment, with `code`'s packages first on the path."""
    return {**os.environ, "PYTHONPATH": str(code)}
