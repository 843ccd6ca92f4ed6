"""The Program aggregate's invariants (SPEC 3.2, 4), driven directly through its methods, no storage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count
from uuid import uuid4

import pytest

from domain.errors import InvalidValue, NotFound, Refused
from domain.evidence import Exposure, SignatureRule
from domain.decision_context import CLOCK_TOLERANCE, Context
from domain.program import Program

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
RX = {"position": {"stage": 1, "posture": "supine"}, "sets": 3, "reps": 10}
_mutations = count()


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def ctx(at: datetime, recorded: datetime | None = None, reason: str | None = "because",
        reason_code: str = "unspecified") -> Context:
    return Context(occurred_at=at, device_id="phone", mutation_id=f"m-{next(_mutations)}",
                   recorded_at=recorded or at, reason=reason, reason_code=reason_code)


@pytest.fixture
def program() -> Program:
    return Program.start(uuid4(), "My back", "Europe/Paris", ctx(T0))


def add(p: Program, eid: str, at: float = 1, recorded: float | None = None, name: str | None = None, **rx):
    p.add_exercise(eid, name or eid, "segmental_control", {**RX, **rx},
                   ctx(day(at), day(recorded if recorded is not None else at)))


def last(p: Program):
    return p.pending_events[-1]


def names(view) -> list[str]:
    return [e.name for e in view.exercises.values()]


# ----- start ---------------------------------------------------------------------------------


def test_start_records_name_timezone_and_start_time(program):
    started = program.pending_events[0]
    assert isinstance(started, Program.Started)
    assert (started.name, started.timezone, started.occurred_at) == ("My back", "Europe/Paris", T0)
    assert started.timestamp == T0
    v = program.view()
    assert (v.name, v.timezone, v.started) == ("My back", "Europe/Paris", "2024-03-01T09:00:00.000000")
    assert program.view(T0 - timedelta(seconds=1)).exists is False


def test_start_refuses_blank_name_and_future_start():
    with pytest.raises(InvalidValue) as info:
        Program.start(uuid4(), "  ", "UTC", ctx(T0))
    assert info.value.field == "name"
    with pytest.raises(InvalidValue) as info:
        Program.start(uuid4(), "x", "UTC", ctx(T0 + timedelta(hours=1), T0))
    assert info.value.field == "at"


# ----- valid time and recorded time ----------------------------------------------------------


def test_backdated_decisions_land_at_their_valid_time(program):
    add(program, "bridge", at=1)
    program.change_prescription("progress", "bridge", {"sets": 5}, ctx(day(10)))
    # recorded on day 11, but it happened on day 5: judged against the plan of day 5 (3 sets)
    program.change_prescription("progress", "bridge", {"sets": 4}, ctx(day(5), day(11)))
    sets = {d: program.view(day(d)).exercises["bridge"].prescription["sets"] for d in (1, 3, 5, 7, 9.99, 10, 30)}
    assert sets == {1: 3, 3: 3, 5: 4, 7: 4, 9.99: 4, 10: 5, 30: 5}
    assert program.view(day(0.5)).exercises == {}
    assert last(program).changes == {"sets": {"from": 3, "to": 4}}


def test_backdated_decision_is_judged_by_the_plan_of_its_own_day(program):
    add(program, "bridge", at=1)
    program.change_prescription("progress", "bridge", {"sets": 6}, ctx(day(10)))
    # 3 -> 2 on day 5 is a regression there, although today the plan has 6 sets
    program.change_prescription("regress", "bridge", {"sets": 2}, ctx(day(5), day(11)))
    assert program.view(day(6)).exercises["bridge"].prescription["sets"] == 2
    assert program.view(day(10)).exercises["bridge"].prescription["sets"] == 6
    # and 3 -> 4 on day 4 is a progression there, although 4 < 6 now
    program.change_prescription("progress", "bridge", {"sets": 4}, ctx(day(4), day(12)))
    assert [program.view(day(d)).exercises["bridge"].prescription["sets"] for d in (3, 4, 5, 10)] == [3, 4, 2, 6]


def test_backdated_decision_cannot_touch_an_exercise_that_did_not_exist_yet(program):
    add(program, "bridge", at=5)
    with pytest.raises(NotFound) as info:
        program.change_prescription("progress", "bridge", {"sets": 4}, ctx(day(3), day(6)))
    assert info.value.what == "exercise"


def test_decisions_at_the_same_valid_time_apply_in_recorded_order(program):
    add(program, "bridge", at=1)
    program.change_prescription("progress", "bridge", {"sets": 4}, ctx(day(5), day(6)))
    program.change_prescription("progress", "bridge", {"sets": 5}, ctx(day(5), day(7)))
    assert program.view(day(5)).exercises["bridge"].prescription["sets"] == 5
    assert program.view(day(5), known_at=day(6)).exercises["bridge"].prescription["sets"] == 4


def test_known_at_hides_what_was_recorded_later(program):
    # added on day 1 but recorded on day 3
    add(program, "bridge", at=1, recorded=3)
    # backdated progress: happened on day 2, recorded on day 8
    program.change_prescription("progress", "bridge", {"sets": 4}, ctx(day(2), day(8)))
    assert program.view(day(5), known_at=day(2)).exercises == {}
    assert names(program.view(day(5), known_at=day(3))) == ["bridge"]
    assert program.view(day(5), known_at=day(7)).exercises["bridge"].prescription["sets"] == 3
    assert program.view(day(5), known_at=day(8)).exercises["bridge"].prescription["sets"] == 4
    assert program.view(day(5)).exercises["bridge"].prescription["sets"] == 4
    # "what did the server believe on day 7 about day 1": the exercise, with 3 sets
    assert program.view(day(1), known_at=day(7)).exercises["bridge"].prescription["sets"] == 3
    # the program itself was known from its start
    assert program.view(day(5), known_at=T0).name == "My back"
    assert program.view(day(5), known_at=T0 - timedelta(seconds=1)).exists is False


def test_events_carry_context_and_recorded_time(program):
    program.add_exercise("bridge", "Bridge", None, RX,
                         Context(day(1), "tablet", "mut-1", day(2), "therapist said", "therapist"))
    e = last(program)
    assert isinstance(e, Program.ExerciseAdded)
    assert (e.occurred_at, e.timestamp, e.device_id, e.mutation_id, e.reason, e.reason_code) == (
        day(1), day(2), "tablet", "mut-1", "therapist said", "therapist")


def test_unknown_reason_code_is_refused(program):
    with pytest.raises(InvalidValue) as info:
        program.add_exercise("bridge", "Bridge", None, RX, ctx(day(1), reason_code="bored"))
    assert info.value.field == "reason_code"


# ----- the clock -----------------------------------------------------------------------------


def test_future_occurred_at_beyond_tolerance_is_refused(program):
    now = day(2)
    with pytest.raises(InvalidValue) as info:
        program.add_exercise("x", "X", None, RX, ctx(now + CLOCK_TOLERANCE + timedelta(seconds=1), now))
    assert info.value.field == "at"
    assert "10 minutes" in str(info.value)
    assert len(program.pending_events) == 1


def test_future_occurred_at_within_tolerance_is_accepted(program):
    now = day(2)
    program.add_exercise("x", "X", None, RX, ctx(now + CLOCK_TOLERANCE, now))
    assert last(program).occurred_at == now + timedelta(minutes=10)


def test_occurred_at_without_time_zone_is_refused(program):
    with pytest.raises(InvalidValue) as info:
        program.add_exercise("x", "X", None, RX, ctx(datetime(2024, 3, 2, 9), day(2)))
    assert info.value.field == "at"


def test_a_decision_before_the_start_moves_the_start_back_to_it(program):
    program.collect_events()
    before = T0 - timedelta(days=42)
    add(program, "bug", at=-42, recorded=1, name="Dead bug")
    moved, added = program.pending_events
    assert isinstance(moved, Program.StartMovedBack) and isinstance(added, Program.ExerciseAdded)
    assert (moved.occurred_at, moved.from_start, moved.cause) == (before, T0, "add")
    assert moved.mutation_id == added.mutation_id and moved.timestamp == added.timestamp == day(1)
    assert moved.change() == ({"started": T0.isoformat()}, {"started": before.isoformat(), "cause": "add"})
    assert program.started_at() == before
    now = program.view()
    assert (now.name, now.timezone, now.started) == ("My back", "Europe/Paris", "2024-01-19T09:00:00.000000")
    then = program.view(before)
    assert (then.exists, then.timezone, names(then)) == (True, "Europe/Paris", ["Dead bug"])
    assert program.view(before - timedelta(seconds=1)).exists is False
    # as known before the backfill was recorded, the program started at its init and had no exercise
    known = program.view(day(2), known_at=T0)
    assert (known.started, names(known)) == ("2024-03-01T09:00:00.000000", [])


def test_only_a_decision_before_the_current_start_moves_it_again(program):
    add(program, "bug", at=-10, recorded=1, name="Dead bug")
    program.collect_events()
    add(program, "bridge", at=-5, recorded=2, name="Bridge")  # after the moved start: no move
    assert [type(e).__name__ for e in program.collect_events()] == ["ExerciseAdded"]
    program.fitting("open", None, ctx(day(-30), day(3)))
    moved, opened = program.collect_events()
    assert (moved.from_start, moved.occurred_at, moved.cause) == (day(-10), day(-30), "fitting-open")
    assert isinstance(opened, Program.FittingOpened) and program.started_at() == day(-30)
    assert program.view(day(-20)).fitting["number"] == 1


def test_a_refused_decision_before_the_start_moves_nothing(program):
    add(program, "bug", at=1, name="Dead bug")
    program.collect_events()
    with pytest.raises(Refused):  # the name is taken in the program as it stands now
        add(program, "bug2", at=-10, recorded=2, name="dead bug")
    with pytest.raises(NotFound):  # an exercise decision needs the exercise then, as before
        program.change_status("pause", "bug", ctx(T0 - timedelta(days=1), day(2)))
    with pytest.raises(InvalidValue) as info:  # nothing before 1900
        program.add_exercise("x", "X", None, RX, ctx(datetime(1899, 12, 31, tzinfo=timezone.utc), day(2)))
    assert info.value.field == "at"
    assert program.pending_events == [] and program.started_at() == T0


def test_cover_moves_the_start_for_a_fact_and_judges_the_decision_by_the_programs_zone(program):
    program.cover("checkin", ctx(day(-3), day(1)))
    moved = last(program)
    assert (moved.cause, moved.occurred_at, moved.name, moved.timezone) == ("checkin", day(-3), "My back",
                                                                            "Europe/Paris")
    program.cover("log", ctx(day(-2), day(1)))  # after the start now: nothing
    assert last(program) is moved and program.started_at() == day(-3)


# ----- names ---------------------------------------------------------------------------------


def test_name_taken_is_refused_case_insensitively(program):
    add(program, "a", name="Dead bug")
    with pytest.raises(Refused) as info:
        program.add_exercise("b", "  dead BUG ", None, RX, ctx(day(2)))
    assert info.value.rule == "name_taken"
    assert "dead BUG" in str(info.value)


def test_name_taken_by_an_exercise_added_later_refuses_a_backdated_add(program):
    add(program, "a", at=5, name="Bird dog")
    with pytest.raises(Refused) as info:
        program.add_exercise("b", "Bird dog", None, RX, ctx(day(2), day(6)))
    assert info.value.rule == "name_taken"


def test_name_of_a_retired_exercise_can_be_reused(program):
    add(program, "a", at=1, name="Plank")
    program.change_status("retire", "a", ctx(day(2)))
    program.add_exercise("b", "Plank", None, RX, ctx(day(3)))
    assert [(e.name, e.status) for e in program.view(day(3)).exercises.values()] == [
        ("Plank", "retired"), ("Plank", "active")]


@pytest.mark.parametrize("name, field", [("", "name"), ("   ", "name"), ("x" * 201, "name")])
def test_bad_names_are_invalid(program, name, field):
    with pytest.raises(InvalidValue) as info:
        program.add_exercise("a", name, None, RX, ctx(day(1)))
    assert info.value.field == field


def test_unknown_kind_is_invalid(program):
    with pytest.raises(InvalidValue) as info:
        program.add_exercise("a", "A", "yoga", RX, ctx(day(1)))
    assert info.value.field == "kind"


def test_add_normalizes_the_prescription(program):
    add(program, "a", sets=2, reps=None, hold_s=30)
    ex = program.view().exercises["a"]
    assert (ex.prescription["sets"], ex.prescription["reps"], ex.prescription["hold_s"]) == (2, None, 30)
    assert ex.prescription["load"] == {"type": "bodyweight", "magnitude": None, "unit": None}
    assert (ex.status, ex.signature, ex.parent, ex.components, ex.kind) == (
        "active", False, None, [], "segmental_control")


# ----- prescription changes ------------------------------------------------------------------


def test_change_records_exactly_the_changed_dimensions(program):
    add(program, "a")
    program.change_prescription("progress", "a", {"sets": 4, "reps": 10}, ctx(day(2)))
    e = last(program)
    assert isinstance(e, Program.ExerciseProgressed)
    assert e.changes == {"sets": {"from": 3, "to": 4}}
    assert (e.raised, e.lowered) == (["volume"], [])
    assert e.change() == ({"sets": 3}, {"sets": 4})


def test_regress_that_raises_is_refused_and_records_nothing(program):
    add(program, "a")
    with pytest.raises(Refused) as info:
        program.change_prescription("regress", "a", {"position": {"stage": 2}}, ctx(day(2)))
    assert info.value.rule == "regression_lowers_only"
    assert "position (1 -> 2)" in str(info.value)
    assert len(program.pending_events) == 2


def test_adapt_of_direction_is_recorded_as_adapted(program):
    add(program, "a")
    program.change_prescription("adapt", "a", {"direction": {"pattern": "anti_rotation"}}, ctx(day(2)))
    assert isinstance(last(program), Program.ExerciseAdapted)
    assert program.view().exercises["a"].prescription["direction"] == {"pattern": "anti_rotation", "plane": None}


def test_change_needs_a_reason_and_a_change(program):
    add(program, "a")
    with pytest.raises(InvalidValue) as info:
        program.change_prescription("progress", "a", {"sets": 4}, ctx(day(2), reason=None))
    assert info.value.field == "reason"
    with pytest.raises(InvalidValue) as info:
        program.change_prescription("progress", "a", {}, ctx(day(2)))
    assert info.value.field == "changes"


def test_change_of_unknown_exercise_is_not_found(program):
    with pytest.raises(NotFound):
        program.change_prescription("progress", "nope", {"sets": 4}, ctx(day(2)))


# ----- status: pause, resume, retire ---------------------------------------------------------


def test_pause_and_resume(program):
    add(program, "a")
    program.change_status("pause", "a", ctx(day(3)))
    with pytest.raises(Refused) as info:
        program.change_status("pause", "a", ctx(day(4)))
    assert info.value.rule == "status"
    program.change_status("resume", "a", ctx(day(5)))
    with pytest.raises(Refused) as info:
        program.change_status("resume", "a", ctx(day(6)))
    assert info.value.rule == "status"
    assert [program.view(day(d)).exercises["a"].status for d in (2, 3, 4, 5, 6)] == [
        "active", "paused", "paused", "active", "active"]
    assert isinstance(program.pending_events[-2], Program.ExercisePaused)
    assert (last(program).from_status, last(program).to_status) == ("paused", "active")


def test_a_paused_exercise_can_still_change_prescription(program):
    add(program, "a")
    program.change_status("pause", "a", ctx(day(2)))
    program.change_prescription("regress", "a", {"sets": 2}, ctx(day(3)))
    assert program.view().exercises["a"].prescription["sets"] == 2


def test_retired_exercise_takes_no_further_decisions(program):
    add(program, "a")
    add(program, "b", at=1)
    program.change_status("retire", "a", ctx(day(5)))
    attempts = {
        "progress": lambda c: program.change_prescription("progress", "a", {"sets": 4}, c),
        "pause": lambda c: program.change_status("pause", "a", c),
        "resume": lambda c: program.change_status("resume", "a", c),
        "retire": lambda c: program.change_status("retire", "a", c),
        "rebuild": lambda c: program.change_status("rebuild", "a", c),
        "deconstruct": lambda c: program.deconstruct("a", ["x", "y"], ["x", "y"], c),
        "promote": lambda c: program.promote("a", SignatureRule(), [], [], True, c),
        "demote": lambda c: program.demote("a", c),
    }
    for what, attempt in attempts.items():
        with pytest.raises(Refused) as info:
            attempt(ctx(day(6)))
        assert info.value.rule == "retired", what
        assert "retired" in str(info.value)
    # its history stays
    assert program.view(day(4)).exercises["a"].status == "active"
    assert program.view(day(6)).exercises["a"].status == "retired"
    assert [e.name for e in program.view(day(6)).in_program()] == ["b"]
    assert len(program.pending_events) == 4


def test_retire_before_a_later_decision_is_refused(program):
    add(program, "a")
    program.change_prescription("progress", "a", {"sets": 4}, ctx(day(5)))
    with pytest.raises(Refused) as info:
        program.change_status("retire", "a", ctx(day(3), day(6)))
    assert info.value.rule == "later_decisions"
    assert "2024-03-06" in str(info.value)
    # at the same time as the latest decision, or after it, is fine
    program.change_status("retire", "a", ctx(day(5), day(6)))
    assert program.view(day(5)).exercises["a"].status == "retired"
    assert program.view(day(4.9)).exercises["a"].status == "active"


def test_retire_needs_a_reason(program):
    add(program, "a")
    with pytest.raises(InvalidValue) as info:
        program.change_status("retire", "a", ctx(day(2), reason="  "))
    assert info.value.field == "reason"


# ----- deconstruct and rebuild ---------------------------------------------------------------


def test_deconstruct_into_new_components(program):
    add(program, "a", name="Deadlift", sets=2)
    program.deconstruct("a", ["Hip hinge", "Brace"], ["c1", "c2"], ctx(day(3)))
    e = last(program)
    assert isinstance(e, Program.ExerciseDeconstructed)
    assert e.exercise_ids == ("a", "c1", "c2")
    v = program.view(day(3))
    parent = v.exercises["a"]
    assert (parent.status, parent.components) == ("deconstructed", ["c1", "c2"])
    for cid, name in (("c1", "Hip hinge"), ("c2", "Brace")):
        c = v.exercises[cid]
        assert (c.name, c.parent, c.status, c.kind) == (name, "a", "active", "segmental_control")
        assert c.prescription == parent.prescription
    assert set(program.view(day(2)).exercises) == {"a"}


def test_deconstruct_links_existing_exercises_by_name(program):
    add(program, "a", name="Deadlift")
    add(program, "b", name="Bird dog")
    program.deconstruct("a", ["bird DOG", "Brace"], ["n1", "n2"], ctx(day(3)))
    v = program.view()
    assert v.exercises["a"].components == ["b", "n2"]
    assert v.exercises["b"].parent == "a"
    assert "n1" not in v.exercises
    assert [c["new"] for c in last(program).components] == [False, True]


@pytest.mark.parametrize("into, rule", [
    (["Only one"], "components_min"),
    ([], "components_min"),
    (["Brace", "brace "], "components_distinct"),
    (["Deadlift", "Brace"], "component_is_parent"),
])
def test_deconstruct_shape_rules(program, into, rule):
    add(program, "a", name="Deadlift")
    with pytest.raises(Refused) as info:
        program.deconstruct("a", into, [f"n{i}" for i in range(len(into))], ctx(day(3)))
    assert info.value.rule == rule
    assert program.view().exercises["a"].status == "active"


def test_deconstruct_cycle_is_refused(program):
    add(program, "a", name="A")
    program.deconstruct("a", ["B", "C"], ["b", "c"], ctx(day(2)))
    with pytest.raises(Refused) as info:
        program.deconstruct("b", ["X", "A"], ["x", "a2"], ctx(day(3)))
    assert info.value.rule == "component_cycle"
    assert "'A' is already above 'B'" in str(info.value)
    # deeper: A > B > D; D cannot take A back either
    program.deconstruct("b", ["D", "E"], ["d", "e"], ctx(day(4)))
    with pytest.raises(Refused) as info:
        program.deconstruct("d", ["Y", "A"], ["y", "a3"], ctx(day(5)))
    assert info.value.rule == "component_cycle"


def test_component_of_another_exercise_cannot_be_linked_again(program):
    add(program, "a", name="A")
    add(program, "q", name="Q")
    program.deconstruct("a", ["B", "C"], ["b", "c"], ctx(day(2)))
    with pytest.raises(Refused) as info:
        program.deconstruct("q", ["C", "Z"], ["c2", "z"], ctx(day(3)))
    assert info.value.rule == "component_has_parent"


def test_deconstructed_exercise_takes_no_prescription_change_until_rebuilt(program):
    add(program, "a", name="A")
    program.deconstruct("a", ["B", "C"], ["b", "c"], ctx(day(2)))
    with pytest.raises(Refused) as info:
        program.change_prescription("progress", "a", {"sets": 4}, ctx(day(3)))
    assert info.value.rule == "deconstructed"
    program.change_status("rebuild", "a", ctx(day(4)))
    assert isinstance(last(program), Program.ExerciseRebuilt)
    program.change_prescription("progress", "a", {"sets": 4}, ctx(day(5)))
    assert [program.view(day(d)).exercises["a"].status for d in (1, 2, 3, 4)] == [
        "active", "deconstructed", "deconstructed", "active"]


def test_rebuild_only_from_deconstructed(program):
    add(program, "a")
    with pytest.raises(Refused) as info:
        program.change_status("rebuild", "a", ctx(day(2)))
    assert info.value.rule == "status"
    assert "deconstructed" in str(info.value)
    program.change_status("pause", "a", ctx(day(3)))
    with pytest.raises(Refused):
        program.change_status("rebuild", "a", ctx(day(4)))


def test_deconstruct_before_a_later_decision_is_refused(program):
    add(program, "a")
    program.change_prescription("progress", "a", {"sets": 4}, ctx(day(5)))
    with pytest.raises(Refused) as info:
        program.deconstruct("a", ["X", "Y"], ["x", "y"], ctx(day(3), day(6)))
    assert info.value.rule == "later_decisions"


def test_deconstructed_exercise_can_be_retired(program):
    add(program, "a")
    program.deconstruct("a", ["X", "Y"], ["x", "y"], ctx(day(2)))
    program.change_status("retire", "a", ctx(day(3)))
    assert last(program).from_status == "deconstructed"
    assert program.view().exercises["a"].status == "retired"


# ----- signature library ---------------------------------------------------------------------


def good_exposures() -> list[Exposure]:
    return [Exposure(day(d), 4, 2, 2) for d in (2, 3, 4, 5, 6)]


def test_promote_with_insufficient_evidence_is_refused(program):
    add(program, "a", name="Bridge")
    with pytest.raises(Refused) as info:
        program.promote("a", SignatureRule(), [Exposure(day(2), 4, 2, 2)], [], False, ctx(day(7), reason=None))
    assert info.value.rule == "signature_evidence"
    assert "signature-evidence v1" in str(info.value)
    assert "1 logged exposures in 42 days, needs 5" in str(info.value)
    assert program.view().exercises["a"].signature is False


def test_forced_promotion_needs_a_reason(program):
    add(program, "a")
    with pytest.raises(InvalidValue) as info:
        program.promote("a", SignatureRule(), [], [], True, ctx(day(7), reason=None))
    assert info.value.field == "reason"


def test_forced_promotion_records_reason_forced_and_evidence(program):
    add(program, "a")
    rule = SignatureRule(version=3, min_exposures=4)
    program.promote("a", rule, [Exposure(day(2), 4, 2, 2)], [day(3)], True,
                    ctx(day(7), reason="therapist trusts it", reason_code="therapist"))
    e = last(program)
    assert isinstance(e, Program.ExercisePromoted)
    assert e.forced is True
    assert (e.reason, e.reason_code) == ("therapist trusts it", "therapist")
    assert e.evidence["rule"]["rule_id"] == "signature-evidence"
    assert e.evidence["rule"]["version"] == 3
    assert e.evidence["rule"]["min_exposures"] == 4
    assert e.evidence["met"] is False
    assert (e.evidence["exposures"], e.evidence["worse_responses"]) == (1, 1)
    assert e.evidence["unmet"]
    assert program.view(day(7)).exercises["a"].signature is True
    assert program.view(day(6)).exercises["a"].signature is False


def test_promotion_with_enough_evidence_is_not_forced(program):
    add(program, "a")
    program.promote("a", SignatureRule(), good_exposures(), [], True, ctx(day(7), reason=None))
    e = last(program)
    assert (e.forced, e.evidence["met"], e.evidence["unmet"]) == (False, True, [])
    with pytest.raises(Refused) as info:
        program.promote("a", SignatureRule(), good_exposures(), [], False, ctx(day(8)))
    assert info.value.rule == "already_signature"


def test_demote(program):
    add(program, "a")
    with pytest.raises(Refused) as info:
        program.demote("a", ctx(day(2)))
    assert info.value.rule == "not_signature"
    program.promote("a", SignatureRule(), good_exposures(), [], False, ctx(day(7)))
    with pytest.raises(InvalidValue):
        program.demote("a", ctx(day(9), reason=None))
    program.demote("a", ctx(day(9)))
    assert isinstance(last(program), Program.ExerciseDemoted)
    assert [program.view(day(d)).exercises["a"].signature for d in (6, 7, 8, 9)] == [False, True, True, False]


# ----- fittings ------------------------------------------------------------------------------


def test_fitting_open_and_close(program):
    program.fitting("open", "week one", ctx(day(1)))
    assert (last(program).number, last(program).notes) == (1, "week one")
    with pytest.raises(Refused) as info:
        program.fitting("open", None, ctx(day(2)))
    assert info.value.rule == "fitting_open"
    program.fitting("close", "done", ctx(day(8)))
    assert isinstance(last(program), Program.FittingClosed) and last(program).number == 1
    with pytest.raises(Refused) as info:
        program.fitting("close", None, ctx(day(9)))
    assert info.value.rule == "fitting_closed"
    program.fitting("open", None, ctx(day(10)))
    assert last(program).number == 2
    assert program.view(day(0.5)).fitting is None
    assert program.view(day(3)).fitting == {"number": 1, "opened": "2024-03-02T09:00:00.000000", "notes": "week one"}
    assert program.view(day(9)).fitting is None
    assert program.view(day(10)).fitting["number"] == 2


def test_fitting_numbers_stay_unique_with_backdated_fittings(program):
    program.fitting("open", None, ctx(day(10)))
    program.fitting("close", None, ctx(day(12)))
    program.fitting("open", None, ctx(day(3), day(13)))
    program.fitting("close", None, ctx(day(4), day(13)))
    program.fitting("open", None, ctx(day(20)))
    numbers = [e.number for e in program.pending_events if isinstance(e, Program.FittingOpened)]
    assert len(set(numbers)) == len(numbers), numbers


# ----- backdated decisions against the later ones (issue 9, item 8) --------------------------


def test_backdated_pause_before_a_later_pause_is_refused(program):
    add(program, "a", name="Dead bug")
    program.change_status("pause", "a", ctx(day(15)))
    program.change_status("resume", "a", ctx(day(18)))
    events = len(program.pending_events)
    with pytest.raises(Refused) as info:
        program.change_status("pause", "a", ctx(day(14), day(19)))
    assert info.value.rule == "later_decisions"
    assert "on 2024-03-16 it became paused" in str(info.value)
    assert "last status change was on 2024-03-19 (active)" in str(info.value)
    assert len(program.pending_events) == events
    program.change_status("pause", "a", ctx(day(19)))  # after the later ones it is fine
    statuses = [e.to_status for e in program.pending_events if isinstance(e, Program.StatusChanged)]
    assert statuses == ["paused", "active", "paused"]


def test_backdated_resume_and_deconstruct_must_fit_the_later_status_changes(program):
    add(program, "a")
    program.change_status("pause", "a", ctx(day(3)))
    program.change_status("resume", "a", ctx(day(6)))
    with pytest.raises(Refused) as info:  # resumed on day 4, the resume of day 6 would resume an active one
        program.change_status("resume", "a", ctx(day(4), day(7)))
    assert info.value.rule == "later_decisions"
    with pytest.raises(Refused):  # paused on day 2, then paused again on day 3
        program.change_status("pause", "a", ctx(day(2), day(7)))


def test_backdated_promotion_before_a_later_promotion_is_refused(program):
    add(program, "a")
    program.promote("a", SignatureRule(), [], [], True, ctx(day(20), reason="trusted"))
    program.demote("a", ctx(day(25)))
    with pytest.raises(Refused) as info:  # demoted on day 22, the demotion of day 25 would demote nothing
        program.demote("a", ctx(day(22), day(26)))
    assert info.value.rule == "later_decisions"
    with pytest.raises(Refused) as info:
        program.promote("a", SignatureRule(), [], [], True, ctx(day(10), day(26), reason="trusted"))
    assert info.value.rule == "later_decisions"


def test_backdated_close_before_a_later_close_is_refused(program):
    program.fitting("open", None, ctx(day(1)))
    program.fitting("close", None, ctx(day(5)))
    with pytest.raises(Refused) as info:
        program.fitting("close", None, ctx(day(3), day(6)))
    assert info.value.rule == "later_decisions"


def test_backdated_change_that_would_turn_a_later_one_around_is_refused(program):
    # A regression backdated before a later one made that one raise reps (6 -> 4, then "6 -> 5").
    add(program, "a", name="Dead bug", sets=3, reps=6)
    program.change_prescription("regress", "a", {"reps": 5}, ctx(day(24)))
    events = len(program.pending_events)
    for kind, changes, turned in (("regress", {"reps": 4}, "into a progress"), ("regress", {"reps": 5}, "into no change")):
        with pytest.raises(Refused) as info:
            program.change_prescription(kind, "a", changes, ctx(day(19), day(25)))
        assert info.value.rule == "later_decisions", str(info.value)
        assert f"the later regress of 'Dead bug' on 2024-03-25 {turned}" in str(info.value), str(info.value)
        assert len(program.pending_events) == events
    # SPEC 4: a backdated decision that leaves the later ones what they were lands where it belongs
    program.change_prescription("progress", "a", {"reps": 10}, ctx(day(10), day(25)))
    program.change_prescription("progress", "a", {"sets": 4}, ctx(day(19), day(25)))
    program.change_prescription("regress", "a", {"reps": 4}, ctx(day(26)))
    kinds = [(e.command, e.occurred_at.day) for e in program.pending_events[events:]]
    assert kinds == [("progress", 11), ("progress", 20), ("regress", 27)]


def test_a_later_adaptation_must_stay_an_adaptation(program):
    add(program, "a", sets=3, reps=10)
    stage2 = {"stage": 2, "posture": "supine"}
    program.change_prescription("adapt", "a", {"position": stage2, "reps": 8}, ctx(day(10)))  # up and down
    with pytest.raises(Refused) as info:  # stage 2 on day 5: day 10 would only lower reps
        program.change_prescription("progress", "a", {"position": stage2}, ctx(day(5), day(11)))
    assert "later adapt of 'a' on 2024-03-11 into a regress" in str(info.value), str(info.value)
    program.change_prescription("progress", "a", {"reps": 12}, ctx(day(5), day(11)))  # day 10 still adapts


# ----- a stale regression that wins (sync, issue 9 item 4) and the evidence of one exercise (item 5)


def test_a_winning_regression_gives_back_what_it_overrides_and_raises_nothing(program):
    add(program, "a", sets=3, reps=6)
    program.change_prescription("progress", "a", {"sets": 4}, ctx(day(5)))
    # decided against 3x6: reps down; the overridden progression of sets is given back
    program.change_prescription("regress", "a", {"reps": 4}, ctx(day(5)), restore={"sets": 3})
    e = last(program)
    assert e.changes == {"sets": {"from": 4, "to": 3}, "reps": {"from": 6, "to": 4}}
    assert e.lowered == ["volume"] and e.raised == []
    rx = program.view().exercises["a"].prescription
    assert (rx["sets"], rx["reps"]) == (3, 4)
    program.change_prescription("regress", "a", {"reps": 2}, ctx(day(6)))
    with pytest.raises(Refused) as info:  # lowers 3x6 to 3x4, yet raises the 3x2 in force
        program.change_prescription("regress", "a", {"reps": 4}, ctx(day(6)), restore={"reps": 6})
    assert info.value.rule == "not_conservative"


def test_promotion_counts_no_session_from_before_the_exercise_was_added(program):
    add(program, "a", at=40)
    early = [Exposure(day(30 + i * 0.5), 4, 2, 2) for i in range(8)]  # before day 40
    with pytest.raises(Refused) as info:
        program.promote("a", SignatureRule(), early, [], False, ctx(day(45)))
    assert "0 logged exposures" in str(info.value)
