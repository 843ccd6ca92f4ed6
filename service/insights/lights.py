"""The pain-monitoring model: a traffic light per logged session (policy ``pain-monitoring``).

Green when pain during the exercise stays at most ``green_max``, amber up to
``amber_max``, red above; red as well when the next day's verdict is ``worse`` or the
next-day pain reaches the session's pain before + ``next_day_rise``. Each light is
judged under the parameters in force at the session's valid time, and says why.

A session *awaits* its next day when its exercise was added or progressed since the
exercise's previous session (it is the first try of the new dose) and no next-day
response names it yet: ``pending`` lists them, and ``progression_check`` says why a
progression would come too early (the last session red, or awaiting its next day),
which the command path (``service.guard``) refuses unless forced.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
from typing import Any, Iterable

from domain.policies import Policy, PolicyBook
from service.record import Record

SESSION_FIELDS = ("sets", "reps", "hold_s", "load", "pain_before", "pain_during", "pain_after", "effort")


def next_days(facts: list[dict]) -> dict[str, dict]:
    """Each session's next-day response (the latest recorded one when there are several), by session id."""
    out: dict[str, dict] = {}
    for f in facts:
        if f["type"] == "next-day" and not f["voided"] and f.get("session_id"):
            seen = out.get(f["session_id"])
            if seen is None or (f["occurred_at"], f["recorded_at"]) >= (seen["occurred_at"], seen["recorded_at"]):
                out[f["session_id"]] = f
    return out


def light(session: dict, next_day: dict | None, policy: Policy) -> tuple[str, list[str]]:
    """The session's light and the reasons for it, under ``policy``."""
    green, amber, rise = policy["green_max"], policy["amber_max"], policy["next_day_rise"]
    during = session.get("pain_during")
    measured, what = (during, "pain during") if during is not None else (session.get("pain_after"), "pain after")
    if measured is None:
        colour, reasons = "amber", ["no pain during or after recorded: amber until it is"]
    elif measured <= green:
        colour, reasons = "green", [f"{what} {measured}: at most {green}"]
    elif measured <= amber:
        colour, reasons = "amber", [f"{what} {measured}: above {green}, at most {amber}"]
    else:
        colour, reasons = "red", [f"{what} {measured}: above {amber}"]
    if next_day is not None:
        if next_day.get("verdict") == "worse":
            colour = "red"
            reasons.append("next day: worse")
        before, after = session.get("pain_before"), next_day.get("pain")
        if before is not None and after is not None and after >= before + rise:
            colour = "red"
            reasons.append(f"next-day pain {after}: at least pain before {before} + {rise}")
    return colour, reasons


def judged(session: dict, next_day: dict | None, policy: Policy) -> dict[str, Any]:
    """One session as ``backstory sessions --json`` lists it."""
    colour, reasons = light(session, next_day, policy)
    return {
        "id": session["id"], "exercise": session.get("exercise"), "exercise_id": session.get("exercise_id"),
        "occurred_at": session["occurred_at"], **{f: session.get(f) for f in SESSION_FIELDS},
        "tension": session.get("tension") or [],
        "next_day": None if next_day is None else {"verdict": next_day.get("verdict"), "pain": next_day.get("pain"),
                                                   "fact_id": next_day["id"]},
        "light": colour, "light_reasons": reasons,
        "policy": {"id": policy.rule_id, "version": policy.version, "params": dict(policy.params)},
    }


def judged_sessions(record: Record, since: datetime | None = None, until: datetime | None = None,
                    exercise_id: str | None = None) -> list[dict[str, Any]]:
    """Every session in [since, until] (of one exercise, if given) with its light, oldest first.

    Next-day responses are read a few days past ``until`` so the last sessions' lights count them.
    """
    horizon = None if until is None or until.year >= 9999 else until + timedelta(days=3)  # (no overflow)
    facts = record.facts(since, horizon, types=("log", "next-day"))
    responses = next_days(facts)
    policy_at = record.policies.lookup("pain-monitoring")
    out = []
    for f in facts:
        if f["type"] != "log" or (exercise_id is not None and f.get("exercise_id") != exercise_id):
            continue
        at = datetime.fromisoformat(f["occurred_at"])
        if until is not None and at > until:
            continue
        out.append(judged(f, responses.get(f["id"]), policy_at(at)))
    return out


