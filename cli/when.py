"""Reading WHEN arguments: ISO dates and datetimes and a few plain-English forms.

Accepted: ``2026-03-01``, ``2026-03-01T18:30`` (with or without an offset),
``now``, ``today``, ``yesterday``, ``N days ago``, ``N weeks ago``, ``last
week`` and ``last month``. The role decides what a whole day means: for
``--at`` it is a moment that day (now if it is today, noon otherwise), for
``--since`` the start of the day, for ``--until``/``--as-of``/``--known-at`` its end.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

from service.dates import month_back

HELP = "an ISO date or datetime, now, today, yesterday, N days ago, N weeks ago, last week or last month"
_AGO = re.compile(r"^(\d+)\s+(day|days|week|weeks)\s+ago$")


class WhenError(ValueError):
    """The text is not a WHEN this program understands."""


def _relative(text: str, now: datetime) -> datetime | None:
    if text == "now":
        return now
    if text == "today":
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


def _day_bound(d: date, zone: tzinfo, role: str, now: datetime) -> datetime:
    if role == "start":
        return datetime.combine(d, time.min, zone)
    if role == "end":
        return datetime.combine(d, time.max, zone)
    if d == now.date():
        return now
    return datetime.combine(d, time(12, 0), zone)


def parse_when(text: str, zone: tzinfo, now: datetime, role: str = "at") -> datetime:
    """A time-zone-aware moment for ``text``; ``role`` is at, start or end."""
    raw = " ".join(text.strip().lower().split())
    now = now.astimezone(zone)
    moment = _relative(raw, now)
    if moment is not None:
        if role == "at" or raw == "now":
            return moment
        return _day_bound(moment.date(), zone, role, now)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return _day_bound(date.fromisoformat(raw), zone, role, now)
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise WhenError(f"{text!r} is not a date; use {HELP}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)
