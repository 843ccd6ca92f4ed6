"""A small history whose charts can be worked out by hand, built through the one command path.

Europe/Paris; days counted back from today. Used by the chart and report tests.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from service.handling import handle
from service.mutation import Mutation
from tests.conftest import open_ledger

ZONE = ZoneInfo("Europe/Paris")
HOSTILE = "<img src=x onerror=alert(1)>"
NOTE = "felt it </script><b>here</b>"
TODAY = datetime.now(timezone.utc).astimezone(ZONE).date()
BREAK_DAY, STEADY_DAY = 10, 9  # days ago: a 540-minute stretch (target missed); 45 minutes at most (met)
ODI_FIRST = "3,2,1,-,0,2,1,1,2,-"  # 12 / 40 = 30.0
ODI_LATER = "1,1,1,-,0,1,1,1,1,1"  # 8 / 45 = 17.8


def day(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)


def at(days_ago: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day(days_ago), time(hour, minute), ZONE)


def build(ledger) -> dict:
    """Record the history; returns the ids the tests look for."""
    ids: dict = {"decisions": {}, "logs": []}

    def do(mutation_type: str, when: datetime, **args) -> dict:
        return handle(ledger, Mutation(str(uuid.uuid4()), mutation_type, when, "dev-chart", args))["result"]

    do("init", at(60, 8), name="Chart test", timezone="Europe/Paris")
    do("assess", at(59, 9), instrument="nprs", pain=6)
    do("assess", at(59, 9, 5), instrument="odi", answers=ODI_FIRST, score=30.0)
    for name, extra in (("Dead bug", {"reps": 8}), (HOSTILE, {"reps": 10}), ("Side plank", {"hold": 20})):
        do("add", at(58, 9), name=name, position="1:supine", sets=2, reason=f"first fitting: {name}", **extra)
    do("progress", at(40, 19), exercise="Dead bug", sets=4, reason="easy for a week")
    do("regress", at(35, 19), exercise=HOSTILE, reps=6, reason="flare </script> too much", reason_code="flare")
    do("pause", at(30, 9), exercise="Side plank", reason="travel")
    do("resume", at(25, 9), exercise="Side plank", reason="home again")
    do("deconstruct", at(20, 19), exercise="Side plank", into=["Leg lift", "Short plank"], reason="aggravates the QL")
    do("adapt", at(3, 19), exercise="Leg lift", range="partial", reason="hip pinch")
    do("promote", at(5, 20), exercise="Dead bug", force=True, reason="calms the back")
    for d in (50, 45, 12, 11):
        ids["logs"].append(do("log", at(d, 18), exercise="Dead bug", pain_before=5, pain_after=3,
                              tension=["hip_flexors:both:overactive:6"])["fact_id"])
    ids["hostile_log"] = do("log", at(45, 18, 30), exercise=HOSTILE, pain_before=4, pain_after=4, note=NOTE,
                            tension=["paraspinals:left:guarding:4", "paraspinals:right:guarding:2"])["fact_id"]
    ids["next_day"] = do("next-day", at(44, 8), exercise="Dead bug", verdict="better", pain=3)["fact_id"]
    ids["checkins"] = [do("checkin", at(d, 12), pain=p)["fact_id"] for d, p in ((47, 5), (15, 3))]
    ids["flare"] = do("flare-start", at(33, 7), pain=8, note="lifted a box")["fact_id"]
    # in the flare: red (pain during 7), the paraspinals guarding again, left more than right
    ids["red_log"] = do("log", at(31, 18), exercise=HOSTILE, pain_before=6, pain_during=7, pain_after=5,
                        tension=["paraspinals:left:guarding:6", "paraspinals:right:guarding:3"])["fact_id"]
    do("flare-end", at(29, 9), pain=4)
    for hh, mm in ((9, 0), (10, 0), (12, 30), (23, 0)):  # 23:00 is outside waking hours: no help
        do("break", at(BREAK_DAY, hh, mm), kind="walk", seconds=45)
    ids["logs"].append(do("log", at(BREAK_DAY, 13), exercise="Dead bug", pain_before=3, pain_after=2)["fact_id"])
    t = at(STEADY_DAY, 8, 30)
    while t <= at(STEADY_DAY, 21, 45):
        do("break", t, kind="stand", seconds=30)
        t += timedelta(minutes=45)
    do("assess", at(2, 9), instrument="odi", answers=ODI_LATER, score=17.8)
    ids["decisions"] = {e.command: e.originator_version for e in ledger.decisions()}
    ids["exercises"] = {e.name: e.id for e in ledger.program().view().exercises.values()}
    return ids


@pytest.fixture(scope="module")
def chart_store(tmp_path_factory):
    """A SQLite store holding ``build``'s history, once per test module: (ledger, ids)."""
    ledger = open_ledger(f"sqlite:///{tmp_path_factory.mktemp('charts') / 'store.sqlite'}")
    ids = build(ledger)
    yield ledger, ids
    ledger.app.close()
