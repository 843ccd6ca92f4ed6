"""Outcome measures: scores worked out by hand, refusals naming the field, verdicts at and around each MCID."""

from __future__ import annotations

import pytest

from domain import outcomes
from domain.errors import InvalidValue, Refused
from domain.mcid import summarize, verdict


def scored(instrument: str, **args):
    answers, names = outcomes.parse_answers(instrument, args)
    return outcomes.score(instrument, answers), answers, names


# ----- scoring -----------------------------------------------------------------------------------


@pytest.mark.parametrize("answers, expected", [
    ("3,2,1,-,0,2,1,1,2,0", 26.7),   # 12 / (5 x 9) = 26.666.. -> 26.7
    ("3,2,1,-,0,2,1,1,2,-", 30.0),   # 12 / 40, two sections unanswered
    ("0,0,0,0,0,0,0,0,0,0", 0.0),
    ("5,5,5,5,5,5,5,5,5,5", 100.0),
    ("1,0,0,0,0,0,0,0,0,0", 2.0),    # 1 / 50
    ("1,1,0,0,0,0,0,0,-,-", 5.0),    # 2 / 40
    ("1,0,0,0,0,0,0,0,0,-", 2.2),    # 1 / 45 = 2.222..
    ("4,0,0,0,0,0,0,0,0,-", 8.9),    # 4 / 45 = 8.888..
])
def test_odi_is_sum_over_five_times_answered_to_one_decimal(answers, expected):
    assert scored("odi", answers=answers)[0] == expected


def test_odi_with_eight_answered_keeps_its_exact_half():
    assert scored("odi", answers="1,1,1,1,1,1,1,0,-,-")[0] == 17.5  # 7 / 40


def test_odi_with_three_sections_unanswered_is_refused_naming_the_count():
    with pytest.raises(InvalidValue) as e:
        scored("odi", answers="3,2,1,-,0,2,-,1,-,0")
    assert e.value.field == "answers" and "only 7 of 10 sections answered" in str(e.value)
    assert "at least 8" in str(e.value)


@pytest.mark.parametrize("answers, words", [
    ("3,2,1,0,0,2,1,1,2", "has 9 values"),
    ("3,2,1,6,0,2,1,1,2,0", "section 4 is 6; allowed 0..5"),
    ("3,x,1,0,0,2,1,1,2,0", "section 2 'x' is not a whole number; allowed 0..5"),
])
def test_odi_refusals_name_the_field_and_what_is_allowed(answers, words):
    with pytest.raises(InvalidValue) as e:
        scored("odi", answers=answers)
    assert e.value.field == "answers" and words in str(e.value)


def test_rmdq_both_ways_give_the_same_score():
    by_number = scored("rmdq", answers="1,4,7,12")
    yes_no = ["n"] * 24
    for n in (1, 4, 7, 12):
        yes_no[n - 1] = "y"
    by_yes_no = scored("rmdq", answers_yes_no=",".join(yes_no))
    assert by_number[0] == by_yes_no[0] == 4 and by_number[1] == by_yes_no[1] == [1, 4, 7, 12]
    assert scored("rmdq", answers="")[0] == 0
    assert scored("rmdq", answers_yes_no=",".join(["Y"] * 24))[0] == 24


@pytest.mark.parametrize("args, field, words", [
    ({"answers": "1,25"}, "answers", "statement is 25; allowed 1..24"),
    ({"answers": "3,3"}, "answers", "twice"),
    ({"answers_yes_no": "y,n"}, "answers_yes_no", "has 2 values; give 24"),
    ({"answers_yes_no": ",".join(["y"] * 23 + ["maybe"])}, "answers_yes_no", "statement 24 is 'maybe'; allowed y or n"),
    ({"answers": "1", "answers_yes_no": "y"}, "answers", "exactly one of"),
    ({"pain": 3}, "pain", "is not an answer of rmdq"),
])
def test_rmdq_refusals(args, field, words):
    with pytest.raises(InvalidValue) as e:
        scored("rmdq", **args)
    assert e.value.field == field and words in str(e.value)


def test_psfs_is_the_mean_of_three_to_five_activities_with_names():
    score, answers, names = scored("psfs", activity=["lift-child=4", "sit-1h=6", "walk-30min=3"],
                                   activity_name=['lift-child=Lift my child'])
    assert score == 4.33 and answers == {"lift-child": 4, "sit-1h": 6, "walk-30min": 3}
    assert names == {"lift-child": "Lift my child"}
    assert scored("psfs", activity={"a": 10, "b": 9, "c": 9, "d": 9, "e": 10})[0] == 9.4
    assert scored("psfs", activity=["a=1", "b=2", "c=2"])[0] == 1.67   # 5/3, half up


@pytest.mark.parametrize("args, field, words", [
    ({"activity": ["a=4", "b=5"]}, "activity", "has 2 activities; the PSFS takes 3 to 5"),
    ({"activity": ["a=1", "b=1", "c=1", "d=1", "e=1", "f=1"]}, "activity", "has 6 activities"),
    ({"activity": ["a=11", "b=1", "c=1"]}, "activity", "activity a is 11; allowed 0..10"),
    ({"activity": ["Lift Child=1", "b=1", "c=1"]}, "activity", "is not an activity id"),
    ({"activity": ["a", "b=1", "c=1"]}, "activity", "use ID=VALUE"),
    ({"activity": ["a=1", "a=2", "c=1"]}, "activity", "given twice"),
    ({"activity": ["a=1", "b=1", "c=1"], "activity_name": ["z=Zed"]}, "activity_name", "not scored"),
    ({"activity": ["a=1", "b=1", "c=1"], "activity_name": ["a=" + "x" * 101]}, "activity_name", "1 to 100"),
])
def test_psfs_refusals(args, field, words):
    with pytest.raises(InvalidValue) as e:
        scored("psfs", **args)
    assert e.value.field == field and words in str(e.value)


