"""Write ``tests/samples/events_v1.jsonl``: one stored example of every event class, version 1.

Run from the repository root: ``python tests/samples/make_samples.py``. Every event is made by the
real aggregate methods (nothing is built by hand) and encoded by the application's own mapper, so
each line is exactly what the event store holds. ``tests/unit/test_event_samples.py`` decodes the
lines with a fresh application: once an event class changes, these old samples must still load
(through an upcaster). When a class moves to version 2, keep this file and add ``events_v2.jsonl``.

Each line: ``{"topic", "originator_id", "originator_version", "state", "class_version"}`` where
``state`` is the stored state as a (UTF-8 JSON) string.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock
from uuid import NAMESPACE_URL, uuid5

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from domain.evidence import Exposure, SignatureRule  # noqa: E402
from domain.facts import FactLog, validate  # noqa: E402
from domain.mutations import MutationRecord  # noqa: E402
from domain.program import Context, Program  # noqa: E402
from service.application import BackstoryApp  # noqa: E402
from service.config import parse_store  # noqa: E402

OUT = Path(__file__).with_name("events_v1.jsonl")
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
PARIS = timezone(timedelta(hours=1))  # what a device in Paris writes in March
SAMPLE_IDS = uuid5(NAMESPACE_URL, "https://backstory.invalid/samples")

# what replaying the program samples must show (checked by tests/unit/test_event_samples.py)
BRIDGE, DEAD_BUG, DEADLIFT = "Glute bridge", "Dead bug", "Deadlift"
COMPONENTS = ["Hip hinge drill", "Brace"]


def sid(what: str) -> str:
    return str(uuid5(SAMPLE_IDS, what))


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def ctx(n: float, reason: str | None = None, code: str = "unspecified", recorded: float | None = None) -> Context:
    return Context(occurred_at=day(n).astimezone(PARIS), device_id="phone-1", mutation_id=sid(f"mutation:{n}"),
                   recorded_at=day(recorded if recorded is not None else n) + timedelta(minutes=1),
                   reason=reason, reason_code=code)


def program_events(program_id) -> list:
    p = Program.start(program_id, "Sample program", "Europe/Paris", ctx(0))
    bridge, dead_bug, deadlift = sid("bridge"), sid("dead-bug"), sid("deadlift")
    p.add_exercise(bridge, BRIDGE, "strength", {
        "position": {"stage": 1, "posture": "supine"}, "load": {"type": "free_weight", "magnitude": 5, "unit": "kg"},
        "direction": {"pattern": "hinge", "plane": "sagittal"}, "sets": 3, "reps": 10, "range": "mid",
        "target": ["glutes"], "protect": ["paraspinals"], "cues": ["ribs down"]}, ctx(1, "first fitting"))
    p.add_exercise(dead_bug, DEAD_BUG, "segmental_control", {
        "position": {"stage": 1, "posture": "supine"}, "direction": {"pattern": "anti_extension"},
        "sets": 2, "hold_s": 20, "per_side": True, "target": ["deep_abdominals"]}, ctx(1.01))
    p.add_exercise(deadlift, DEADLIFT, "strength", {
        "position": {"stage": 4}, "load": {"type": "free_weight", "magnitude": 20, "unit": "kg"},
        "direction": {"pattern": "hinge"}, "sets": 3, "reps": 5}, ctx(1.02))
    p.fitting("open", "fitting one", ctx(2))
    p.change_prescription("progress", bridge, {"sets": 4}, ctx(3, "too easy", "too_easy"))
    # backdated: happened on day 3.5, recorded on day 4.5
    p.change_prescription("regress", bridge, {"load": {"type": "free_weight", "magnitude": 2.5, "unit": "kg"}},
                          ctx(3.5, "sore next day", "pain", recorded=4.5))
    p.change_prescription("adapt", dead_bug, {"direction": {"pattern": "anti_rotation", "plane": "transverse"}},
                          ctx(5, "therapist's idea", "therapist"))
    p.change_status("pause", dead_bug, ctx(6, "flare", "flare"))
    p.change_status("resume", dead_bug, ctx(7, "calm again"))
    p.deconstruct(deadlift, COMPONENTS, [sid("hinge-drill"), sid("brace")], ctx(8, "aggravates", "pain"))
    p.change_status("rebuild", deadlift, ctx(9, "components are fine"))
    p.promote(bridge, SignatureRule(), [Exposure(day(2), 4, 3, 2)], [], True,
              ctx(10, "calms my back every time", "evidence"))
    p.demote(bridge, ctx(11, "not any more"))
    p.change_status("retire", dead_bug, ctx(12, "replaced", "plateau"))
    p.fitting("close", "done", ctx(13))
    return list(p.pending_events)


def fact_events(program_id) -> list:
    opened_at = day(1)
    with mock.patch.object(FactLog.Opened, "create_timestamp", classmethod(lambda cls: opened_at)):
        log = FactLog.open(program_id, "2024-03")
    at = lambda n: day(n).astimezone(PARIS)  # noqa: E731
    rec = lambda n: day(n) + timedelta(minutes=2)  # noqa: E731
    session = sid("fact:session")
    log.record("log", session, at(2), rec(2), "phone-1", sid("m:log"), exercise_id=sid("bridge"),
               exercise_name=BRIDGE, session=validate("log", {
                   "sets": 3, "reps": 10, "pain_before": 4, "pain_during": 3, "pain_after": 3, "effort": 5,
                   "tension": [{"muscle": "paraspinals", "side": "left", "kind": "overactive", "intensity": 6}],
                   "note": "felt the glutes"}))
    log.record("next-day", sid("fact:next-day"), at(3), rec(3), "phone-1", sid("m:next-day"),
               exercise_id=sid("bridge"), exercise_name=BRIDGE, session_id=session,
               response=validate("next-day", {"verdict": "better", "pain": 2}))
    breaks = sid("fact:break")
    log.record("break", breaks, at(3.2), rec(3.2), "laptop-1", sid("m:break"),
               details=validate("break", {"kind": "extend", "seconds": 45}))
    log.record("checkin", sid("fact:checkin"), at(3.3), rec(3.3), "laptop-1", sid("m:checkin"),
               details=validate("checkin", {"pain": 3, "starts": "low_back", "travels": ["left_buttock"],
                                            "note": "after sitting"}))
    log.record("flare-start", sid("fact:flare-start"), at(6), rec(6), "phone-1", sid("m:flare-start"),
               details=validate("flare-start", {"pain": 7, "note": "lifted a box"}))
    log.record("flare-end", sid("fact:flare-end"), at(7), rec(7), "phone-1", sid("m:flare-end"),
               details=validate("flare-end", {"pain": 2}))
    log.correct(session, {"pain_after": 2}, "misread", sid("fact:correct"), at(8), rec(8), "phone-1",
                sid("m:correct"))
    log.void(breaks, "logged twice", sid("fact:void"), at(8.1), rec(8.1), "laptop-1", sid("m:void"))
    return list(log.pending_events)


def mutation_events(program_id) -> list:
    record = MutationRecord.processed(
        program_id, sid("m:checkin"), "checkin", "laptop-1", day(3.3).astimezone(PARIS),
        {"pain": 3, "starts": "low_back", "travels": ["left_buttock"], "note": "after sitting"}, "applied",
        {"fact_id": sid("fact:checkin"), "month": "2024-03"}, day(3.3) + timedelta(minutes=2),
    )
    return list(record.pending_events)


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        app = BackstoryApp(parse_store(f"sqlite:///{directory}/samples.sqlite").env, account="samples")
        try:
            events = program_events(app.program_id) + fact_events(app.program_id) + mutation_events(app.program_id)
            lines = []
            for event in events:
                stored = app.mapper.to_stored_event(event)
                lines.append(json.dumps({
                    "topic": stored.topic,
                    "originator_id": str(stored.originator_id),
                    "originator_version": stored.originator_version,
                    "state": stored.state.decode("utf-8"),
                    "class_version": getattr(type(event), "class_version", 1),
                }))
        finally:
            app.close()
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} samples to {OUT}")


if __name__ == "__main__":
    main()
