"""Small helpers shared by the chart modules: labels, weekly means, the NPRS baseline."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

#: Above this many points of one series, a chart draws weekly means instead (a readable picture, a small file).
MAX_POINTS = 600


def stamp(at: datetime) -> str:
    """A moment as a tooltip shows it, in the zone it carries."""
    return at.strftime("%Y-%m-%d %H:%M")


def weekly(points: list[dict], value: str) -> list[dict]:
    """Points (``at`` aware, ``value`` key) as one point per ISO week: the mean at the week's middle."""
    weeks: dict[tuple[int, int], list[dict]] = defaultdict(list)
    week_of: dict = {}  # a day's ISO week, worked out once per day
    for p in points:
        day = p["at"].date()
        key = week_of.get(day)
        if key is None:
            key = week_of[day] = day.isocalendar()[:2]
        weeks[key].append(p)
    out = []
    for (year, week), items in sorted(weeks.items()):
        first = items[0]["at"]
        monday = (first - timedelta(days=first.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        mean = round(sum(p[value] for p in items) / len(items), 2)
        out.append({"id": f"week-{year}-W{week:02d}", "at": monday + timedelta(days=3, hours=12), value: mean,
                    "count": len(items), "week": f"{year}-W{week:02d}"})
    return out


def nprs_baseline(source: Any) -> dict | None:
    """The record's first pain measurement (an NPRS assessment or a check-in), as ``outcomes`` takes it.

    Read month by month from the record's start, so a chart of a late period
    still measures against the first baseline without reading every month.
    """
    from service.fact_reads import months_between
    from service.outcomes import LOOK_BACK, measures

    started = datetime.fromisoformat(source.program.view().started).replace(tzinfo=timezone.utc)
    first = min(started - LOOK_BACK, source.start).astimezone(timezone.utc)
    for month in months_between(first, source.end.astimezone(timezone.utc)):
        log = source.reader.fact_log(month)
        if log is None:
            continue
        facts = sorted(log.facts.values(), key=lambda f: f["key"])
        found = [m for m in measures(facts) if m["instrument"] == "nprs"]
        if found:
            return {"at": found[0]["at"], "score": found[0]["score"]}
    return None
