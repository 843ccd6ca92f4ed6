"""domain.evidence.evaluate: the versioned signature rule (SPEC 3.2), one condition at a time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.evidence import Exposure, SignatureRule, evaluate

AT = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
RULE = SignatureRule()


def ago(days: float) -> datetime:
    return AT - timedelta(days=days)


def good() -> list[Exposure]:
    """5 exposures on 3 days, pain during at most 5, every one eased pain by 2 points."""
    return [Exposure(ago(d), 4, 3, 2) for d in (1, 1.1, 2, 3, 3.1)]


def run(exposures, worse=(), tz="UTC", at=AT, rule=RULE):
    return evaluate(rule, at, tz, exposures, list(worse))


def only_unmet(result) -> str:
    assert result["met"] is False
    assert len(result["unmet"]) == 1, result["unmet"]
    return result["unmet"][0]


def test_the_baseline_meets_every_condition():
    r = run(good())
    assert r["met"] is True and r["unmet"] == []
    assert (r["exposures"], r["days"], r["max_pain_during"], r["worse_responses"], r["relief_ratio"]) == (5, 3, 3, 0, 1.0)
    assert r["rule"] == {"rule_id": "signature-evidence", "version": 1, "window_days": 42, "min_exposures": 5,
                         "min_days": 3, "max_pain_during": 5, "min_relief_ratio": 0.6, "relief_points": 1}
    assert r["window_start"] == ago(42).isoformat()


def test_fewer_than_five_exposures():
    r = run(good()[:4])
    assert r["exposures"] == 4 and r["days"] == 3
    assert only_unmet(r) == "4 logged exposures in 42 days, needs 5"


def test_fewer_than_three_days():
    r = run([Exposure(ago(d), 4, 3, 2) for d in (1, 1.1, 1.2, 2, 2.1)])
    assert r["days"] == 2
    assert only_unmet(r) == "exposures on 2 different days, needs 3"


def test_pain_during_above_five():
    ex = good()
    ex[2] = Exposure(ex[2].occurred_at, 7, 6, 5)
    r = run(ex)
    assert r["max_pain_during"] == 6
    assert only_unmet(r) == "pain during reached 6, must never be above 5"


def test_pain_during_of_exactly_five_is_allowed():
    ex = good()
    ex[0] = Exposure(ex[0].occurred_at, 7, 5, 5)
    assert run(ex)["met"] is True


def test_pain_during_not_recorded_is_not_a_failure():
    r = run([Exposure(e.occurred_at, 4, None, 2) for e in good()])
    assert r["met"] is True and r["max_pain_during"] is None


def test_a_worse_next_day_response():
    r = run(good(), worse=[ago(2)])
    assert r["worse_responses"] == 1
    assert only_unmet(r) == "1 'worse' next-day response(s), needs none"


def test_relief_ratio_below_sixty_percent():
    ex = good()
    # 2 of 5 eased pain (40%): no relief, pain up, and a missing pain_after do not count
    ex[0] = Exposure(ex[0].occurred_at, 4, 3, 4)
    ex[1] = Exposure(ex[1].occurred_at, 4, 3, 5)
    ex[2] = Exposure(ex[2].occurred_at, 4, 3, None)
    r = run(ex)
    assert r["relief_ratio"] == 0.4
    assert only_unmet(r) == "2 of 5 exposures (40%) eased pain by 1+ point(s), needs 60%"


def test_relief_ratio_of_exactly_sixty_percent_is_enough():
    ex = good()
    ex[0] = Exposure(ex[0].occurred_at, 4, 3, 4)
    ex[1] = Exposure(ex[1].occurred_at, None, 3, 1)
    r = run(ex)
    assert r["relief_ratio"] == 0.6 and r["met"] is True


def test_relief_needs_at_least_relief_points():
    ex = [Exposure(e.occurred_at, 4, 3, 3) for e in good()]
    assert run(ex)["met"] is True
    r = run(ex, rule=SignatureRule(relief_points=2))
    assert r["relief_ratio"] == 0.0
    assert "needs 60%" in only_unmet(r)


def test_no_exposures_lists_every_count_condition():
    r = run([])
    assert r["met"] is False
    assert r["relief_ratio"] == 0.0 and r["max_pain_during"] is None
    assert r["unmet"] == [
        "0 logged exposures in 42 days, needs 5",
        "exposures on 0 different days, needs 3",
        "0 of 0 exposures (0%) eased pain by 1+ point(s), needs 60%",
    ]


def test_several_unmet_conditions_are_all_listed():
    ex = good()[:2] + [Exposure(ago(1.2), 5, 9, 5), Exposure(ago(1.3), 5, 3, 5)]
    r = run(ex, worse=[ago(1)])
    assert r["met"] is False
    assert r["unmet"] == [
        "4 logged exposures in 42 days, needs 5",
        "exposures on 1 different days, needs 3",
        "pain during reached 9, must never be above 5",
        "1 'worse' next-day response(s), needs none",
        "2 of 4 exposures (50%) eased pain by 1+ point(s), needs 60%",
    ]


# ----- the 42-day window ---------------------------------------------------------------------


def test_exposure_exactly_42_days_before_is_inside_the_window():
    ex = good()
    ex[4] = Exposure(ago(42), 4, 3, 2)
    r = run(ex)
    assert (r["exposures"], r["met"]) == (5, True)


def test_exposure_just_over_42_days_before_is_outside():
    ex = good()
    ex[4] = Exposure(ago(42) - timedelta(microseconds=1), 4, 3, 2)
    r = run(ex)
    assert r["exposures"] == 4
    assert only_unmet(r) == "4 logged exposures in 42 days, needs 5"


def test_exposure_at_the_evaluation_time_counts_and_after_it_does_not():
    ex = good()
    ex[4] = Exposure(AT, 4, 3, 2)
    assert run(ex)["exposures"] == 5
    ex[4] = Exposure(AT + timedelta(microseconds=1), 4, 3, 2)
    assert run(ex)["exposures"] == 4


def test_outside_exposures_do_not_spoil_the_evidence():
    old_bad = [Exposure(ago(43), 9, 9, 10), Exposure(AT + timedelta(days=1), 9, 9, 10)]
    r = run(good() + old_bad)
    assert r["met"] is True and r["max_pain_during"] == 3


@pytest.mark.parametrize("when, counted", [
    (ago(42), 1), (ago(42) - timedelta(microseconds=1), 0), (AT, 1), (AT + timedelta(seconds=1), 0), (ago(60), 0),
])
def test_worse_response_window_boundaries(when, counted):
    r = run(good(), worse=[when])
    assert r["worse_responses"] == counted
    assert r["met"] is (counted == 0)


def test_window_follows_the_rule():
    rule = SignatureRule(window_days=7)
    ex = good()
    ex[4] = Exposure(ago(8), 4, 3, 2)
    r = run(ex, rule=rule)
    assert r["exposures"] == 4 and r["window_start"] == ago(7).isoformat()


# ----- days in the person's time zone --------------------------------------------------------


def test_days_are_counted_in_the_program_time_zone():
    # 23:30 and 00:30 UTC are two UTC days but one New York evening
    base = datetime(2024, 5, 30, 0, 30, tzinfo=timezone.utc)
    ex = [Exposure(base - timedelta(hours=1), 4, 3, 2), Exposure(base, 4, 3, 2),
          Exposure(base + timedelta(days=1), 4, 3, 2), Exposure(base + timedelta(days=1, hours=1), 4, 3, 2),
          Exposure(base + timedelta(days=1, hours=2), 4, 3, 2)]
    assert run(ex, tz="UTC")["days"] == 3
    r = run(ex, tz="America/New_York")
    assert r["days"] == 2
    assert only_unmet(r) == "exposures on 2 different days, needs 3"


# ----- the window across a DST change (issue 11) -----------------------------------------------


@pytest.mark.parametrize("tz, at_local, start_text", [
    # Europe/Berlin leaves summer time on 26 October 2025; America/New_York on 2 November 2025;
    # Australia/Sydney starts its summer time on 5 October 2025.
    ("Europe/Berlin", datetime(2025, 11, 8, 12, 0), "2025-09-27T12:00:00+02:00"),
    ("America/New_York", datetime(2025, 11, 10, 9, 0), "2025-09-29T09:00:00-04:00"),
    ("Australia/Sydney", datetime(2025, 10, 20, 18, 0), "2025-09-08T18:00:00+10:00"),
])
def test_the_window_is_the_same_whatever_offset_the_time_carries(tz, at_local, start_text):
    """A decision made now (its zone's rules) and its replay (the fixed offset read back) measure one window."""
    zoned = at_local.replace(tzinfo=ZoneInfo(tz))
    fixed = datetime.fromisoformat(zoned.isoformat())  # what an import or the server reads back
    utc = zoned.astimezone(timezone.utc)
    start = datetime.fromisoformat(start_text)
    # an exposure in the hour between the zone's window and a window of 42 days at the fixed offset
    edge = Exposure(start + timedelta(minutes=30), 4, 3, 2)
    exposures = [edge] + [Exposure(start + timedelta(days=d), 4, 3, 2) for d in (10, 11, 20, 30)]
    results = [evaluate(RULE, at, tz, exposures, []) for at in (zoned, fixed, utc)]
    assert results[0] == results[1] == results[2]
    assert results[0]["window_start"] == start_text
    assert results[0]["exposures"] == 5 and results[0]["met"] is True
