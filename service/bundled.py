"""Files that live at the root of the repository and ship inside the wheel.

`schema.sql` and `openapi.yaml` are kept at the top of the repository, where people look for
them; the wheel carries copies inside the package (see pyproject.toml, force-include). An editable
install reads the originals.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

_PACKAGED_AS = {"schema.sql": "sql/schema.sql", "openapi.yaml": "openapi.yaml"}


@cache
def bundled_text(name: str) -> str:
    packaged = resources.files("service").joinpath(_PACKAGED_AS[name])
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parent.parent / name).read_text(encoding="utf-8")
