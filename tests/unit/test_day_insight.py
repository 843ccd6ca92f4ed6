"""The 23-hour day and micro-break adherence (``service.insights.day`` and ``.breaks``), worked out by hand.

Facts are made by the domain (``FactLog.record``), so each is the dict the stores hold; the
``Record`` reads them from a list as the event store and the read models read theirs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.facts import FactLog, month_of, validate
from domain.policies import PolicyBook
from domain.timeline import time_key
from service.insights.breaks import breaks
from service.insights.day import day, longest_stretch
from service.record import Record

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


class History:
    """Facts of one program in Europe/Berlin, each recorded through a month's ``FactLog``."""

    def __init__(self, zone=BERLIN, policies: PolicyBook | None = None):
        self.zone = zone
        self.policies = policies or PolicyBook()
        self.logs: dict[str, FactLog] = {}
        self.n = 0

    def at(self, text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=self.zone)

    def add(self, command: str, when: str, **values) -> str:
        moment = self.at(when)
        month = month_of(moment)
        log = self.logs.setdefault(month, FactLog.open("p1", month))
        self.n += 1
        fact_id = f"fact-{self.n:03d}"
        if command == "log":
            attrs = {"exercise_id": "ex-1", "exercise_name": "Dead bug", "session": validate("log", values)}
        else:
            attrs = {"details": validate(command, values)}
        log.record(command, fact_id, moment, moment, "phone", f"m-{self.n}", **attrs)
        return fact_id

    def void(self, fact_id: str, when: str) -> None:
        moment = self.at(when)
        for log in self.logs.values():
            if fact_id in log.facts:
                self.n += 1
                log.void(fact_id, "twice", f"void-{self.n}", moment, moment, "phone", f"m-{self.n}")

    def record(self) -> Record:
        facts = sorted((f for log in self.logs.values() for f in log.facts.values()), key=lambda f: f["key"])

        def read(since, until):
            return [f for f in facts if time_key(since) <= f["key"] <= time_key(until)]

        return Record(timezone=self.zone, started=datetime(2026, 1, 1, tzinfo=UTC), policies=self.policies,
                      read_facts=read, read_decisions=lambda: [], view_at=lambda as_of: None)


def hourly(h: History, d: str, hours, kind: str = "walk") -> None:
    for hh in hours:
        h.add("break", f"{d}T{hh}", kind=kind, seconds=60)


def test_longest_stretch_is_the_longest_gap_between_waking_start_breaks_and_end():
    start, end = datetime(2026, 5, 4, 6, tzinfo=UTC), datetime(2026, 5, 4, 20, tzinfo=UTC)
    points = [start + timedelta(minutes=m) for m in (45, 100, 195)]
    assert longest_stretch(points, start, end) == 840 - 195
    assert longest_stretch([], start, end) == 840
    assert longest_stretch([start - timedelta(hours=1), end + timedelta(minutes=1)], start, end) == 840
    assert longest_stretch([start + timedelta(seconds=90)], start, end) == 838.5


def test_a_day_worked_out_by_hand():
    h = History()
    d = "2026-05-04"
    hourly(h, d, ["07:30", "08:45", "09:40", "10:30", "12:05", "13:00", "14:00", "15:00", "16:00", "17:00",
                  "18:00", "19:00", "20:00", "21:00", "23:30"])
    h.add("log", f"{d}T11:20", pain_before=3, pain_during=2, pain_after=2)  # a session counts as a break
    h.add("sleep", f"{d}T07:05", hours=6.5, quality=5, position="side", pain_morning=4)
    h.add("sleep", "2026-05-03T23:10", hours=1)  # the evening before: that day's, not this one's
    h.add("checkin", f"{d}T10:00", pain=3, starts="low_back", travels=["left_buttock"])
    voided = h.add("break", f"{d}T11:50", kind="stand", seconds=30)
    h.void(voided, f"{d}T12:00")
    out = day(h.record(), date(2026, 5, 4), NOW)
    assert out["date"] == d
    # 08:00 -> 08:45 45, -> 09:40 55, -> 10:30 50, -> 11:20 50, -> 12:05 45, then hourly, 21:00 -> 22:00 60;
    # 07:30 and 23:30 are outside waking hours
    assert out["longest_without_break_min"] == 60 and out["met_target"] is True
    assert out["breaks_target"] == 13
    assert len(out["breaks"]) == 15 and out["breaks"][0] == {"at": "2026-05-04T07:30:00+02:00", "kind": "walk",
                                                             "seconds": 60}
    assert [s["light"] for s in out["sessions"]] == ["green"]
    assert out["sleep"] == {"id": "fact-017", "occurred_at": "2026-05-04T07:05:00+02:00", "hours": 6.5,
                            "quality": 5, "position": "side", "pain_morning": 4, "note": None}
    assert [(c["pain"], c["starts"], c["travels"]) for c in out["checkins"]] == [(3, "low_back", ["left_buttock"])]
    assert out["in_flare"] is False
    assert out["policy"] == {"id": "micro-breaks", "version": 1,
                             "params": {"waking_start": "08:00", "waking_end": "22:00", "max_gap_min": 60}}


def test_one_late_break_misses_the_target_and_today_is_not_counted_yet():
    h = History()
    hourly(h, "2026-05-05", ["09:00", "10:00", "12:30"])
    out = day(h.record(), date(2026, 5, 5), NOW)
    assert (out["longest_without_break_min"], out["met_target"]) == (570, False)  # 12:30 -> 22:00
    today = day(h.record(), date(2026, 5, 5), datetime(2026, 5, 5, 21, 59, tzinfo=BERLIN))
    assert (today["longest_without_break_min"], today["met_target"], today["breaks_target"]) == (None, None, 13)
    assert len(today["breaks"]) == 3 and today["sleep"] is None


