"""Tension as data (issue 12, item 4), on records small enough to work out by hand.

A ``Record`` here holds plain facts and program views (no store: the stores' own
Records are checked in tests/e2e/test_tension_cli.py and tests/integration/test_api_tension.py).
Each rule is shown firing and, one detail changed, not firing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.policies import PolicyBook
from domain.view import ExerciseView, ProgramView
from service.insights.tension import REGRESS, SHOULDERS, UNILATERAL, tension
from service.record import Record

START = datetime(2026, 3, 1, 12, tzinfo=UTC)


def log(sid: str, day: int, exercise: str = "Bridge", *observed: str, voided: bool = False) -> dict:
    """A log fact on day ``day`` after START; each observation as ``MUSCLE:SIDE:KIND[:INTENSITY]``."""
    tension = []
    for text in observed:
        muscle, side, kind, *rest = text.split(":")
        tension.append({"muscle": muscle, "side": side, "kind": kind, "intensity": int(rest[0]) if rest else None})
    return {"id": sid, "type": "log", "occurred_at": (START + timedelta(days=day)).isoformat(), "voided": voided,
            "exercise": exercise, "exercise_id": exercise.lower(), "tension": tension}


def record(facts: list[dict], rx: dict[str, list[tuple[int, dict]]] | None = None,
           policy: list[tuple[int, dict]] = ()) -> Record:
    """``rx``: exercise -> [(from day, prescription)]; ``policy``: [(from day, tension-suggestions params)]."""
    rx = rx or {}

    def view_at(as_of: datetime) -> ProgramView:
        exercises = {}
        for name, changes in rx.items():
            now = [p for day, p in changes if START + timedelta(days=day) <= as_of]
            if now:
                exercises[name.lower()] = ExerciseView(name.lower(), name, None, "", "active", False, None, [],
                                                       {"target": [], "protect": [], **now[-1]})
        return ProgramView(name="T", exercises=exercises)

    def read_facts(since: datetime, until: datetime) -> list[dict]:
        return [f for f in facts if since <= datetime.fromisoformat(f["occurred_at"]) <= until]

    book = PolicyBook.from_changes(("tension-suggestions", START + timedelta(days=d), p) for d, p in policy)
    return Record(ZoneInfo("UTC"), START, book, read_facts, lambda: [], view_at)


def test_muscles_count_mean_kinds_and_exercises_most_seen_first():
    r = record([log("a", 1, "Bridge", "paraspinals:left:overactive:6", "glutes:both:underactive"),
                log("b", 2, "Bird dog", "paraspinals:left:guarding:3", "paraspinals:left:overactive"),
                log("c", 3, "Bridge", "paraspinals:left:overactive:2", "glutes:both:underactive:4"),
                log("v", 4, "Bridge", "hamstrings:left:cramping:9", voided=True)])
    out = tension(r)
    assert out["muscles"] == [
        {"muscle": "paraspinals", "side": "left", "count": 4, "mean_intensity": round(11 / 3, 2),
         "kinds": {"guarding": 1, "overactive": 3}, "exercises": ["Bird dog", "Bridge"]},
        {"muscle": "glutes", "side": "both", "count": 2, "mean_intensity": 4.0, "kinds": {"underactive": 2},
         "exercises": ["Bridge"]},
    ]
    assert out["sessions"] == 3 and out["since"] is None and out["until"] is None


def test_a_period_and_the_filters():
    r = record([log("a", 1, "Bridge", "paraspinals:left:overactive:6", "glutes:both:underactive"),
                log("b", 5, "Bridge", "paraspinals:right:overactive:4", "glutes:left:underactive:2")])
    since, until = START + timedelta(days=2), START + timedelta(days=6)
    out = tension(r, since, until)
    assert out["since"] == since.isoformat() and out["until"] == until.isoformat() and out["sessions"] == 1
    assert [(m["muscle"], m["side"]) for m in out["muscles"]] == [("glutes", "left"), ("paraspinals", "right")]
    assert [(m["muscle"], m["side"]) for m in tension(r, muscle="glutes")["muscles"]] == [("glutes", "both"),
                                                                                         ("glutes", "left")]
    assert [(m["muscle"], m["side"]) for m in tension(r, side="left")["muscles"]] == [("glutes", "left"),
                                                                                     ("paraspinals", "left")]


def test_sides_whose_means_differ_by_two_over_two_sessions_are_an_asymmetry():
    # a session's side counts with its highest intensity: left 6 and 5, right 3 and 3 -> 5.5 vs 3
    r = record([log("a", 1, "Bridge", "glutes:left:underactive:6", "glutes:left:underactive:1",
                    "glutes:right:underactive:3"),
                log("b", 2, "Dead bug", "glutes:left:underactive:5", "glutes:right:underactive:3"),
                log("c", 3, "Dead bug", "glutes:left:underactive:9")])  # right not observed: not counted
    assert tension(r)["asymmetries"] == [{"muscle": "glutes", "kind": "means-differ", "side": "left",
                                          "left_mean": 5.5, "right_mean": 3.0, "exposures": 2, "facts": ["a", "b"]}]


@pytest.mark.parametrize("facts", [
    # a difference of 1.5 only
    [log("a", 1, "Bridge", "glutes:left:underactive:5", "glutes:right:underactive:3"),
     log("b", 2, "Bridge", "glutes:left:underactive:4", "glutes:right:underactive:3")],
    # one session with both sides only (the other has no right intensity)
    [log("a", 1, "Bridge", "glutes:left:underactive:8", "glutes:right:underactive:3"),
     log("b", 2, "Bridge", "glutes:left:underactive:8", "glutes:right:underactive")],
])
def test_a_small_difference_or_a_single_comparable_session_is_not(facts):
    assert tension(record(facts))["asymmetries"] == []


def test_one_side_in_three_sessions_and_the_other_never_is_an_asymmetry():
    r = record([log("a", 1, "Bridge", "quadratus_lumborum:right:guarding:4"),
                log("b", 2, "Bridge", "quadratus_lumborum:right:guarding"),
                log("c", 3, "Bridge", "quadratus_lumborum:right:overactive:6", "quadratus_lumborum:both:guarding:2")])
    assert tension(r)["asymmetries"] == [{"muscle": "quadratus_lumborum", "kind": "one-sided", "side": "right",
                                          "left_mean": None, "right_mean": 5.0, "exposures": 3,
                                          "facts": ["a", "b", "c"]}]


def test_one_side_in_two_sessions_or_the_other_seen_once_is_not():
    two = [log("a", 1, "Bridge", "hip_flexors:left:overactive:4"),
           log("b", 2, "Bridge", "hip_flexors:left:overactive:4")]
    assert tension(record(two))["asymmetries"] == []
    seen = [*two, log("c", 3, "Bridge", "hip_flexors:left:overactive:4"),
            log("d", 4, "Bridge", "hip_flexors:right:overactive:4")]
    assert tension(record(seen))["asymmetries"] == []


def test_paraspinals_overactive_in_two_of_the_last_three_bridges_cite_those_two():
    r = record([log("old", 1, "Bridge", "paraspinals:left:overactive:5"),  # not among the last three
                log("b1", 2, "Bridge", "paraspinals:left:overactive:5"),
                log("b2", 3, "Bridge", "glutes:both:underactive:3"),
                log("b3", 4, "Bridge", "paraspinals:both:guarding:4"),
                log("d1", 4, "Dead bug", "paraspinals:left:overactive:5")])
    out = tension(r)
    assert out["suggestions"] == [{
        "rule_id": "tension-suggestions", "rule_version": 1, "exercise": "Bridge",
        "message": REGRESS.format(exercise="Bridge"), "facts": ["b1", "b3"], "muscles": ["paraspinals"],
        "why": "paraspinals overactive or guarding in 2 of the last 3 sessions"}]
    assert out["suggestions"][0]["message"] == "consider regressing the position or range of Bridge"


def test_one_hit_in_the_last_three_or_a_muscle_not_watched_fires_nothing():
    r = record([log("b1", 1, "Bridge", "paraspinals:left:overactive:5"),
                log("b2", 2, "Bridge", "paraspinals:left:overactive:5"),
                log("b3", 3, "Bridge", "paraspinals:left:underactive:5", "hip_flexors:left:overactive:5"),
                log("b4", 4, "Bridge", "hip_flexors:left:guarding:5")])
    assert tension(r)["suggestions"] == []


def test_a_protected_muscle_counts_as_protected_at_each_session():
    facts = [log("b1", 1, "Bridge", "hip_flexors:left:guarding:5"),
             log("b2", 3, "Bridge", "hip_flexors:left:overactive")]
    protected = record(facts, {"Bridge": [(0, {"protect": ["hip_flexors"]})]})
    [s] = tension(protected)["suggestions"]
    assert (s["message"], s["facts"], s["muscles"]) == (REGRESS.format(exercise="Bridge"), ["b1", "b2"],
                                                        ["hip_flexors"])
    late = record(facts, {"Bridge": [(0, {"protect": []}), (2, {"protect": ["hip_flexors"]})]})
    assert tension(late)["suggestions"] == []  # protected only from day 2: one session of the two


def test_upper_trapezius_overactive_in_two_of_three_suggests_taking_the_shoulders_out():
    facts = [log("a", 1, "Row", "upper_trapezius:left:overactive:3"), log("b", 2, "Row", "glutes:both:underactive"),
             log("c", 3, "Row", "upper_trapezius:both:overactive")]
    [s] = tension(record(facts))["suggestions"]
    assert (s["message"], s["facts"], s["exercise"]) == (SHOULDERS, ["a", "c"], "Row")
    guarding = [log("a", 1, "Row", "upper_trapezius:left:guarding:3"),
                log("c", 3, "Row", "upper_trapezius:both:overactive")]
    assert tension(record(guarding))["suggestions"] == []  # guarding is not overactive


def test_an_asymmetry_on_a_target_muscle_suggests_a_unilateral_exercise():
    facts = [log("a", 1, "Clamshell", "gluteus_medius:left:underactive:7", "gluteus_medius:right:underactive:3"),
             log("b", 2, "Clamshell", "gluteus_medius:left:underactive:6", "gluteus_medius:right:underactive:4"),
             log("c", 3, "Clamshell")]
    targets = record(facts, {"Clamshell": [(0, {"target": ["gluteus_medius"]})]})
    [s] = tension(targets)["suggestions"]
    assert (s["message"], s["facts"], s["muscles"]) == (UNILATERAL, ["a", "b"], ["gluteus_medius"])
    assert s["message"] == "consider a unilateral exercise for the weaker side"
    assert s["why"] == "gluteus_medius left 6.5, right 3.5 in 2 of the last 3 sessions"
    assert tension(record(facts, {"Clamshell": [(0, {"target": ["glutes"]})]}))["suggestions"] == []
    assert tension(targets, muscle="glutes")["suggestions"] == []  # --muscle narrows suggestions too


def test_the_policy_in_force_at_the_last_session_decides():
    facts = [log("b1", 1, "Bridge", "paraspinals:left:overactive:5"),
             log("b2", 2, "Bridge", "paraspinals:left:overactive:5"),
             log("b3", 5, "Bridge", "glutes:both:underactive")]
    stricter = record(facts, policy=[(3, {"min_hits": 3})])
    out = tension(stricter)
    assert out["suggestions"] == [] and out["policy"]["params"]["min_hits"] == 3
    # the same change valid after the last session leaves the answer as it was
    later = tension(record(facts, policy=[(6, {"min_hits": 3})]))
    assert [s["facts"] for s in later["suggestions"]] == [["b1", "b2"]] and later["policy"]["params"]["min_hits"] == 2
    # up to day 3, the period's last session is b2: the defaults (a change from day 3 on is not in force then)
    assert [s["facts"] for s in tension(stricter, until=START + timedelta(days=3))["suggestions"]] == [["b1", "b2"]]
