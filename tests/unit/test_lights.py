"""The pain-monitoring lights as pure functions (``service.insights.lights``): each light and why, the sessions
awaiting their next day, the evidence a progression is refused on, and a policy changed after the fact."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.policies import PolicyBook, default
from service.insights.lights import awaiting, change_times, counts, judged, light, next_days, progression_check

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
POLICY = default("pain-monitoring")


def at(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat()


def session(fid: str, days: float, during=None, before=None, after=None, exercise="ex-1") -> dict:
    return {"id": fid, "type": "log", "voided": False, "exercise_id": exercise, "exercise": "Bridge",
            "occurred_at": at(days), "recorded_at": at(days), "pain_before": before, "pain_during": during,
            "pain_after": after}


def response(fid: str, days: float, session_id: str, verdict="same", pain=None, recorded: float | None = None) -> dict:
    return {"id": fid, "type": "next-day", "voided": False, "session_id": session_id, "verdict": verdict,
            "pain": pain, "occurred_at": at(days), "recorded_at": at(recorded if recorded is not None else days)}


def test_each_light_and_its_reasons():
    assert light(session("s", 0, during=2), None, POLICY) == ("green", ["pain during 2: at most 2"])
    assert light(session("s", 0, during=3), None, POLICY) == ("amber", ["pain during 3: above 2, at most 5"])
    assert light(session("s", 0, during=6), None, POLICY) == ("red", ["pain during 6: above 5"])
    assert light(session("s", 0, after=4), None, POLICY) == ("amber", ["pain after 4: above 2, at most 5"])
    assert light(session("s", 0), None, POLICY)[0] == "amber"
    worse = light(session("s", 0, during=1, before=2), {"verdict": "worse", "pain": 3}, POLICY)
    assert worse == ("red", ["pain during 1: at most 2", "next day: worse"])
    rise = light(session("s", 0, during=1, before=2), {"verdict": "same", "pain": 4}, POLICY)
    assert rise == ("red", ["pain during 1: at most 2", "next-day pain 4: at least pain before 2 + 2"])
    assert light(session("s", 0, during=1, before=2), {"verdict": "same", "pain": 3}, POLICY)[0] == "green"


def test_the_latest_next_day_response_counts_and_judged_names_the_rule():
    s = session("s", 0, during=1, before=2)
    responses = next_days([response("a", 1, "s", "worse"), response("b", 1, "s", "better", recorded=2),
                           {**response("c", 1.5, "s", "worse"), "voided": True}])
    assert responses["s"]["id"] == "b"
    out = judged(s, responses["s"], POLICY)
    assert (out["light"], out["next_day"]["verdict"], out["policy"]["id"], out["policy"]["version"]) == (
        "green", "better", "pain-monitoring", 1)
    assert counts([out, {**out, "light": "red"}]) == {"green": 1, "amber": 0, "red": 1}


def test_a_policy_changed_after_the_fact_judges_only_the_sessions_from_its_valid_time_on():
    book = PolicyBook.from_changes([("pain-monitoring", T0 + timedelta(days=10), {"green_max": 3, "amber_max": 5,
                                                                                  "next_day_rise": 2})])
    lights = [judged(session(f"s{d}", d, during=3), None,
                     book.at("pain-monitoring", T0 + timedelta(days=d)))["light"] for d in (5, 9.9, 10, 15)]
    assert lights == ["amber", "amber", "green", "green"]


def test_awaiting_is_the_first_session_after_an_add_or_a_progression_without_a_response():
    changes = change_times([{"type": "add", "exercise_id": "ex-1", "occurred_at": at(0)},
                            {"type": "regress", "exercise_id": "ex-1", "occurred_at": at(3.5)},
                            {"type": "progress", "exercise_id": "ex-1", "occurred_at": at(5.5)},
                            {"type": "add", "exercise_id": "ex-2", "occurred_at": at(0)}])
    sessions = [session("a", 1), session("b", 2), session("c", 4), session("d", 6), session("e", 7),
                session("x", 3, exercise="ex-2"), session("n", 8, exercise=None)]
    sessions.sort(key=lambda s: s["occurred_at"])
    responses = next_days([response("r", 6.5, "d")])
    # a: first after the add; d: first after the progression, but answered; x: ex-2's first; c follows a regression
    assert [s["id"] for s in awaiting(sessions, changes, responses)] == ["a", "x"]


def test_the_evidence_a_progression_is_refused_on():
    book = PolicyBook()
    changes = [T0, T0 + timedelta(days=5.5)]
    first, second = session("d", 6, during=1), session("e", 7, during=1)
    blocked = progression_check([first], {}, changes, book)
    assert (blocked["session_id"], blocked["light"], blocked["awaiting_next_day"]) == ("d", "green", True)
    assert blocked["policy"] == {"id": "pain-monitoring", "version": 1}
    assert progression_check([first], next_days([response("r", 7, "d")]), changes, book) is None
    assert progression_check([first, second], {}, changes, book) is None  # the first try was before the last
    red = progression_check([first, session("e", 7, during=7)], {}, changes, book)
    assert (red["session_id"], red["light"], red["awaiting_next_day"]) == ("e", "red", False)
    assert progression_check([], {}, changes, book) is None


def test_sessions_up_to_the_end_of_time_read_their_next_days_without_overflow():
    from service.insights.lights import judged_sessions
    from service.record import Record

    facts = [session("s", 0, during=1, before=2), response("r", 1, "s", "worse")]
    record = Record(timezone=timezone.utc, started=T0, policies=PolicyBook(),
                    read_facts=lambda since, until: [f for f in facts if since.isoformat() <= f["occurred_at"]
                                                     <= until.isoformat()],
                    read_decisions=list, view_at=lambda moment: None)
    end = datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc)
    assert [s["light"] for s in judged_sessions(record, T0 - timedelta(days=1), end)] == ["red"]
