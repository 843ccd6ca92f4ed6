"""domain.facts: FactLog record/correct/void and value validation (SPEC 3.2 facts)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count
from uuid import UUID, uuid4

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from domain.errors import InvalidValue, NotFound, Refused
from domain.facts import FIELDS, FactLog, fact_log_id, month_of, sleep_values, validate

PROGRAM_ID = UUID("00000000-0000-4000-8000-000000000001")
AT = datetime(2024, 3, 10, 8, 0, tzinfo=timezone.utc)
_ids = count()


def later(hours: float) -> datetime:
    return AT + timedelta(hours=hours)


def new_id(prefix: str = "f") -> str:
    return f"{prefix}-{next(_ids)}"


@pytest.fixture
def log() -> FactLog:
    return FactLog.open(PROGRAM_ID, "2024-03")


def log_session(log: FactLog, at: datetime = AT, **values) -> str:
    fid = new_id()
    session = validate("log", {"sets": 3, "reps": 10, "pain_before": 4, "pain_during": 3, "pain_after": 2, **values})
    log.record("log", fid, at, at, "phone", new_id("m"), exercise_id="ex-1", exercise_name="Bridge", session=session)
    return fid


def checkin(log: FactLog, at: datetime = AT, **values) -> str:
    fid = new_id()
    log.record("checkin", fid, at, at, "phone", new_id("m"), details=validate("checkin", {"pain": 3, **values}))
    return fid


def correct(log: FactLog, target: str, values: dict, reason: str | None = "typo") -> None:
    log.correct(target, values, reason, new_id(), later(1), later(1), "laptop", new_id("m"))


def void(log: FactLog, target: str, reason: str | None = "wrong exercise") -> None:
    log.void(target, reason, new_id(), later(2), later(2), "laptop", new_id("m"))


# ----- streams -------------------------------------------------------------------------------


def test_log_stream_is_per_program_and_utc_month(log):
    assert log.id == fact_log_id(PROGRAM_ID, "2024-03")
    assert log.id != fact_log_id(PROGRAM_ID, "2024-04") != fact_log_id(uuid4(), "2024-03")
    assert (log.program_id, log.month, log.facts) == (str(PROGRAM_ID), "2024-03", {})
    # 00:30 on 1 April in Paris is still March in UTC
    paris_april = datetime(2024, 4, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    assert month_of(paris_april) == "2024-03"


def test_fact_from_another_month_is_refused(log):
    with pytest.raises(InvalidValue) as info:
        log.record("checkin", "f", datetime(2024, 4, 2, tzinfo=timezone.utc), datetime(2024, 4, 2, tzinfo=timezone.utc),
                   "phone", "m", details=validate("checkin", {"pain": 3}))
    assert info.value.field == "at"
    assert "2024-04" in str(info.value)


def test_fact_in_the_future_is_refused(log):
    with pytest.raises(InvalidValue) as info:
        log.record("checkin", "f", later(1), AT, "phone", "m", details=validate("checkin", {"pain": 3}))
    assert info.value.field == "at"


# ----- record --------------------------------------------------------------------------------


def test_record_a_session(log):
    fid = log_session(log, tension=[{"muscle": "paraspinals", "side": "left", "intensity": 6}])
    fact = log.facts[fid]
    assert type(log.pending_events[-1]).__qualname__ == "FactLog.SessionLogged"
    assert fact["type"] == "log" and fact["exercise"] == "Bridge" and fact["exercise_id"] == "ex-1"
    assert (fact["pain_before"], fact["pain_during"], fact["pain_after"]) == (4, 3, 2)
    assert fact["tension"] == [{"muscle": "paraspinals", "side": "left", "kind": "overactive", "intensity": 6}]
    assert (fact["voided"], fact["corrections"]) == (False, 0)
    assert fact["occurred_at"] == AT.isoformat() and fact["recorded_at"] == AT.isoformat()


@pytest.mark.parametrize("command, values, event", [
    ("break", {"kind": "walk", "seconds": 45}, FactLog.MicroBreakTaken),
    ("checkin", {"pain": 5, "starts": "low_back", "travels": ["left_buttock"]}, FactLog.CheckedIn),
    ("flare-start", {"pain": 7, "note": "lifted a box"}, FactLog.FlareStarted),
    ("flare-end", {"pain": 2}, FactLog.FlareEnded),
    ("sleep", {"hours": 7.5, "quality": 6, "position": "side", "pain_morning": 3, "note": "woke once"},
     FactLog.SleepRecorded),
])
def test_record_simple_facts(log, command, values, event):
    log.record(command, "f1", AT, AT, "phone", "m1", details=validate(command, values))
    assert type(log.pending_events[-1]).__qualname__ == event.__qualname__
    assert log.facts["f1"]["type"] == command
    for k, v in values.items():
        assert log.facts["f1"][k] == v


def test_record_next_day_response(log):
    sid = log_session(log)
    log.record("next-day", "nd", later(24), later(24), "phone", "m", exercise_id="ex-1", exercise_name="Bridge",
               session_id=sid, response=validate("next-day", {"verdict": "worse", "pain": 5}))
    assert {k: log.facts["nd"][k] for k in ("type", "verdict", "pain", "session_id")} == {
        "type": "next-day", "verdict": "worse", "pain": 5, "session_id": sid}


# ----- validate ------------------------------------------------------------------------------


@pytest.mark.parametrize("command, values, field", [
    ("log", {"pain_before": 11}, "pain_before"),
    ("log", {"pain_during": -1}, "pain_during"),
    ("log", {"pain_after": 11}, "pain_after"),
    ("log", {"effort": 11}, "effort"),
    ("log", {"sets": -1}, "sets"),
    ("log", {"hold_s": 4000}, "hold"),
    ("log", {"tension": [{"muscle": "biceps"}]}, "tension.muscle"),
    ("log", {"tension": [{"muscle": "glutes", "intensity": 11}]}, "tension.intensity"),
    ("log", {"tension": ["glutes"]}, "tension"),
    ("next-day", {"verdict": "meh"}, "verdict"),
    ("next-day", {"verdict": "same", "pain": 11}, "pain"),
    ("checkin", {"pain": 11}, "pain"),
    ("checkin", {}, "pain"),
    ("checkin", {"pain": 2, "starts": "elbow"}, "starts"),
    ("break", {"kind": "nap"}, "kind"),
    ("break", {"kind": "walk", "seconds": 0}, "seconds"),
    ("flare-start", {"pain": 11}, "pain"),
    ("sleep", {"hours": 24.5}, "hours"),
    ("sleep", {"hours": -0.5}, "hours"),
    ("sleep", {"hours": 7.3}, "hours"),
    ("sleep", {"hours": "7"}, "hours"),
    ("sleep", {"hours": True}, "hours"),
    ("sleep", {"quality": 11}, "quality"),
    ("sleep", {"quality": 6.5}, "quality"),
    ("sleep", {"position": "upside_down"}, "position"),
    ("sleep", {"pain_morning": 11}, "pain_morning"),
])
def test_validate_refuses_out_of_range_values_naming_the_field(command, values, field):
    with pytest.raises(InvalidValue) as info:
        validate(command, values)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}:")


def test_pain_11_message_names_the_allowed_range():
    with pytest.raises(InvalidValue) as info:
        validate("log", {"pain_before": 11})
    assert str(info.value) == "pain_before: 11 is out of range; allowed 0..10"


def test_sleep_hours_are_whole_or_half_hours_kept_as_given():
    assert [validate("sleep", {"hours": h})["hours"] for h in (0, 7, 7.0, 7.5, 24)] == [0, 7, 7, 7.5, 24]
    assert isinstance(validate("sleep", {"hours": 8.0})["hours"], int)


def test_a_sleep_record_needs_at_least_one_measure():
    with pytest.raises(InvalidValue) as info:
        sleep_values({"note": "slept"})
    assert info.value.field == "hours" and "at least one of hours, quality, position or pain_morning" in str(info.value)
    assert sleep_values({"position": "back"})["position"] == "back"


def test_a_sleep_fact_is_corrected_field_by_field(log):
    log.record("sleep", "s1", AT, AT, "phone", "m1", details=validate("sleep", {"hours": 6, "quality": 5}))
    log.correct("s1", {"hours": 6.5, "position": "mixed"}, "tracker", "c1", AT, AT, "phone", "m2")
    fact = log.facts["s1"]
    assert (fact["hours"], fact["quality"], fact["position"], fact["corrections"]) == (6.5, 5, "mixed", 1)
    with pytest.raises(InvalidValue) as info:
        log.correct("s1", {"hours": 30}, None, "c2", AT, AT, "phone", "m3")
    assert info.value.field == "hours"
    with pytest.raises(InvalidValue) as info:
        log.correct("s1", {"verdict": "worse"}, None, "c3", AT, AT, "phone", "m4")
    assert info.value.field == "verdict"
    assert "correctable: hours, quality, position, pain_morning, note" in str(info.value)


def test_validate_fills_every_field_of_the_command():
    out = validate("log", {"pain_before": 0, "pain_after": 10})
    assert set(out) == set(FIELDS["log"])
    assert (out["pain_before"], out["pain_after"], out["sets"], out["tension"]) == (0, 10, None, [])


# ----- correct -------------------------------------------------------------------------------


def test_correct_changes_only_the_given_fields_and_keeps_the_history(log):
    fid = log_session(log)
    correct(log, fid, {"pain_after": 1, "pain_before": 4})
    e = log.pending_events[-1]
    assert isinstance(e, FactLog.FactCorrected)
    assert (e.target_id, e.changes, e.reason) == (fid, {"pain_after": {"from": 2, "to": 1}}, "typo")
    assert log.facts[fid]["pain_after"] == 1
    assert log.facts[fid]["corrections"] == 1
    assert e.fact_id not in log.facts  # a correction is not a fact of its own
    assert [type(x).__name__ for x in log.pending_events] == ["Opened", "SessionLogged", "FactCorrected"]


def test_correcting_a_field_that_does_not_belong_is_refused_naming_it(log):
    fid = checkin(log)
    with pytest.raises(InvalidValue) as info:
        correct(log, fid, {"pain_before": 2})
    assert info.value.field == "pain_before"
    assert "checkin" in str(info.value)
    bid = new_id()
    log.record("break", bid, AT, AT, "phone", "m", details=validate("break", {"kind": "walk"}))
    with pytest.raises(InvalidValue) as info:
        correct(log, bid, {"seconds": 30, "verdict": "worse"})
    assert info.value.field == "verdict"
    assert log.facts[bid]["corrections"] == 0


def test_correction_values_are_validated(log):
    fid = log_session(log)
    with pytest.raises(InvalidValue) as info:
        correct(log, fid, {"pain_during": 11})
    assert info.value.field == "pain_during"
    assert log.facts[fid]["pain_during"] == 3


def test_correction_that_changes_nothing_is_refused(log):
    fid = log_session(log)
    with pytest.raises(Refused) as info:
        correct(log, fid, {"pain_before": 4})
    assert info.value.rule == "no_change"


def test_correcting_an_unknown_fact_is_not_found(log):
    with pytest.raises(NotFound) as info:
        correct(log, "nope", {"pain": 1})
    assert info.value.what == "fact"


# ----- void ----------------------------------------------------------------------------------


def test_void_marks_the_fact_and_keeps_it(log):
    fid = checkin(log)
    void(log, fid)
    e = log.pending_events[-1]
    assert isinstance(e, FactLog.FactVoided)
    assert (e.target_id, e.reason) == (fid, "wrong exercise")
    assert log.facts[fid]["voided"] is True
    assert log.facts[fid]["pain"] == 3


def test_void_twice_is_refused(log):
    fid = checkin(log)
    void(log, fid)
    with pytest.raises(Refused) as info:
        void(log, fid)
    assert info.value.rule == "fact_voided"
    assert len(log.pending_events) == 3


def test_voided_fact_cannot_be_corrected(log):
    fid = checkin(log)
    void(log, fid)
    with pytest.raises(Refused) as info:
        correct(log, fid, {"pain": 1})
    assert info.value.rule == "fact_voided"


def test_void_needs_a_reason(log):
    fid = checkin(log)
    for reason in (None, "  "):
        with pytest.raises(InvalidValue) as info:
            void(log, fid, reason=reason)
        assert info.value.field == "reason"
    assert log.facts[fid]["voided"] is False


def test_void_unknown_fact_is_not_found(log):
    with pytest.raises(NotFound):
        void(log, "nope")


# ----- event classes -------------------------------------------------------------------------

# Regression: FactLog.EVENTS once held the nested classes from the class body, before the library
# replaced them, so recorded facts were of the unprocessed classes and saving could raise TopicError.


@pytest.mark.parametrize("command", sorted(FactLog.EVENTS))
def test_recorded_fact_is_an_instance_of_the_aggregate_event_class(log, command):
    expected = {"log": "SessionLogged", "next-day": "NextDayRecorded", "break": "MicroBreakTaken",
                "checkin": "CheckedIn", "flare-start": "FlareStarted", "flare-end": "FlareEnded",
                "assess": "OutcomeAssessed", "sleep": "SleepRecorded"}[command]
    if command == "assess":
        values = {"instrument": "nprs", "instrument_version": "0-10", "answers": {"pain": 4}, "activity_names": {},
                  "score": 4}
    elif command == "log":
        values = {"exercise_id": "e1", "exercise_name": "Bridge", "session": validate("log", {})}
    elif command == "next-day":
        values = {"exercise_id": "e1", "exercise_name": "Bridge", "session_id": None,
                  "response": validate("next-day", {"verdict": "same"})}
    else:
        raw = {"checkin": {"pain": 3}, "break": {"kind": "walk", "seconds": 40},
               "sleep": {"hours": 7}}.get(command, {})
        values = {"details": validate(command, raw)}
    log.record(command, new_id(), AT, AT, "phone", new_id("m"), **values)
    assert type(log.pending_events[-1]) is getattr(FactLog, expected)


def test_a_fact_can_be_saved_after_loading_a_stored_fact_of_the_same_type(tmp_path):
    # in its own interpreter: the eventsourcing topic cache is process-wide
    script = textwrap.dedent(f"""
        from datetime import datetime, timezone
        from eventsourcing.utils import resolve_topic
        from domain.facts import FactLog, validate
        from service.application import BackstoryApp, program_id_for
        from service.config import parse_store

        resolve_topic("domain.facts:FactLog.CheckedIn")  # what loading a stored check-in does
        app = BackstoryApp(parse_store("sqlite:///" + {str(tmp_path / "s.sqlite")!r}).env)
        ledger = app.ledger(program_id_for("local"))
        log = FactLog.open(ledger.program_id, "2024-03")
        at = datetime(2024, 3, 10, tzinfo=timezone.utc)
        log.record("checkin", "f1", at, at, "phone", "m1", details=validate("checkin", {{"pain": 3}}))
        ledger.save(log)
        assert ledger.fact_log("2024-03").facts["f1"]["pain"] == 3
        app.close()
    """)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


# ----- assessments -------------------------------------------------------------------------------


def test_an_assessment_event_with_a_score_its_answers_do_not_give_is_refused_when_applied(log):
    """The check is in the event's apply: a replay of an altered stored event refuses it as a new one would."""
    odi = [3, 2, 1, None, 0, 2, 1, 1, 2, 0]
    with pytest.raises(Refused) as e:
        log.record("assess", new_id(), AT, AT, "phone", new_id("m"), instrument="odi", instrument_version="2.1a",
                   answers=odi, activity_names={}, score=20.0)
    assert e.value.rule == "score_mismatch" and "score 26.7" in str(e.value)
    assert log.facts == {}
    fid = new_id()
    log.record("assess", fid, AT, AT, "phone", new_id("m"), instrument="odi", instrument_version="2.1a",
               answers=odi, activity_names={}, score=26.7)
    log.correct(fid, {"answers": "3,2,1,-,0,2,1,1,2,5"}, "misread", new_id(), later(1), later(1), "phone", new_id("m"))
    assert (log.facts[fid]["score"], log.facts[fid]["corrections"]) == (37.8, 1)  # 17 / 45
    with pytest.raises(Refused) as e:
        log.correct(fid, {"answers": "3,2,1,-,0,2,1,1,2,5"}, None, new_id(), later(2), later(2), "phone", new_id("m"))
    assert e.value.rule == "no_change"
    with pytest.raises(InvalidValue) as bad:
        log.correct(fid, {"sets": 3}, None, new_id(), later(2), later(2), "phone", new_id("m"))
    assert bad.value.field == "sets" and "correctable: answers" in str(bad.value)
