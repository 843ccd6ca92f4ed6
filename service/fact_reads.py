"""Reading facts by valid time from the month logs: what the write side checks against and every read asks.

Kept apart from ``service.handling`` so a read of a few days' facts (``backstory day``) loads the
fact classes it decodes and nothing of the command path.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from domain.facts import month_of
from domain.timeline import time_key


def months_between(start: datetime, end: datetime) -> list[str]:
    """The UTC months ("YYYY-MM") from ``start``'s to ``end``'s, both included."""
    months, y, mo = [], start.year, start.month
    last = month_of(end)
    while True:
        key = f"{y:04d}-{mo:02d}"
        months.append(key)
        if key >= last:
            return months
        y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)


def facts_between(reader: Any, since: datetime, until: datetime) -> list[dict]:
    """Every fact (with corrections applied) whose valid time is in [since, until], in time order."""
    # No fact lies beyond the clock tolerance, and none before 1900: do not visit empty months there.
    until = min(until, datetime.now(timezone.utc) + timedelta(days=1))
    since = max(since, datetime(1900, 1, 1, tzinfo=timezone.utc))
    if since > until:
        return []
    lo, hi = time_key(since), time_key(until)
    out = []
    for month in months_between(since.astimezone(timezone.utc), until.astimezone(timezone.utc)):
        log = reader.fact_log(month)
        if log is not None:
            out.extend(f for f in log.facts.values() if lo <= f["key"] <= hi)
    out.sort(key=lambda f: f["key"])
    return out
