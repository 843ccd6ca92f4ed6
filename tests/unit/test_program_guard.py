"""The Program's side of the guarded progression: refused on the evidence unless forced, then kept with it."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import Refused
from domain.program import Program
from tests.unit.test_program import ctx, day

PREMATURE = {"session_id": "5e551011-aaaa-bbbb-cccc-000000000000", "exercise": "Bridge",
             "occurred_at": "2026-03-04T23:30:00+00:00", "light": "red", "light_reasons": ["pain during 7: above 5"],
             "awaiting_next_day": False, "policy": {"id": "pain-monitoring", "version": 1}}


def bridge() -> Program:
    p = Program.start(uuid4(), "Sam", "Europe/Paris", ctx(day(0)))
    p.add_exercise("ex-1", "Bridge", None, {"position": {"stage": 1, "posture": "supine"}, "sets": 3, "reps": 10},
                   ctx(day(0)))
    return p


def test_a_premature_progression_is_refused_naming_the_session_its_local_date_and_light():
    p = bridge()
    with pytest.raises(Refused) as refused:
        p.change_prescription("progress", "ex-1", {"reps": 12}, ctx(day(5)), premature=PREMATURE)
    assert refused.value.rule == "progression_guard"
    assert "session 5e551011 of 2026-03-05" in str(refused.value) and "is red" in str(refused.value)  # Paris
    assert "--force" in str(refused.value)
    assert p.pending_events[-1].command == "add"  # nothing recorded
    waiting = {**PREMATURE, "light": "amber", "awaiting_next_day": True}
    with pytest.raises(Refused, match="no next-day response yet"):
        p.change_prescription("progress", "ex-1", {"reps": 12}, ctx(day(5)), premature=waiting)


def test_forced_it_keeps_the_evidence_and_other_moves_ignore_the_guard():
    p = bridge()
    p.change_prescription("progress", "ex-1", {"reps": 12}, ctx(day(5)), premature=PREMATURE, force=True)
    event = p.pending_events[-1]
    assert event.override == PREMATURE and event.change()[1] == {"reps": 12, "forced": True, "override": PREMATURE}
    p.change_prescription("progress", "ex-1", {"reps": 14}, ctx(day(6)))
    assert p.pending_events[-1].override is None and p.pending_events[-1].change()[1] == {"reps": 14}
    p.change_prescription("regress", "ex-1", {"reps": 8}, ctx(day(7)), premature=PREMATURE)  # not a progression
    assert p.view().exercises["ex-1"].prescription["reps"] == 8
