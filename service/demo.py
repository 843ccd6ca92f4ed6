"""A realistic few weeks of history, for the Quick start's demo.

Five weeks of a person with recurring low-back pain: a program of four
exercises, sessions with pain and tension, micro-breaks, a flare, a
regression, a deconstruction, a fitting and a promotion earned by evidence.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Iterator
from zoneinfo import ZoneInfo

from service.mutation import Mutation

DEVICE = "demo-phone"


def _at(today: datetime, days_ago: int, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(today.date() - timedelta(days=days_ago), time(hour, 0), zone)


def mutations(now: datetime, zone: ZoneInfo) -> Iterator[Mutation]:
    def m(mutation_type: str, days_ago: int, hour: int = 9, **args) -> Mutation:
        return Mutation(str(uuid.uuid4()), mutation_type, _at(now, days_ago, hour, zone), DEVICE, args)

    yield m("init", 36, 8, name="Demo program", timezone=str(zone.key))
    yield m("add", 36, name="Dead bug", position="1:supine", sets=3, reps=8, kind="segmental_control",
            target=["deep_abdominals"], protect=["hip_flexors"], reason="first fitting with the physio")
    yield m("add", 36, name="Bird dog", position="2:quadruped", sets=3, reps=6, per_side=True,
            kind="segmental_control", target=["multifidus"], protect=["paraspinals"], reason="first fitting")
    yield m("add", 36, name="Glute bridge", position="1:supine", sets=2, reps=10, target=["glutes"],
            protect=["hamstrings"], reason="underactive glutes")
    yield m("add", 36, name="Side plank", position="1:side_lying", sets=2, hold=20, target=["obliques"],
            reason="lateral control")
    yield m("fitting-open", 36, notes="baseline")
    for day in range(35, 0, -1):
        for hour in (10, 11, 14, 16):
            if (day + hour) % 3:
                yield m("break", day, hour, kind=("stand", "walk", "extend", "rotate")[hour % 4], seconds=45)
        if day % 2 == 0:
            calm = 35 - day
            before = 5 if day > 28 else 4 if day > 14 else 3
            yield m("log", day, 18, exercise="Dead bug", pain_before=before, pain_during=3,
                    pain_after=max(before - 2, 0), effort=4,
                    tension=["hip_flexors:both:overactive:%d" % max(6 - calm // 6, 2)])
            yield m("log", day, 18, exercise="Glute bridge", pain_before=before, pain_during=3,
                    pain_after=before - 1, tension=["paraspinals:left:overactive:5"])
            if day > 22:
                yield m("log", day, 18, exercise="Side plank", pain_before=before, pain_during=6,
                        pain_after=before + 1, tension=["quadratus_lumborum:right:guarding:6"])
        if day == 30:
            yield m("next-day", day, 8, exercise="Side plank", verdict="worse", pain=6)
    yield m("progress", 29, 19, exercise="Glute bridge", sets=3, reason="easy for a week, no pain after",
            reason_code="too_easy")
    yield m("flare-start", 25, 7, pain=7, note="lifted a suitcase")
    yield m("regress", 25, 12, exercise="Bird dog", sets=2, reps=5, reason="flare: reduce volume", reason_code="flare")
    yield m("checkin", 25, 13, pain=7, starts="low_back", travels=["left_buttock"])
    yield m("flare-end", 21, 9, pain=3)
    yield m("deconstruct", 22, 19, exercise="Side plank", into=["Side-lying leg lift", "Short-lever side plank"],
            reason="side plank aggravates the right QL", reason_code="pain")
    yield m("fitting-close", 22, 19, notes="first cycle done")
    yield m("fitting-open", 21, 9, notes="second cycle")
    yield m("progress", 14, 19, exercise="Bird dog", sets=3, reason="flare over, back to full volume")
    yield m("promote", 2, 20, exercise="Dead bug", reason="calms the back every time")
