"""Calendar arithmetic shared by the CLI's WHEN words and the API's date parameters."""

from __future__ import annotations

from datetime import date


def month_back(d: date) -> date:
    """The same day a month earlier, clamped to the end of a shorter month (31 March -> 28 February)."""
    y, m = (d.year - 1, 12) if d.month == 1 else (d.year, d.month - 1)
    for day in (d.day, 30, 29, 28):
        try:
            return date(y, m, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")
