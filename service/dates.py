"""Dates and periods as people give them: one reading shared by the CLI's WHEN arguments and the API.

``read_iso`` tells a day from a moment: every ISO date form (``2026-10-25``,
``20261025``, ``2026-W43-7``, ``2026W437``, ordinal ``2026-298``, ``2026298``) is a whole day, which ``day_bound``
turns into its start (``since``), its end (``until``, ``as_of``, ``known_at``)
or noon (``at``); a datetime is a moment, in the program's time zone when it
carries no offset. ``checked`` holds every moment to one accepted range, and
``check_period`` refuses a ``since`` in the future or after ``until``. Each
problem is a ``DateError`` naming the field, which the CLI makes a usage error
(exit 2) and the API a 400.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

#: The first moment of 1 January 1900 anywhere (UTC+14): no moment before it is accepted.
EARLIEST = datetime(1900, 1, 1, tzinfo=timezone(timedelta(hours=14)))
RANGE = "from 1900-01-01 to 9999-12-30"
_WEEK_ONLY = re.compile(r"\d{4}-?W\d{2}")
#: An ISO ordinal date (year and day of the year), alone or before a time: Python's fromisoformat reads neither.
_ORDINAL = re.compile(r"(\d{4})(-?)(\d{3})(T.*)?")


class DateError(ValueError):
    """A date or period that cannot be used; ``field`` names the argument or parameter."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def month_back(d: date) -> date:
    """The same day a month earlier, clamped to the end of a shorter month (31 March -> 28 February)."""
    y, m = (d.year - 1, 12) if d.month == 1 else (d.year, d.month - 1)
    for day in (d.day, 30, 29, 28):
        try:
            return date(y, m, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def read_iso(text: str) -> date | datetime:
    """A ``date`` for any ISO date form, else a ``datetime`` (naive without an offset); ValueError if neither."""
    text = text.strip().upper()
    if _WEEK_ONLY.fullmatch(text):
        raise ValueError("a week needs its day, e.g. 2026-W43-1")
    ordinal = _ORDINAL.fullmatch(text)
    if ordinal:
        year, dash, day, rest = ordinal.groups()
        if not 1 <= int(day) <= (366 if calendar.isleap(int(year)) else 365):
            raise ValueError(f"day {day} is not a day of {year}")
        d = date(int(year), 1, 1) + timedelta(days=int(day) - 1)
        text = f"{d.year:04d}{dash}{d.month:02d}{dash}{d.day:02d}{rest or ''}"
    try:
        return date.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(text)


def day_bound(d: date, zone: tzinfo, role: str, now: datetime | None = None) -> datetime:
    """The day ``d`` as a moment: its start (``start``), its end (``end``), or for ``at`` now if today, else noon."""
    if role == "start":
        return datetime.combine(d, time.min, zone)
    if role == "end":
        return datetime.combine(d, time.max, zone)
    if now is not None and d == now.astimezone(zone).date():
        return now.astimezone(zone)
    return datetime.combine(d, time(12, 0), zone)


def moment(value: date | datetime, zone: tzinfo, role: str, now: datetime | None = None) -> datetime:
    """A read value (see ``read_iso``) as an aware moment: a day by ``role``, a naive datetime in ``zone``."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return day_bound(value, zone, role, now)


def in_range(value: datetime, zone: tzinfo | None = None) -> bool:
    """Whether ``value`` is a time of the accepted range whose whole day ``zone`` (the program's) can name.

    Reads count the program's days: 9999-12-31T23:59Z is a UTC time but already the year 10000 in Paris,
    and 9999-12-31T04:00 in New York is a time whose day ends past the last UTC one.
    """
    try:
        value.astimezone(UTC)
        if zone is not None:
            datetime.combine(value.astimezone(zone).date(), time.max, zone).astimezone(UTC)
    except (OverflowError, ValueError):
        return False
    return value >= EARLIEST


def out_of_range(field: str, text: str) -> DateError:
    return DateError(field, f"{text!r} is out of range; use a time {RANGE}")


def checked(field: str, text: str, value: datetime, zone: tzinfo | None = None) -> datetime:
    """``value`` if it lies in the accepted range (in ``zone`` too), else a ``DateError`` naming ``text`` and the range."""
    if not in_range(value, zone):
        raise out_of_range(field, text)
    return value


def month_before(until: datetime, zone: tzinfo) -> datetime:
    """The start of the same day a month before ``until`` (a recap's default start), never before the range."""
    day = until.astimezone(zone).date()
    start = datetime.combine(month_back(day), time.min, zone) if day >= date(1, 2, 1) else EARLIEST
    return start if in_range(start) else EARLIEST


def shown(value: datetime) -> str:
    """A period bound as a person typed it: the day alone for a whole-day bound, else to the minute."""
    if value.time() in (time.min, time.max):
        return value.date().isoformat()
    return value.isoformat(timespec="minutes")


def check_period(since: datetime | None, until: datetime | None, now: datetime,
                 names: tuple[str, str] = ("since", "until")) -> None:
    """Refuse a ``since`` in the future and a ``since`` after ``until``, naming both dates."""
    if since is not None and since > now:
        raise DateError(names[0], f"{names[0]} {shown(since)} is in the future "
                                  f"(now is {now.astimezone(since.tzinfo).isoformat(timespec='minutes')})")
    if since is not None and until is not None and since > until:
        raise DateError(names[0], f"{names[0]} {shown(since)} is after {names[1]} {shown(until)}; "
                                  f"give the earlier date as {names[0]}")
