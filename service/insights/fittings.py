"""What changed in a fitting, how the back took it, and when the next one is due (policy ``fittings``).

A fitting runs from its ``fitting-open`` decision to its ``fitting-close`` (or now, while
open). The report gathers the decisions made within it, each exercise's sessions with
their lights (``service.insights.lights``) and next-day responses, and the suggestions
the other insights make for that period. Under policy ``fittings`` (v1, in force when the
fitting opened) a fitting lasts ``min_days`` to ``max_days``: the next one is due
``max_days`` after an open fitting began; after a closed one, once it closed but not
before ``min_days`` after it began. ``fitting_due`` says an open fitting is past its due.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from domain.errors import NotFound
from domain.policies import Policy, PolicyBook
from service.insights import HEURISTICS_NOTE

if TYPE_CHECKING:
    from service.record import Record
# service.insights.lights loads in the functions that judge sessions: show asks only fitting_due

VERDICTS = ("better", "same", "worse")


def opened_at(fitting: dict) -> datetime:
    """When an open fitting (``ProgramView.fitting``) began: its ``opened`` is a UTC time key."""
    opened = datetime.fromisoformat(fitting["opened"])
    return opened if opened.tzinfo is not None else opened.replace(tzinfo=timezone.utc)


def shown(fitting: dict | None) -> dict | None:
    """The open fitting as ``show --json`` and ``GET /v1/program`` give it: ``opened`` with its offset."""
    return None if fitting is None else {**fitting, "opened": opened_at(fitting).isoformat()}


def next_due(opened: datetime, closed: datetime | None, policy: Policy) -> datetime:
    """When the next fitting is due after one that began at ``opened`` (and ended at ``closed``)."""
    if closed is None:
        return opened + timedelta(days=policy["max_days"])
    return max(closed, opened + timedelta(days=policy["min_days"]))


def fitting_due(fitting: dict | None, policies: PolicyBook, at: datetime) -> bool:
    """Whether the open ``fitting`` (``ProgramView.fitting``) is past ``max_days`` at ``at`` (``show``)."""
    if fitting is None:
        return False
    opened = opened_at(fitting)
    return at > next_due(opened, None, policies.at("fittings", opened))


def fittings(decisions: list[dict]) -> list[dict[str, Any]]:
    """Every fitting in the decisions (history entries): number, opened_at, closed_at (None while open)."""
    out: dict[int, dict[str, Any]] = {}
    for e in decisions:
        if e["type"] == "fitting-open":
            number = e["to"]["fitting"]
            out[number] = {"number": number, "opened_at": e["occurred_at"], "closed_at": None}
        elif e["type"] == "fitting-close" and e["from"]["fitting"] in out:
            out[e["from"]["fitting"]]["closed_at"] = e["occurred_at"]
    return [out[n] for n in sorted(out)]


def per_exercise(sessions: list[dict]) -> list[dict[str, Any]]:
    """Judged sessions (``judged_sessions``) by exercise: sessions, light counts, next-day verdicts; busiest first."""
    from service.insights.lights import counts

    by_exercise: dict[str, list[dict]] = defaultdict(list)
    for s in sessions:
        by_exercise[s["exercise_id"]].append(s)
    out = []
    for exercise_id, items in by_exercise.items():
        next_day = {v: sum(1 for s in items if (s["next_day"] or {}).get("verdict") == v) for v in VERDICTS}
        next_day["missing"] = sum(1 for s in items if s["next_day"] is None)
        out.append({"exercise": items[-1]["exercise"], "exercise_id": exercise_id, "sessions": len(items),
                    "lights": counts(items), "next_day": next_day})
    out.sort(key=lambda e: (-e["sessions"], e["exercise"].casefold()))
    return out


def light_suggestions(sessions: list[dict]) -> list[dict[str, Any]]:
    """An exercise with a red session in the period: consider regressing it (rule ``pain-monitoring``)."""
    red: dict[str, list[dict]] = defaultdict(list)
    for s in sessions:
        if s["light"] == "red":
            red[s["exercise_id"]].append(s)
    return [{"rule_id": items[-1]["policy"]["id"], "rule_version": items[-1]["policy"]["version"],
             "exercise": items[-1]["exercise"],
             "message": f"{len(items)} red session(s) of {items[-1]['exercise']}: consider regressing it",
             "facts": [s["id"] for s in items]} for items in red.values()]


def period_suggestions(record: Record, since: datetime, until: datetime,
                       sessions: list[dict]) -> list[dict[str, Any]]:
    """What the insights suggest for the fitting's period, each naming its rule and the facts it rests on:
    red sessions (``pain-monitoring``) and the tension rules (``service.insights.tension``)."""
    from service.insights.tension import tension

    return light_suggestions(sessions) + tension(record, since, until)["suggestions"]


def report(record: Record, number: int | None, now: datetime) -> dict[str, Any]:
    """``backstory fitting report [NUMBER]``: the fitting (default: the open one, else the last)."""
    decisions = record.decisions()
    known = fittings(decisions)
    if not known:
        raise NotFound("fitting", "fitting: there is no fitting yet; open one with `backstory fitting open`")
    chosen = known[-1] if number is None else next((f for f in known if f["number"] == number), None)
    if chosen is None:
        raise NotFound("fitting", f"fitting: there is no fitting {number}; "
                                  f"fittings are numbered 1 to {known[-1]['number']}")
    opened = datetime.fromisoformat(chosen["opened_at"])
    closed = datetime.fromisoformat(chosen["closed_at"]) if chosen["closed_at"] else None
    until = closed or now
    policy = record.policies.at("fittings", opened)
    from service.insights.lights import judged_sessions

    sessions = judged_sessions(record, opened, until)
    lo, hi = opened.timestamp(), until.timestamp()
    due = next_due(opened, closed, policy)
    return {
        "fitting": chosen,
        "decisions": [e for e in decisions
                      if lo <= datetime.fromisoformat(e["occurred_at"]).timestamp() <= hi],
        "exercises": per_exercise(sessions),
        "suggestions": period_suggestions(record, opened, until, sessions),
        "next_due": due.isoformat(), "due": closed is None and now > due,
        "days": round((until - opened).total_seconds() / 86400, 1), "policy": policy.ref(), "note": HEURISTICS_NOTE,
    }
