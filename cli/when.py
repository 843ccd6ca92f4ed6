"""Reading WHEN arguments: ISO dates and datetimes and a few plain-English forms.

Accepted: any ISO date (``2026-03-01``, ``20260301``, ``2026-W09-7``, ``2026-060``), an ISO
datetime (with or without an offset; without one it is in the program's time
zone), ``now``, ``today``, ``yesterday``, ``N days ago``, ``N weeks ago``,
``last week`` and ``last month``. The role decides what a whole day means: for
``--at`` it is a moment that day (now if it is today, noon otherwise), for
``--since`` the start of the day, for ``--until``/``--as-of``/``--known-at`` its
end. ISO text is read by ``service.dates``, as the API reads its dates.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from service.dates import DateError, checked, day_bound, moment, month_back, out_of_range, read_iso

HELP = "an ISO date or datetime, now, today, yesterday, N days ago, N weeks ago, last week or last month"
_AGO = re.compile(r"^(\d+)\s+(day|days|week|weeks)\s+ago$")


class WhenError(DateError):
    """The text is not a WHEN this program understands, or lies outside the accepted range."""


def _relative(text: str, now: datetime) -> datetime | None:
    if text in ("now", "today"):
        return now
    if text == "yesterday":
        return now - timedelta(days=1)
    if text == "last week":
        return now - timedelta(weeks=1)
    if text == "last month":
        d = month_back(now.date())
        return datetime.combine(d, now.timetz())
    m = _AGO.match(text)
    if m:
        n = int(m.group(1))
        return now - (timedelta(weeks=n) if m.group(2).startswith("week") else timedelta(days=n))
    return None


def parse_when(text: str, zone: tzinfo, now: datetime, role: str = "at", field: str = "WHEN") -> datetime:
    """A time-zone-aware moment for ``text``; ``role`` is at, start or end; ``field`` names it in errors."""
    raw = " ".join(text.strip().lower().split())
    now = now.astimezone(zone)
    try:
        found = _relative(raw, now)
        if found is not None and role != "at" and raw != "now":
            found = day_bound(found.date(), zone, role, now)
        if found is None:
            found = moment(read_iso(text), zone, role, now)
    except OverflowError:
        raise WhenError(field, out_of_range(field, text).message) from None
    except ValueError:
        raise WhenError(field, f"{text!r} is not a date; use {HELP}") from None
    try:
        return checked(field, text, found, zone)
    except DateError as e:
        raise WhenError(field, e.message) from None
