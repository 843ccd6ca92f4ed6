"""The 23-hour day (policy ``micro-breaks``): one local date's breaks, sessions, sleep, check-ins and flare.

Waking hours are wall-clock times in the program's time zone (08:00 to 22:00 by
default), so a 23- or 25-hour day at a change of daylight-saving time still has
them; every stretch is measured in real minutes. The longest stretch without a
break is the longest gap within waking hours between their start, each break or
logged session (a session counts as a break) and their end; a break outside
waking hours does not shorten it. It is counted only once the day is over (null
before). ``breaks_target`` is the fewest evenly spaced breaks that keep every
stretch of the waking hours within ``max_gap_min``: ceil(waking minutes /
max_gap_min) - 1, 13 for the defaults. ``met_target`` says whether the longest
stretch stayed within ``max_gap_min`` (null, like the stretch, until the day is over).

Each day is judged under the policy in force at its start. The day's sleep is the
sleep fact whose valid time falls on that date (a night is recorded the morning
after; the latest one when there are several). ``in_flare``: a flare started on
or before the day and not ended before it.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from domain.facts import FIELDS
from domain.policies import Policy
from service.dates import day_bound
from service.insights.lights import judged_sessions
from service.record import Record

POLICY = "micro-breaks"
BREAK_POINTS = ("break", "log")  # what ends a stretch: a break, or a logged session
FLARES = ("flare-start", "flare-end")
SLEEP_SHOWN = tuple(FIELDS["sleep"])  # every field a sleep fact records, as it records them
CHECKIN_SHOWN = tuple(FIELDS["checkin"])


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def waking_hours(d: date, zone, policy: Policy) -> tuple[datetime, datetime]:
    """The waking hours of date ``d``: wall-clock times in ``zone``, as UTC instants (real minutes apart)."""
    return tuple(datetime.combine(d, _clock(policy[p]), zone).astimezone(UTC)  # type: ignore[return-value]
                 for p in ("waking_start", "waking_end"))


def minutes(seconds: float) -> int | float:
    """Minutes to a tenth, a whole number when whole (95, 59.5)."""
    value = round(seconds / 60, 1)
    return int(value) if value.is_integer() else value


def moment(fact: dict) -> datetime:
    return datetime.fromisoformat(fact["occurred_at"]).astimezone(UTC)


def longest_stretch(points: list[datetime], start: datetime, end: datetime) -> int | float:
    """The longest gap, in minutes, between ``start``, each point within [start, end], and ``end``."""
    marks = [start, *sorted(p for p in points if start <= p <= end), end]
    return minutes(max((b - a).total_seconds() for a, b in zip(marks, marks[1:])))


def breaks_target(start: datetime, end: datetime, max_gap_min: int) -> int:
    """The fewest evenly spaced breaks that keep every stretch of [start, end] within ``max_gap_min``."""
    return max(0, math.ceil((end - start).total_seconds() / 60 / max_gap_min) - 1)


def is_over(d: date, zone, now: datetime) -> bool:
    """Whether date ``d`` (in ``zone``) has ended by ``now``."""
    return now > day_bound(d, zone, "end")


def stretch(d: date, facts: list[dict], policy: Policy, zone, now: datetime) -> dict[str, Any]:
    """One day's breaks, longest stretch, target and whether it was met, from that day's (non-voided) facts."""
    start, end = waking_hours(d, zone, policy)
    over = is_over(d, zone, now)
    longest = longest_stretch([moment(f) for f in facts if f["type"] in BREAK_POINTS], start, end) if over else None
    return {
        "breaks": [{"at": f["occurred_at"], "kind": f.get("kind"), "seconds": f.get("seconds")}
                   for f in facts if f["type"] == "break"],
        "longest_without_break_min": longest,
        "breaks_target": breaks_target(start, end, policy["max_gap_min"]),
        "met_target": None if longest is None else longest <= policy["max_gap_min"],
    }


def in_flare(record: Record, start: datetime, end: datetime, now: datetime) -> bool:
    """A flare started on or before the day [start, end] and not ended before it.

    Reads the day's flare facts, then back from the day one UTC month at a time (one month log
    each) until the latest flare fact before it, or the program's start, is reached.
    """
    if any(f["type"] == "flare-start" for f in record.facts(start, end, types=FLARES)):
        return True
    floor = record.started - timedelta(days=1)
    until = min(start, now + timedelta(days=1)) - timedelta(microseconds=1)  # no fact lies later
    while until >= floor:
        month = until.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        found = record.facts(max(month, floor), until, types=FLARES)
        if found:
            return found[-1]["type"] == "flare-start"
        until = month - timedelta(microseconds=1)
    return False


def _sleep(facts: list[dict]) -> dict[str, Any] | None:
    nights = [f for f in facts if f["type"] == "sleep"]
    if not nights:
        return None
    night = nights[-1]
    return {"id": night["id"], "occurred_at": night["occurred_at"], **{k: night.get(k) for k in SLEEP_SHOWN}}


def day(record: Record, d: date, now: datetime) -> dict[str, Any]:
    """``backstory day DATE --json``: that local date's 23-hour day (the module docstring says how)."""
    zone = record.timezone
    start, end = day_bound(d, zone, "start"), day_bound(d, zone, "end")
    policy = record.policies.at(POLICY, start)
    facts = record.facts(start, end)
    return {
        "date": d.isoformat(),
        # no fact lies more than a day ahead: a far date (up to 9999-12-31) reads nothing, and never overflows
        "sessions": judged_sessions(record, start, min(end, now + timedelta(days=1))),
        **stretch(d, facts, policy, zone, now),
        "sleep": _sleep(facts),
        "checkins": [{"id": f["id"], "occurred_at": f["occurred_at"], **{k: f.get(k) for k in CHECKIN_SHOWN}}
                     for f in facts if f["type"] == "checkin"],
        "in_flare": in_flare(record, start, end, now),
        "policy": policy.ref(),
    }
