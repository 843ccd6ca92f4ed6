"""Flares and what was done in them: which exercises eased the back while it was flaring.

A flare runs from a ``flare-start`` fact to the next ``flare-end`` (open while none
came; a second start inside a flare only adds its pain). Its peak pain is the highest
pain recorded within it: the flare facts' own, check-ins', and sessions' pain before,
during and after. Each exercise done within it is an exposure: its sessions, the mean
pain drop (pain before minus pain after, over the sessions that record both) and how
many of those sessions had a ``worse`` next day; best drop first. A heuristic, not a
diagnosis: a drop during a flare may be the flare easing on its own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from service.insights import HEURISTICS_NOTE
from service.insights.lights import next_days
from service.record import Record

TYPES = ("flare-start", "flare-end", "checkin", "log", "next-day")


def spans(facts: list[dict], began_before: bool = False) -> list[dict[str, Any]]:
    """Each flare's start and end facts (end None while open) and the facts within it, oldest first.

    ``began_before`` (facts of a period): an end before any start closes a flare that began
    before the facts do; its start is None and its facts are those from the first one.
    """
    out: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    earlier: list[dict] = []
    for f in facts:
        if f["type"] == "flare-start" and current is None:
            current = {"start": f, "end": None, "facts": [f]}
            out.append(current)
        elif current is not None:
            current["facts"].append(f)
            if f["type"] == "flare-end":
                current["end"], current = f, None
        elif began_before and not out:
            earlier.append(f)
            if f["type"] == "flare-end":
                out.append({"start": None, "end": f, "facts": earlier})
    return out


def _peak(flare_facts: list[dict]) -> int | None:
    pains = [f.get(k) for f in flare_facts for k in (("pain_before", "pain_during", "pain_after")
                                                      if f["type"] == "log" else ("pain",))
             if f["type"] != "next-day"]
    pains = [p for p in pains if p is not None]
    return max(pains) if pains else None


def exposures(sessions: list[dict], responses: dict[str, dict]) -> list[dict[str, Any]]:
    """Per exercise: sessions, mean pain drop (None when no session records both), worse next days; best first."""
    by_exercise: dict[str, list[dict]] = defaultdict(list)
    for s in sessions:
        by_exercise[s["exercise_id"]].append(s)
    out = []
    for exercise_id, items in by_exercise.items():
        drops = [s["pain_before"] - s["pain_after"] for s in items
                 if s.get("pain_before") is not None and s.get("pain_after") is not None]
        out.append({
            "exercise": items[-1]["exercise"], "exercise_id": exercise_id, "sessions": len(items),
            "mean_drop": round(sum(drops) / len(drops), 2) if drops else None,
            "worse_next_day": sum(1 for s in items if (responses.get(s["id"]) or {}).get("verdict") == "worse"),
            "facts": [s["id"] for s in items],
        })
    out.sort(key=lambda e: (e["mean_drop"] is None, -(e["mean_drop"] or 0), -e["sessions"], e["exercise"].casefold()))
    return out


def flares(record: Record, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """``backstory flares``: every flare with its peak pain and its exposures, oldest flare first.

    With ``since``/``until``, the flares of that period only (the report's): a flare that began
    before ``since`` and ends within it has ``start`` None and counts its facts from ``since``.
    """
    facts = record.facts(since, until, types=TYPES)
    responses = next_days(facts)
    return {"flares": [{
        "start": s["start"]["occurred_at"] if s["start"] else None,
        "end": s["end"]["occurred_at"] if s["end"] else None,
        "start_id": s["start"]["id"] if s["start"] else None, "end_id": s["end"]["id"] if s["end"] else None,
        "peak_pain": _peak(s["facts"]),
        "exposures": exposures([f for f in s["facts"] if f["type"] == "log"], responses),
    } for s in spans(facts, began_before=since is not None)], "note": HEURISTICS_NOTE}


def relief_in_flares(record: Record) -> dict[str, dict[str, Any]]:
    """Per exercise id, its sessions and mean pain drop over every flare (for a flare kit's order)."""
    facts = record.facts(types=TYPES)
    sessions = [f for s in spans(facts) for f in s["facts"] if f["type"] == "log"]
    return {e["exercise_id"]: e for e in exposures(sessions, next_days(facts))}