def counts(sessions: list[dict]) -> dict[str, int]:
    """``{"green": n, "amber": n, "red": n}`` over judged sessions (for recap and fitting reports)."""
    out = {"green": 0, "amber": 0, "red": 0}
    for s in sessions:
        out[s["light"]] += 1
    return out


def change_times(decisions: Iterable[dict]) -> dict[str, list[datetime]]:
    """When each exercise was added or progressed (valid times, sorted), from ``history`` entries."""
    out: dict[str, list[datetime]] = {}
    for e in decisions:
        if e["type"] in ("add", "progress") and e.get("exercise_id"):
            out.setdefault(e["exercise_id"], []).append(datetime.fromisoformat(e["occurred_at"]))
    for times in out.values():
        times.sort()
    return out


def awaiting(sessions: Iterable[dict], changes: dict[str, list[datetime]], responses: dict[str, dict]) -> list[dict]:
    """The sessions (log facts, oldest first) whose exercise was added or progressed since its previous
    session and that no next-day response names yet."""
    previous: dict[str, datetime] = {}
    out = []
    for s in sessions:
        ex = s.get("exercise_id")
        if s["type"] != "log" or s["voided"] or ex is None:
            continue
        at = datetime.fromisoformat(s["occurred_at"])
        times = changes.get(ex, [])
        before = bisect.bisect_right(times, at)  # changes at or before this session
        if before and (ex not in previous or times[before - 1] > previous[ex]) and s["id"] not in responses:
            out.append(s)
        previous[ex] = at
    return out


def pending(record: Record) -> dict[str, Any]:
    """``backstory pending --json``: every session still awaiting its next-day response, oldest first."""
    facts = record.facts(types=("log", "next-day"))
    found = awaiting(facts, change_times(record.decisions()), next_days(facts))
    return {"pending": [{"session_id": s["id"], "exercise": s.get("exercise"), "occurred_at": s["occurred_at"]}
                        for s in found]}


def progression_check(sessions: list[dict], responses: dict[str, dict], changes: list[datetime],
                      policies: PolicyBook) -> dict[str, Any] | None:
    """Why progressing the exercise now comes too early, or None.

    ``sessions``: the exercise's last two sessions at most (log facts, oldest first); ``responses``
    the next-day responses known by then; ``changes`` when it was added or progressed. The evidence
    names the last session, its date and light, and whether it still awaits its next day.
    """
    if not sessions:
        return None
    last = sessions[-1]
    policy = policies.at("pain-monitoring", datetime.fromisoformat(last["occurred_at"]))
    seen = judged(last, responses.get(last["id"]), policy)
    waiting = any(s["id"] == last["id"] for s in awaiting(sessions[-2:], {last.get("exercise_id"): changes},
                                                          responses))
    if seen["light"] != "red" and not waiting:
        return None
    return {"session_id": last["id"], "exercise": last.get("exercise"), "occurred_at": last["occurred_at"],
            "light": seen["light"], "light_reasons": seen["light_reasons"], "awaiting_next_day": waiting,
            "policy": {"id": policy.rule_id, "version": policy.version}}


def sessions(record: Record, since: datetime | None = None, until: datetime | None = None,
             exercise_id: str | None = None) -> dict[str, Any]:
    """``backstory sessions --json``: the logged sessions in [since, until] with their lights."""
    return {"sessions": judged_sessions(record, since, until, exercise_id)}


def exercise_lights(record: Record, exercise_id: str, since: datetime | None = None,
                    until: datetime | None = None) -> dict[str, Any]:
    """What ``history EXERCISE`` adds: the exercise's sessions' lights and their counts."""
    judged_ = judged_sessions(record, since, until, exercise_id)
    return {"lights": counts(judged_),
            "sessions": [{k: s[k] for k in ("id", "occurred_at", "light", "light_reasons")} for s in judged_]}


def recap_lights(record: Record, since: datetime, until: datetime) -> dict[str, int]:
    """``recap``'s ``lights``: how many sessions in [since, until] were green, amber and red."""
    return counts(judged_sessions(record, since, until))
