"""A read-only binary stream over byte strings made as they are read (an import file generated
record by record, or read back from the database a chunk at a time): nothing is held whole."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any


class PiecesStream(io.RawIOBase):
    def __init__(self, pieces: Iterable[bytes]) -> None:
        self.pieces = iter(pieces)
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while len(self.pending) < len(buffer):
            piece = next(self.pieces, b"")
            if not piece:
                break
            self.pending += piece
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size
