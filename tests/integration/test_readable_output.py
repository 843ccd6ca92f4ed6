"""Text output a person reads (issue 9 items 11 and 16, issue 11 item 3): names not ids, words not literals,
every time in the program's time zone. The data comes from a real store through the one command path."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cli import render
from service import queries
from service.handling import handle
from service.mutation import Mutation

NY = ZoneInfo("America/New_York")
UTC = timezone.utc
# A New York evening, stored in UTC the way the CLI's default --at stores it: 03:18 UTC is the evening before there.
BASE = datetime.combine(datetime.now(UTC).date() - timedelta(days=40), time(3, 18), UTC)
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")
LITERALS = re.compile(r"\b(True|False|None)\b|\[|\]|\{|'")


def at(days: float) -> datetime:
    return BASE + timedelta(days=days)


def apply(ledger, mutation_type: str, days: float, **args) -> dict:
    return handle(ledger, Mutation(str(uuid.uuid4()), mutation_type, at(days), "dev-a", args))


def local(moment: datetime, width: int = 16) -> str:
    return moment.astimezone(NY).isoformat()[:width]


@pytest.fixture
def program(ledger):
    apply(ledger, "init", 0, name="Sam", timezone="America/New_York")
    apply(ledger, "add", 1, name="Side plank", position="1:side", sets=3, hold=20)
    apply(ledger, "add", 1, name="Bird dog", position="2:quadruped", sets=3, reps=6)
    apply(ledger, "adapt", 5, exercise="Bird dog", direction="hinge:sagittal", per_side=True, reps=8,
          target=["glutes"], reason="therapist")
    apply(ledger, "promote", 10, exercise="Bird dog", force=True, reason="it calms the back")
    apply(ledger, "deconstruct", 20, exercise="Side plank", into=["Side-lying leg lift", "Short-lever side plank"],
          reason="the QL flares")
    apply(ledger, "fitting-open", 21, notes="new chair")
    for day in (30, 31, 32):
        apply(ledger, "log", day, exercise="Side-lying leg lift", pain_before=3)
    apply(ledger, "log", 33, exercise="Short-lever side plank")
    apply(ledger, "next-day", 33.5, exercise="Short-lever side plank", verdict="worse")
    apply(ledger, "checkin", 34, pain=4)
    apply(ledger, "checkin", 35, pain=3)
    apply(ledger, "flare-start", 36, pain=6)
    apply(ledger, "retire", 37, exercise="Bird dog", reason="done with it")
    return ledger


def test_history_says_values_in_words_at_local_times(program):
    data = queries.history(program)
    text = render.history(data, NY)
    assert not ID.search(text) and not LITERALS.search(text), text
    promote = next(e for e in data["entries"] if e["type"] == "promote")
    assert promote["occurred_at"] == at(10).isoformat()  # --json keeps the stored moment with its offset
    assert (f"{local(at(10))}  promote       Bird dog             "
            "signature: no -> yes; forced past the evidence rule") in text
    assert at(10).isoformat()[:16] not in text  # the UTC wall time (the next day) is never shown
    assert "status: active -> deconstructed; components: Side-lying leg lift, Short-lever side plank" in text
    assert "direction: none -> hinge:sagittal; reps: 6 -> 8; per side: no -> yes; target: none -> glutes" in text
    assert "fitting: none -> 1; notes: new chair" in text


def test_diff_names_the_components_and_json_keeps_their_ids(program):
    data = queries.diff(program, at(2), at(25))
    (side_plank,) = [c for c in data["changed"] if c["exercise"] == "Side plank"]
    assert all(ID.match(i) for i in side_plank["to"]["components"])
    assert set(data["names"]) == set(side_plank["to"]["components"])
    text = render.diff(data, NY)
    assert not ID.search(text) and not LITERALS.search(text), text
    assert "~ Side plank: status: active -> deconstructed; components: none -> Side-lying leg lift, " \
           "Short-lever side plank" in text
    assert "~ Bird dog: signature: no -> yes; direction: none -> hinge:sagittal;" in text
    assert text.startswith(f"from {local(at(2), 10)} to {local(at(25), 10)}")


def test_diff_json_keeps_the_ids_of_added_and_removed_exercises(program):
    """A retired name taken again: the text says both names, the ids beside them tell the two apart."""
    apply(program, "add", 38, name="Bird dog", position="2:quadruped", sets=2, reps=5)
    data = queries.diff(program, at(30), at(39))
    current = {e.name: e.id for e in program.program().view().in_program()}
    (old,) = [e.id for e in program.program().view().exercises.values() if e.status == "retired"]
    assert (data["added"], data["added_ids"]) == (["Bird dog"], [current["Bird dog"]])
    assert (data["removed"], data["removed_ids"]) == (["Bird dog"], [old])
    earlier = queries.diff(program, at(2), at(25))
    assert earlier["added"] == ["Short-lever side plank", "Side-lying leg lift"]
    assert earlier["added_ids"] == [current[n] for n in earlier["added"]]
    text = render.diff(data, NY)
    assert not ID.search(text) and not LITERALS.search(text), text
    assert "  + Bird dog\n  - Bird dog" in text


def test_recap_text_has_what_its_json_has_and_no_none(program):
    since = datetime.combine(at(28).astimezone(NY).date(), time.min, NY)
    until = datetime.combine(at(38).astimezone(NY).date(), time.max, NY)
    data = queries.recap(program, since, until, NY)
    assert (data["checkins"], data["flares"], data["next_day"]) == (2, 1, {"worse": 1})
    text = render.recap(data, NY)
    assert "None" not in text and not ID.search(text), text
    assert text.startswith(f"{since.date()} to {until.date()}: 4 sessions")
    assert "  Side-lying leg lift: 3 sessions, pain before 3 (after not recorded)" in text
    assert "  Short-lever side plank: 1 sessions, no pain recorded" in text
    assert "check-ins: 2, average pain 3.5" in text and "flares: 1" in text and "next day: worse 1" in text
    # the retirement at 03:18 UTC is dated the evening before, in New York, inside the recap's own days
    assert f"  {local(at(37), 10)} retire Bird dog: done with it" in text


def test_signature_marks_a_retired_exercise_and_show_gives_the_zone(program):
    text = render.signature(queries.signature(program), NY)
    assert text == f"  Bird dog  since {local(at(10), 10)}  [retired]  (forced: it calms the back)"
    now = datetime.now(UTC)  # as the CLI's default --as-of: shown in New York time, as `--as-of now` is
    shown = render.program(queries.show(program, now))
    assert shown.splitlines()[0] == f"Sam as of {local(now)} (America/New_York)"
