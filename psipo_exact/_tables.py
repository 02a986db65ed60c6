"""Tables of cells read from comparison files, and the error that locates a bad cell.

Used by :mod:`psipo_exact.files` (``psipo-exact solve``): a CSV/TSV or JSON file becomes a
:class:`Table` whose every row knows its line (or JSON item), so each error message names the
file, the line and the column; :class:`Columns` says which column holds what.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class InputError(ValueError):
    """A malformed input file; the message names the file, line and column."""


@dataclass
class Table:
    """Rows of cells with their positions: ``rows[k][j]`` is at ``where(k, j)``."""

    name: str
    rows: list
    positions: list  # (line or item, column) per row
    header: list | None = None
    detected: dict = field(default_factory=dict)

    def where(self, k: int, j: int | None = None) -> str:
        line, kind = self.positions[k]
        column = "" if j is None else f" column {j + 1}"
        if self.header is not None and j is not None:
            column += f" ({self.header[j]})"
        return f"{self.name} {kind} {line}{column}"


@dataclass(frozen=True)
class Columns:
    """Which columns hold what (``None``: absent); ``outcome`` for the arena format."""

    winner: int
    loser: int
    context: int | None = None
    outcome: int | None = None
    weight: int | None = None
    tie: int | None = None