def test_nprs_and_unknown_instruments():
    assert scored("nprs", pain=6)[0] == 6
    with pytest.raises(InvalidValue) as e:
        scored("nprs", pain=11)
    assert e.value.field == "pain" and "allowed 0..10" in str(e.value)
    with pytest.raises(InvalidValue) as e:
        scored("nprs")
    assert e.value.field == "pain" and "required" in str(e.value)
    with pytest.raises(InvalidValue) as e:
        outcomes.parse_answers("sf36", {})
    assert e.value.field == "instrument" and "odi, rmdq, psfs, nprs" in str(e.value)


def test_a_claimed_score_must_be_the_recomputed_one():
    answers = [3, 2, 1, None, 0, 2, 1, 1, 2, 0]
    assert outcomes.checked_score("odi", answers, 26.7) == 26.7
    assert outcomes.checked_score("odi", answers, None) == 26.7
    with pytest.raises(Refused) as e:
        outcomes.checked_score("odi", answers, 20.0)
    assert e.value.rule == "score_mismatch" and "26.7" in str(e.value)


# ----- verdicts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("instrument, baseline, latest, expected", [
    ("odi", 40, 30, "improved"), ("odi", 40, 30.1, "no important change"), ("odi", 40, 50, "worsened"),
    ("odi", 40, 49.9, "no important change"), ("odi", 40, 40, "no important change"),
    ("rmdq", 12, 7, "improved"), ("rmdq", 12, 8, "no important change"), ("rmdq", 12, 17, "worsened"),
    ("rmdq", 12, 16, "no important change"),
    ("psfs", 4, 6, "improved"), ("psfs", 4.33, 6.33, "improved"), ("psfs", 4.33, 6.32, "no important change"),
    ("psfs", 6, 4, "worsened"), ("psfs", 6, 4.01, "no important change"),
])
def test_verdicts_at_and_around_each_mcid(instrument, baseline, latest, expected):
    mcid = {"odi": 10, "rmdq": 5, "psfs": 2}[instrument]
    assert verdict(instrument, baseline, latest, mcid, 2) == expected


@pytest.mark.parametrize("baseline, latest, expected", [
    (8, 6, "improved"),            # 2 points (25%)
    (8, 7, "no important change"),  # 1 point, 12.5%
    (3, 2, "improved"),            # 1 point is 33% of 3: the percentage suffices
    (10, 7, "improved"),           # 3 points, exactly 30%
    (10, 8, "improved"),           # 2 points, 20%: the points suffice
    (5, 6, "no important change"),  # 1 point, 20%
    (5, 7, "worsened"),
    (0, 1, "worsened"),            # any rise from 0 is more than 30% of 0
    (4, 4, "no important change"),
])
def test_nprs_two_points_or_thirty_percent_of_baseline(baseline, latest, expected):
    assert verdict("nprs", baseline, latest, 2, 2, percent=30) == expected


def test_summary_shape_single_measurement_and_psfs_activities():
    at = lambda d: f"2026-03-{d:02d}T09:00:00+00:00"  # noqa: E731
    out = summarize([
        {"instrument": "odi", "at": at(1), "score": 26.7, "answers": []},
        {"instrument": "psfs", "at": at(1), "score": 4.33, "answers": {"lift-child": 4, "sit-1h": 6, "walk": 3},
         "names": {"lift-child": "Lift my child"}},
        {"instrument": "nprs", "at": at(2), "score": 6, "answers": {"pain": 6}, "source": "checkin"},
        {"instrument": "psfs", "at": at(9), "score": 5.25,
         "answers": {"lift-child": 7, "sit-1h": 6, "walk": 3, "run": 5}, "names": {"lift-child": "Lift a child"}},
        {"instrument": "nprs", "at": at(9), "score": 4, "answers": {"pain": 4}, "source": "assess"},
    ])
    odi, psfs, nprs = out["instruments"]
    assert odi == {"instrument": "odi", "measurements": 1, "baseline": {"at": at(1), "score": 26.7},
                   "latest": {"at": at(1), "score": 26.7}, "change": 0, "mcid": 10,
                   "verdict": "single measurement", "activities": []}
    assert (psfs["change"], psfs["verdict"]) == (0.92, "no important change")
    assert [(a["id"], a["name"], a["change"], a["verdict"]) for a in psfs["activities"]] == [
        ("lift-child", "Lift a child", 3, "improved"), ("sit-1h", None, 0, "no important change"),
        ("walk", None, 0, "no important change"), ("run", None, 0, "single measurement")]
    assert nprs["baseline"] == {"at": at(2), "score": 6, "source": "checkin"}
    assert (nprs["change"], nprs["mcid"], nprs["mcid_percent_of_baseline"], nprs["verdict"]) == (-2, 2, 30, "improved")
    assert "not a diagnosis" in out["note"]
