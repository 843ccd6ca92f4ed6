"""Micro-break adherence over a period (policy ``micro-breaks``): ``backstory breaks`` and ``recap``'s share.

Over the local dates in the period with anything recorded (any fact that is not
void), each day's breaks, its longest stretch without a break and whether it met
the target, judged under the policy in force at that day's start
(``service.insights.day``). ``share_days_met`` is the share of those days that are
over and met the target (to two decimals; null when no such day is over).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from service.dates import day_bound
from service.insights.day import POLICY, stretch
from service.record import Record


def breaks(record: Record, since: datetime, until: datetime, now: datetime) -> dict[str, Any]:
    """``backstory breaks --json``: each day of [since, until] with anything recorded, and the share met."""
    zone = record.timezone
    first, last = since.astimezone(zone).date(), until.astimezone(zone).date()
    by_day: dict = defaultdict(list)
    for f in record.facts(day_bound(first, zone, "start"), day_bound(last, zone, "end")):
        by_day[datetime.fromisoformat(f["occurred_at"]).astimezone(zone).date()].append(f)
    days = []
    for d in sorted(by_day):
        judged = stretch(d, by_day[d], record.policies.at(POLICY, day_bound(d, zone, "start")), zone, now)
        days.append({"date": d.isoformat(), "breaks": len(judged["breaks"]),
                     "longest_without_break_min": judged["longest_without_break_min"],
                     "met_target": judged["met_target"]})
    over = [d for d in days if d["met_target"] is not None]
    return {
        "since": since.isoformat(), "until": until.isoformat(), "days": days,
        "share_days_met": round(sum(d["met_target"] for d in over) / len(over), 2) if over else None,
        "policy": record.policies.at(POLICY, until).ref(),
    }


def share_days_met(record: Record, since: datetime, until: datetime, now: datetime) -> float | None:
    """What ``recap`` says of the micro-breaks: the share of the period's days over that met the target."""
    return breaks(record, since, until, now)["share_days_met"]
