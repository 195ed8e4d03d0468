"""CSV formula-injection defence: the one place that decides how a cell is written to CSV.

A spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return as a formula (``=HYPERLINK(...)``, ``=cmd|...``): customer data that
reached the warehouse from a web form would then run on the marketer's machine. Following
OWASP, such *text* cells get a leading ``'`` so the spreadsheet shows them as text. Numbers
stay numbers (``-12.5`` is written as ``-12.5``), and so does text that is nothing but a
number (``"-12.5"``, ``"+4917012345"``): a spreadsheet reads those as values, never as
formulas. Every CSV Mara writes goes through :func:`neutralise_cell`; machine-to-machine
exports opt out with ``raw=True`` (``--raw-csv`` on the CLI, ``?raw=true`` on the API).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

#: First characters a spreadsheet treats as the start of a formula (OWASP list).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value: Any) -> Any:
    """``value`` as safe to put in a CSV cell: text that a spreadsheet would run gets a ``'``.

    Only ``str`` values change; numbers, dates, booleans and ``None`` come back unchanged.
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_TRIGGERS):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def safe_row(row: Iterable[Any], *, raw: bool = False) -> list[Any]:
    """A row with every cell passed through :func:`neutralise_cell` (unchanged when ``raw``)."""
    return list(row) if raw else [neutralise_cell(v) for v in row]


def write_rows(
    handle: IO[str], header: Sequence[Any], rows: Iterable[Iterable[Any]], *, raw: bool = False
) -> int:
    """Write ``header`` then ``rows`` as CSV to an open text handle; return the rows written."""
    writer = csv.writer(handle)
    writer.writerow(safe_row(header, raw=raw))
    count = 0
    for row in rows:
        writer.writerow(safe_row(row, raw=raw))
        count += 1
    return count


def safe_frame(frame: pd.DataFrame, *, raw: bool = False) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are neutralised for CSV.

    Numeric columns are left as they are, so negative numbers stay numbers.
    """
    if raw:
        return frame
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype) in ("string", "str"):
            out[column] = out[column].map(neutralise_cell)
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def restore_cell(value: str) -> str:
    """Undo :func:`neutralise_cell` for a cell read back from Mara's own CSV (charts)."""
    if len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value
