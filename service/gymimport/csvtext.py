"""Reading the CSV text the apps write: byte-order mark, CRLF or LF, ``,`` or ``;``, decimal commas.

Every cell problem is a ``BadFile`` naming the row, the column and what was
expected; the parsers turn cells into values with ``number`` and ``moment``.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Iterator

from service.gymimport.model import BadFile

_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")
_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " ", "\u2009": " "})


class Table:
    """A CSV file as a header and rows of cells looked up by column name."""

    def __init__(self, header: list[str], rows: list[tuple[int, list[str]]]):
        self.header = header
        self.rows = rows

    def records(self) -> Iterator[tuple[int, dict[str, str]]]:
        width = len(self.header)
        for number, cells in self.rows:
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                raise BadFile(number, None, f"has {len(cells)} cells; the header has {width}")
            padded = cells + [""] * (width - len(cells))
            yield number, dict(zip(self.header, padded))


def read_table(text: str) -> Table:
    """Split the text into a header and rows; the delimiter is whichever of ``,`` and ``;`` the header uses."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise BadFile(1, None, "the file is empty; expected a CSV export with a header row")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as e:
        raise BadFile(_line_to_row(text), None, f"is not well-formed CSV ({e})") from None
    rows = [(n, [cell.replace("\r\n", "\n") for cell in cells]) for n, cells in enumerate(records, 1)
            if any(cell.strip() for cell in cells)]
    if not rows:
        raise BadFile(1, None, "the file is empty; expected a CSV export with a header row")
    header = [h.strip() for h in rows[0][1]]
    return Table(header, rows[1:])


def _line_to_row(text: str) -> int:
    # csv reports the failing *line*; count the records that parse before it for a row number
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    n = 0
    try:
        for n, _ in enumerate(reader, 1):
            pass
    except csv.Error:
        return n + 1
    return n


def number(row: int, column: str, raw: str) -> float | None:
    """A measurement: empty is ``None``; ``62,5`` reads as 62.5 (a decimal comma)."""
    raw = raw.strip()
    if not raw:
        return None
    if _DECIMAL_COMMA.match(raw):
        raw = raw.replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        raise BadFile(row, column, f"{raw!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadFile(row, column, f"{raw!r} is not a number")
    return value


def moment(row: int, column: str, raw: str, formats: tuple[str, ...], example: str) -> datetime:
    """A local date and time in one of ``formats`` (English month names, 12- or 24-hour clock)."""
    text = " ".join(raw.translate(_SPACES).split()).replace("Sept ", "Sep ")
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise BadFile(row, column, f"{raw!r} is not a date and time like {example!r}")


def unescape(text: str) -> str:
    """Hevy's app export writes a line break inside a field as the two characters ``\\n``."""
    return text.replace("\\r\\n", "\n").replace("\\n", "\n").strip()


def require_columns(header: list[str], needed: tuple[str, ...], what: str) -> None:
    missing = [c for c in needed if c not in header]
    if missing:
        raise BadFile(1, missing[0], f"is missing from the header; expected {what} "
                                     f"(columns {', '.join(needed)})")