@pytest.mark.parametrize("d, hours", [("2026-03-29", 23), ("2026-10-25", 25)])
def test_waking_hours_are_wall_clock_on_a_dst_change_day(d, hours):
    """Berlin springs forward on 29 March 2026 and falls back on 25 October: still 08:00-22:00, 14 real hours."""
    start = datetime.fromisoformat(d).replace(tzinfo=BERLIN)
    assert (start + timedelta(days=1)).astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=hours)
    h = History()
    hourly(h, d, ["07:59", "12:00", "22:01"])
    out = day(h.record(), date.fromisoformat(d), NOW)
    # 08:00 -> 12:00 is 240 min, 12:00 -> 22:00 600: wall clock, whatever the day's length
    assert (out["longest_without_break_min"], out["met_target"], out["breaks_target"]) == (600, False, 13)
    hourly(h, d, [f"{hh:02d}:00" for hh in range(9, 23)])
    assert day(h.record(), date.fromisoformat(d), NOW)["longest_without_break_min"] == 60


def test_each_day_is_judged_under_the_policy_in_force_at_its_start():
    changed = datetime(2026, 6, 2, 12, tzinfo=BERLIN)  # from midday on 2 June: 90 minutes, waking from 09:00
    book = PolicyBook.from_changes([("micro-breaks", changed,
                                     {"waking_start": "09:00", "waking_end": "22:00", "max_gap_min": 90})])
    h = History(policies=book)
    for d in ("2026-06-01", "2026-06-02", "2026-06-03"):
        hourly(h, d, ["09:30", "11:00", "12:30", "14:00", "15:30", "17:00", "18:30", "20:00", "21:30"])
    record = h.record()
    assert [day(record, date(2026, 6, n), NOW)["met_target"] for n in (1, 2, 3)] == [False, False, True]
    third = day(record, date(2026, 6, 3), NOW)
    assert (third["longest_without_break_min"], third["breaks_target"]) == (90, 8)  # 780 min / 90 -> 9 stretches
    assert day(record, date(2026, 6, 1), NOW)["longest_without_break_min"] == 90  # 08:00 -> 09:30
    out = breaks(record, datetime(2026, 6, 1, tzinfo=BERLIN), datetime(2026, 6, 3, 23, tzinfo=BERLIN), NOW)
    assert out["policy"]["params"]["max_gap_min"] == 90
    assert [d["met_target"] for d in out["days"]] == [False, False, True]


@pytest.mark.parametrize("flare, expected", [
    ([], False),
    ([("flare-start", "2026-03-01T09:00")], True),  # more than two of the doubling windows back
    ([("flare-start", "2026-07-01T09:00"), ("flare-end", "2026-07-09T20:00")], False),
    ([("flare-start", "2026-07-01T09:00"), ("flare-end", "2026-07-10T07:00")], True),  # ended that day
    ([("flare-end", "2026-07-08T20:00"), ("flare-start", "2026-07-10T21:00")], True),  # started that day
    ([("flare-start", "2026-07-10T23:30")], True),
    ([("flare-start", "2026-07-11T00:30")], False),  # the day after
])
def test_in_flare_when_a_flare_started_on_or_before_the_day_and_had_not_ended_before_it(flare, expected):
    h = History()
    for command, when in flare:
        h.add(command, when, pain=6)
    assert day(h.record(), date(2026, 7, 10), NOW)["in_flare"] is expected
    assert not day(h.record(), date(2026, 7, 10), NOW)["sleep"]


def test_breaks_over_a_period_counts_the_days_with_anything_recorded():
    h = History()
    hourly(h, "2026-11-02", [f"{hh:02d}:00" for hh in range(9, 23)])          # met: 60 min at most
    hourly(h, "2026-11-03", [f"{hh:02d}:00" for hh in range(9, 23, 2)])       # 120 min
    h.add("checkin", "2026-11-04T10:00", pain=2)                               # nothing else: 840 min
    hourly(h, "2026-11-05", [f"{hh:02d}:30" for hh in range(8, 22)])          # met: 08:00 -> 08:30, then 60
    hourly(h, "2026-12-06", ["09:00"])                                         # today: not over
    record = h.record()
    out = breaks(record, datetime(2026, 11, 1, tzinfo=BERLIN), datetime(2026, 12, 6, 23, 59, tzinfo=BERLIN),
                 datetime(2026, 12, 6, 11, tzinfo=BERLIN))
    assert [(d["date"], d["breaks"], d["longest_without_break_min"], d["met_target"]) for d in out["days"]] == [
        ("2026-11-02", 14, 60, True), ("2026-11-03", 7, 120, False), ("2026-11-04", 0, 840, False),
        ("2026-11-05", 14, 60, True), ("2026-12-06", 1, None, None)]
    assert out["share_days_met"] == 0.5
    assert out["policy"]["id"] == "micro-breaks" and out["since"] == "2026-11-01T00:00:00+01:00"
    quiet = breaks(record, datetime(2026, 9, 1, tzinfo=BERLIN), datetime(2026, 9, 30, tzinfo=BERLIN), NOW)
    assert (quiet["days"], quiet["share_days_met"]) == ([], None)


def test_the_first_and_last_days_there_are_read_nothing_and_never_overflow():
    h = History()
    hourly(h, "2026-05-04", ["09:00"])
    h.add("flare-start", "2026-05-01T09:00", pain=6)
    last, first = day(h.record(), date(9999, 12, 31), NOW), day(h.record(), date(1900, 1, 1), NOW)
    assert (last["breaks"], last["longest_without_break_min"], last["in_flare"]) == ([], None, True)
    assert (first["breaks"], first["longest_without_break_min"], first["in_flare"]) == ([], 840, False)
