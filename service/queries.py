"""Read-side questions, answered as plain JSON-ready values.

``show`` (the program as of a date, as known at a time), ``history`` (every
decision with its reason and both times), ``diff`` (what changed between two
dates), ``recap`` (what was done and felt over a period) and ``signature``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from domain.decision_context import FAR_FUTURE
from domain.program import Program
from domain.timeline import time_key
from domain.view import ProgramView
from service.application import Ledger, UnitOfWork, require_program

Reader = Ledger | UnitOfWork
# The write side (service.naming, service.fact_reads) is imported by the queries that resolve names or read facts, not by show.


def show(reader: Reader, as_of: datetime, known_at: datetime | None = None) -> dict[str, Any]:
    program = require_program(reader)
    view = program.view(as_of, known_at)
    # Before its start the program has no name or zone of its own then: it is told in today's (dates in its zone).
    now = program.view() if view.started is None else view
    return {
        "as_of": as_of.isoformat(), "known_at": known_at.isoformat() if known_at else None,
        "program": {"name": view.name or now.name, "timezone": now.timezone,
                    "started": view.started is not None, "fitting": _shown(view.fitting)},
        "version": program.version,
        "exercises": [e.to_dict() for e in view.exercises.values()],
        "fitting_due": view.fitting is not None and _fitting_due(view.fitting, program, known_at, as_of),
    }


def _shown(fitting: dict | None) -> dict | None:
    if fitting is None:
        return None
    from service.insights.fittings import shown  # loaded only when a fitting is open: show stays quick

    return shown(fitting)


def _fitting_due(fitting: dict, program: Program, known_at: datetime | None, as_of: datetime) -> bool:
    from service.insights.fittings import fitting_due  # loaded only when a fitting is open: show stays quick

    return fitting_due(fitting, program.policy_book(known_at), as_of)


def _entry(event: Any, names: dict[str, str]) -> dict[str, Any]:
    before, after = event.change()
    ids = event.exercise_ids
    return {
        "type": event.command, "exercise": names.get(ids[0]) if ids else None,
        "exercise_id": ids[0] if ids else None,
        "occurred_at": event.occurred_at.isoformat(), "recorded_at": event.timestamp.isoformat(),
        "reason": event.reason, "reason_code": event.reason_code,
        "from": before, "to": after, "device_id": event.device_id, "mutation_id": event.mutation_id,
        "version": event.originator_version,
    }


def history(reader: Reader, exercise: str | None = None, since: datetime | None = None,
            until: datetime | None = None) -> dict[str, Any]:
    from service.naming import resolve_exercise

    program = require_program(reader)
    current = program.view()
    names = {e.id: e.name for e in current.exercises.values()}
    wanted = resolve_exercise(current, exercise).id if exercise else None
    lo = time_key(since) if since else ""
    hi = time_key(until) if until else "~"
    events = [
        e for e in reader.decisions()
        if lo <= time_key(e.occurred_at) <= hi and (wanted is None or wanted in e.exercise_ids)
    ]
    events.sort(key=lambda e: (time_key(e.occurred_at), e.originator_version))
    return {"exercise": names.get(wanted) if wanted else None,
            "since": since.isoformat() if since else None, "until": until.isoformat() if until else None,
            "entries": [_entry(e, names) for e in events]}


def _changes(a: dict, b: dict) -> tuple[dict, dict]:
    keys = [k for k in ("status", "signature", "parent", "components") if a[k] != b[k]]
    rx = [d for d in a["prescription"] if a["prescription"][d] != b["prescription"][d]]
    before = {**{k: a[k] for k in keys}, **{d: a["prescription"][d] for d in rx}}
    after = {**{k: b[k] for k in keys}, **{d: b["prescription"][d] for d in rx}}
    return before, after


def diff(reader: Reader, start: datetime, end: datetime) -> dict[str, Any]:
    program = require_program(reader)
    a, b = program.view(start), program.view(end)
    in_a = {e.id: e.to_dict() for e in a.in_program()}
    in_b = {e.id: e.to_dict() for e in b.in_program()}
    changed = []
    for eid in in_a.keys() & in_b.keys():
        before, after = _changes(in_a[eid], in_b[eid])
        if before or after:
            changed.append({"exercise": in_b[eid]["name"], "exercise_id": eid, "from": before, "to": after})
    retired = [b.exercises[eid].name for eid in in_a.keys() - in_b.keys() if eid in b.exercises]
    known = {**{e.id: e.name for e in a.exercises.values()}, **{e.id: e.name for e in b.exercises.values()}}
    linked = {i for c in changed for side in (c["from"], c["to"])
              for i in [side.get("parent"), *(side.get("components") or [])] if i}
    # names for the text, their ids beside them in the same order (a retired name may be taken again)
    added = sorted(((in_b[eid]["name"], eid) for eid in in_b.keys() - in_a.keys()))
    removed = sorted(((in_a[eid]["name"], eid) for eid in in_a.keys() - in_b.keys()))
    return {
        "from": start.isoformat(), "to": end.isoformat(),
        "added": [name for name, _ in added], "added_ids": [eid for _, eid in added],
        "removed": [name for name, _ in removed], "removed_ids": [eid for _, eid in removed],
        "retired": sorted(retired),
        "changed": sorted(changed, key=lambda c: c["exercise"].lower()),
        "names": {i: known[i] for i in sorted(linked) if i in known},  # the linked exercises' ids, for text
    }


def _avg(values: list[int | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 2) if present else None


def recap(reader: Reader, since: datetime, until: datetime, tz) -> dict[str, Any]:
    """Sessions, pain, tension, breaks and decisions with valid time in [since, until]."""
    from service.fact_reads import facts_between
    from service.insights.breaks import share_days_met
    from service.insights.lights import recap_lights as lights
    from service.outcomes import assessment
    from service.record import ledger_record

    record = ledger_record(reader)
    facts = [f for f in facts_between(reader, since, until) if not f["voided"]]
    sessions = [f for f in facts if f["type"] == "log"]
    by_exercise: dict[str, list[dict]] = defaultdict(list)
    for s in sessions:
        by_exercise[s["exercise"]].append(s)
    tension = Counter((t["muscle"], t["side"]) for s in sessions for t in s.get("tension") or [])
    breaks = [f for f in facts if f["type"] == "break"]
    per_day = Counter(datetime.fromisoformat(f["occurred_at"]).astimezone(tz).date().isoformat() for f in breaks)
    checkins = [f for f in facts if f["type"] == "checkin"]
    return {
        "since": since.isoformat(), "until": until.isoformat(),
        "sessions": len(sessions),
        "by_exercise": [
            {"exercise": name, "sessions": len(items),
             "pain_before_avg": _avg([s.get("pain_before") for s in items]),
             "pain_after_avg": _avg([s.get("pain_after") for s in items]),
             "pain_during_max": max((s["pain_during"] for s in items if s.get("pain_during") is not None), default=None)}
            for name, items in sorted(by_exercise.items(), key=lambda kv: (-len(kv[1]), kv[0].lower()))
        ],
        "tension": [{"muscle": m, "side": s, "count": n}
                    for (m, s), n in sorted(tension.items(), key=lambda kv: (-kv[1], kv[0]))],
        "breaks": len(breaks),
        "breaks_per_day": dict(sorted(per_day.items())),
        "breaks_share_days_met": share_days_met(record, since, until, datetime.now(UTC)),
        "next_day": dict(Counter(f["verdict"] for f in facts if f["type"] == "next-day")),
        "checkins": len(checkins), "checkin_pain_avg": _avg([c.get("pain") for c in checkins]),
        "flares": sum(1 for f in facts if f["type"] == "flare-start"),
        "assessments": [assessment(f) for f in facts if f["type"] == "assess"],
        "decisions": history(reader, since=since, until=until)["entries"],
        "lights": lights(record, since, until),
    }


def signature(reader: Reader) -> dict[str, Any]:
    program: Program = require_program(reader)
    view: ProgramView = program.view(FAR_FUTURE)
    promotions = {}
    for e in reader.decisions():
        if e.command == "promote":
            promotions[e.exercise_id] = e
    return {"exercises": [
        {"id": ex.id, "name": ex.name, "status": ex.status,
         "promoted_at": promotions[ex.id].occurred_at.isoformat() if ex.id in promotions else None,
         "forced": promotions[ex.id].forced if ex.id in promotions else None,
         "reason": promotions[ex.id].reason if ex.id in promotions else None,
         "evidence": promotions[ex.id].evidence if ex.id in promotions else None}
        for ex in view.exercises.values() if ex.signature
    ]}
