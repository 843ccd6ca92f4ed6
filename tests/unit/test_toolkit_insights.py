"""The fitting report, the signature rule's clauses, kits and flares as pure functions of a hand-made Record."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.errors import NotFound
from domain.evidence import Exposure, SignatureRule, clauses, evaluate
from domain.policies import PolicyBook, default
from domain.prescription import normalize
from domain.timeline import time_key
from domain.view import ExerciseView, ProgramView
from service.insights import fittings, flares, kit, signature
from service.record import Record

NOW = datetime(2026, 3, 30, 12, 0, tzinfo=timezone.utc)


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def fact(fid: str, kind: str, days_ago: float, **values) -> dict:
    return {"id": fid, "type": kind, "occurred_at": at(days_ago), "recorded_at": at(0), "voided": False, **values}


def log(fid: str, days_ago: float, exercise: str = "bridge", before=4, during=2, after=2) -> dict:
    return fact(fid, "log", days_ago, exercise_id=exercise, exercise=exercise.capitalize(), pain_before=before,
                pain_during=during, pain_after=after)


def exercise(eid: str, signature=True, status="active", added=60, **rx) -> ExerciseView:
    p = normalize({"position": {"stage": 1, "posture": "supine"}, "sets": 3, "reps": 10, **rx})
    return ExerciseView(id=eid, name=eid.capitalize(), kind=None, added=time_key(NOW - timedelta(days=added)),
                        status=status, signature=signature, parent=None, components=[], prescription=p)


def record(facts: list[dict], decisions: list[dict] = (), exercises: list[ExerciseView] = (),
           book: PolicyBook | None = None) -> Record:
    view = ProgramView(name="P", exercises={e.id: e for e in exercises})
    return Record(timezone=ZoneInfo("UTC"), started=NOW - timedelta(days=90), policies=book or PolicyBook(),
                  read_facts=lambda since, until: [f for f in facts if since <= datetime.fromisoformat(
                      f["occurred_at"]) <= until],
                  read_decisions=lambda: list(decisions), view_at=lambda _: view)


# ----- the evidence rule: clauses judged in one place -----------------------------------------------


def test_unmet_derives_from_the_clauses_and_keeps_the_stored_shape():
    exposures = [Exposure(NOW - timedelta(days=d), 4, 6 if d == 1 else 2, 4) for d in (1, 2)]
    measured, judged = clauses(SignatureRule(), NOW, "UTC", exposures, [NOW - timedelta(days=1)])
    evidence = evaluate(SignatureRule(), NOW, "UTC", exposures, [NOW - timedelta(days=1)])
    assert list(evidence) == ["rule", "window_start", "exposures", "days", "max_pain_during", "worse_responses",
                              "relief_ratio", "unmet", "met"]
    assert evidence["unmet"] == [c["unmet"] for c in judged if not c["met"]]
    assert [(c["clause"], c["required"], c["measured"], c["met"]) for c in judged] == [
        ("exposures", 5, 2, False), ("days", 3, 2, False), ("max_pain_during", 5, 6, False),
        ("worse_responses", 0, 1, False), ("relief_ratio", 0.6, 0.0, False)]
    assert evidence["unmet"][2] == "pain during reached 6, must never be above 5"


def test_explain_and_candidates_read_the_rule_in_force():
    facts = [log(f"s{d}", d, during=3, after=2) for d in (1, 2, 3, 4, 5)]
    facts += [log(f"d{d}", d, exercise="deadbug") for d in (1, 2)]
    exercises = [exercise("bridge", signature=False), exercise("deadbug", signature=False),
                 exercise("plank", signature=True)]
    out = signature.explain(record(facts, exercises=exercises), "bridge", NOW)
    assert out["met"] is True and [c["measured"] for c in out["clauses"]] == [5, 5, 3, 0, 1.0]
    assert {"clause", "required", "measured", "met"} <= set(out["clauses"][0])
    assert signature.candidates(record(facts, exercises=exercises), NOW)["candidates"][0]["exercise"] == "Bridge"
    assert len(signature.candidates(record(facts, exercises=exercises), NOW)["candidates"]) == 1
    stricter = PolicyBook.from_changes([("signature-evidence", NOW - timedelta(days=30), {"min_exposures": 6})])
    out = signature.explain(record(facts, exercises=exercises, book=stricter), "bridge", NOW)
    assert (out["met"], out["rule"]["min_exposures"], out["clauses"][0]["met"]) == (False, 6, False)
    with pytest.raises(NotFound):
        signature.explain(record(facts, exercises=exercises), "nothing", NOW)


# ----- kits ------------------------------------------------------------------------------------------


def test_a_kit_time_is_sets_times_work_plus_rest_between_sets():
    policy = default("kit")
    assert kit.seconds(normalize({"position": {"stage": 1}, "sets": 3, "reps": 10}), policy) == 3 * 40 + 2 * 30
    assert kit.seconds(normalize({"position": {"stage": 1}, "sets": 2, "hold_s": 20, "per_side": True}),
                       policy) == 2 * 40 + 30


def test_travel_leaves_out_equipment_flare_keeps_low_stages_by_flare_relief_and_the_budget_holds():
    exercises = [exercise("bridge"), exercise("deadbug"),
                 exercise("row", load={"type": "free_weight", "magnitude": 5, "unit": "kg"}),
                 exercise("band", load={"type": "elastic", "magnitude": 1, "unit": "band"}),
                 exercise("squat", position={"stage": 4}), exercise("curl", signature=False),
                 exercise("plank", status="paused")]
    facts = [fact("f1", "flare-start", 10, pain=7), log("b1", 9, before=6, after=5),
             log("d1", 9, exercise="deadbug", before=6, after=3), fact("f2", "flare-end", 8)]
    rec = record(facts, exercises=exercises)
    travel = kit.kit(rec, 60, "travel", NOW)
    assert [e["exercise"] for e in travel["exercises"]] == ["Bridge", "Deadbug", "Band", "Squat"]
    assert {e["exercise"]: e["why"][:15] for e in travel["left_out"]} == {"Row": "needs equipment",
                                                                         "Plank": "status: paused"}
    flare = kit.kit(rec, 60, "flare", NOW)
    assert [e["exercise"] for e in flare["exercises"]] == ["Deadbug", "Bridge", "Row", "Band"]
    assert flare["exercises"][0]["flare_mean_drop"] == 3 and "stage 4" in flare["left_out"][0]["why"]
    small = kit.kit(rec, 6, None, NOW)
    assert [e["exercise"] for e in small["exercises"]] == ["Bridge", "Deadbug"]
    assert small["minutes_estimated"] == 6.0 and small["minutes_budget"] == 6
    assert "takes 3.0 min; 0.0 min left of 6" in [e["why"] for e in small["left_out"]]


# ----- flares ----------------------------------------------------------------------------------------


def test_flares_pair_starts_and_ends_take_the_peak_and_rank_exposures_by_mean_drop():
    facts = [fact("f1", "flare-start", 20, pain=6), log("b1", 19, before=6, during=8, after=5),
             fact("n1", "next-day", 18, session_id="b1", exercise_id="bridge", verdict="worse"),
             log("d1", 19, exercise="deadbug", before=7, after=4), log("d2", 18, exercise="deadbug", before=5, after=4),
             fact("c1", "checkin", 18, pain=7), fact("f2", "flare-end", 17, pain=3),
             log("b2", 15, before=4, after=0),  # between flares: no exposure
             fact("f3", "flare-start", 5, pain=5), fact("f4", "flare-start", 4, pain=9)]
    out = flares.flares(record(facts))["flares"]
    assert [(f["start"], f["end"], f["peak_pain"]) for f in out] == [(at(20), at(17), 8), (at(5), None, 9)]
    assert [(e["exercise"], e["sessions"], e["mean_drop"], e["worse_next_day"]) for e in out[0]["exposures"]] == [
        ("Deadbug", 2, 2.0, 0), ("Bridge", 1, 1.0, 1)]
    assert out[1]["exposures"] == []


def test_flares_of_a_period_start_one_begun_before_it_at_its_start():
    facts = [fact("f1", "flare-start", 20, pain=6), log("b1", 19, before=6, after=5),
             log("d1", 18, exercise="deadbug", before=7, after=4), fact("f2", "flare-end", 17, pain=3),
             log("b2", 15, before=4, after=0), fact("f3", "flare-start", 5, pain=5)]
    rec = record(facts)
    out = flares.flares(rec, NOW - timedelta(days=18, hours=12), NOW)["flares"]
    assert [(f["start"], f["start_id"], f["end"], f["peak_pain"]) for f in out] == [
        (None, None, at(17), 7), (at(5), "f3", None, 5)]
    assert [e["exercise"] for e in out[0]["exposures"]] == ["Deadbug"]  # the bridge session was before the period
    # the whole record still leaves a stray end alone, and a period with nothing of a flare has none
    assert [f["start_id"] for f in flares.flares(rec)["flares"]] == ["f1", "f3"]
    assert flares.flares(rec, NOW - timedelta(days=16), NOW - timedelta(days=6))["flares"] == []


# ----- fittings --------------------------------------------------------------------------------------


def decision(kind: str, days_ago: float, mid: str, before=None, after=None) -> dict:
    return {"type": kind, "exercise": None, "exercise_id": None, "occurred_at": at(days_ago), "recorded_at": at(0),
            "reason": None, "reason_code": "unspecified", "from": before, "to": after, "device_id": "d",
            "mutation_id": mid, "version": 1}


FITTINGS = [decision("fitting-open", 40, "o1", {"fitting": None}, {"fitting": 1, "notes": None}),
            decision("fitting-close", 36, "c1", {"fitting": 1}, {"fitting": None, "notes": None}),
            decision("fitting-open", 20, "o2", {"fitting": None}, {"fitting": 2, "notes": None})]


def test_the_report_counts_lights_and_next_days_and_suggests_from_red_sessions():
    facts = [log("s1", 19, during=1), log("s2", 18, during=7),
             fact("n1", "next-day", 17, session_id="s1", exercise_id="bridge", verdict="better"),
             log("s3", 39, during=1)]  # in fitting 1
    out = fittings.report(record(facts, FITTINGS), None, NOW)
    assert out["fitting"] == {"number": 2, "opened_at": at(20), "closed_at": None}
    assert out["exercises"] == [{"exercise": "Bridge", "exercise_id": "bridge", "sessions": 2,
                                 "lights": {"green": 1, "amber": 0, "red": 1},
                                 "next_day": {"better": 1, "same": 0, "worse": 0, "missing": 1}}]
    assert [(s["rule_id"], s["facts"]) for s in out["suggestions"]] == [("pain-monitoring", ["s2"])]
    assert (out["next_due"], out["due"]) == (at(6), True) and [d["mutation_id"] for d in out["decisions"]] == ["o2"]
    first = fittings.report(record(facts, FITTINGS), 1, NOW)
    assert first["fitting"]["closed_at"] == at(36) and first["exercises"][0]["sessions"] == 1
    assert first["next_due"] == at(33) and first["due"] is False  # closed after 4 days: due 7 days after opening
    with pytest.raises(NotFound, match="no fitting 3"):
        fittings.report(record(facts, FITTINGS), 3, NOW)
    with pytest.raises(NotFound, match="no fitting yet"):
        fittings.report(record(facts, []), None, NOW)


def test_fitting_due_follows_the_policy_in_force_when_it_opened():
    fitting = {"number": 1, "opened": time_key(NOW - timedelta(days=15)), "notes": None}
    assert fittings.fitting_due(fitting, PolicyBook(), NOW) is True
    assert fittings.fitting_due(fitting, PolicyBook(), NOW - timedelta(days=2)) is False
    longer = PolicyBook.from_changes([("fittings", NOW - timedelta(days=30), {"min_days": 7, "max_days": 21})])
    assert fittings.fitting_due(fitting, longer, NOW) is False
    later = PolicyBook.from_changes([("fittings", NOW - timedelta(days=1), {"min_days": 7, "max_days": 21})])
    assert fittings.fitting_due(fitting, later, NOW) is True
    assert fittings.fitting_due(None, PolicyBook(), NOW) is False
