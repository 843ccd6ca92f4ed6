"""Recording a gym app's history in a real store: all or nothing, once, and readable as it evolved."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from domain.errors import Refused
from service import queries
from service.csvexport import rows
from service.device import DeviceStore
from service.gymimport import import_text
from service.handling import handle
from service.mutation import Mutation

SAMPLES = Path(__file__).parent.parent / "samples" / "gym"
BERLIN = "Europe/Berlin"


def text(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def stored(ledger) -> int:
    return sum(1 for _ in ledger.mutation_records())


def run(ledger, name, source="hevy", **kw):
    kw.setdefault("zone", BERLIN)
    kw.setdefault("name", "Sam")
    return import_text(DeviceStore(ledger.app, "phone"), source, text(name), now=datetime.now(timezone.utc), **kw)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day + "T23:59:59+02:00")


def test_an_import_starts_the_program_and_tells_how_it_evolved(ledger):
    summary, kept = run(ledger, "hevy_app.csv")
    assert (summary["workouts"], summary["sessions"], summary["exercises"], summary["decisions"], summary["stored"],
            kept) == (4, 9, 4, 4, True, [])
    assert [s["row"] for s in summary["skipped"]] == [6, 10, 11, 23]
    program = ledger.program().view()
    assert (program.name, program.timezone, program.started) == ("Sam", BERLIN, "2026-08-31T22:00:00.000000")
    assert queries.show(ledger, at("2026-08-31"))["exercises"] == []

    def rx(day):
        return {e["name"]: (e["prescription"]["sets"], e["prescription"]["reps"] or e["prescription"]["hold_s"],
                            e["prescription"]["load"]["magnitude"]) for e in queries.show(ledger, at(day))["exercises"]}
    assert rx("2026-09-01") == {"Squat (Barbell)": (3, 8, 115), "Plank": (3, 45, None),
                                "Romanian Deadlift (Dumbbell)": (2, 10, 40)}
    assert rx("2026-09-08") == {"Squat (Barbell)": (3, 8, 125), "Plank": (3, 60, None),
                                "Romanian Deadlift (Dumbbell)": (3, 12, 35)}
    assert rx("2026-09-15")["Squat (Barbell)"] == (2, 8, 115) and "Bird Dog" in rx("2026-09-15")
    history = queries.history(ledger, "Squat (Barbell)")["entries"]
    assert [(d["type"], d["reason_code"], d["occurred_at"][:10]) for d in history] == [
        ("add", "imported", "2026-09-01"), ("progress", "imported", "2026-09-08"), ("regress", "imported", "2026-09-15")]
    assert all("Hevy" in d["reason"] for d in history)


def test_importing_again_or_the_web_export_stores_nothing_twice(ledger):
    run(ledger, "hevy_app.csv")
    count = stored(ledger)
    for name in ("hevy_app.csv", "hevy_web.csv"):
        summary, _ = run(ledger, name, zone="UTC")  # the program's zone is kept; ids do not depend on it
        assert (summary["sessions"], summary["exercises"], summary["decisions"], summary["stored"]) == (0, 0, 0, False)
    assert stored(ledger) == count


def test_a_dry_run_stores_nothing(ledger):
    summary, _ = run(ledger, "strong_semicolon.csv", source="strong", dry_run=True)
    assert (summary["sessions"], summary["exercises"], summary["decisions"], summary["stored"]) == (4, 2, 2, False)
    assert ledger.program() is None and stored(ledger) == 0


def test_a_program_that_starts_after_the_history_moves_its_start_back_to_the_first_workout(ledger):
    init = datetime(2026, 10, 2, 9, tzinfo=timezone.utc)
    handle(ledger, Mutation("init-1", "init", init, "phone", {"name": "Sam", "timezone": BERLIN}))
    summary, _ = run(ledger, "strong_comma.csv", source="strong", unit="kg")
    assert summary["stored"] and summary["exercises"] == 3
    first = min(datetime.fromisoformat(r["occurred_at"]) for r in queries.history(ledger)["entries"]
                if r["type"] == "add")
    assert first.date().isoformat() == "2026-10-01"
    assert ledger.program().started_at() == first
    moves = [e for e in queries.history(ledger)["entries"] if e["type"] == "start-moved-back"]
    assert [(m["from"], m["to"]) for m in moves] == [({"started": init.isoformat()},
                                                      {"started": first.isoformat(), "cause": "add"})]
    assert queries.show(ledger, first)["program"]["started"] is True
    assert queries.show(ledger, first - timedelta(seconds=1))["exercises"] == []


def test_a_refusal_anywhere_in_the_file_stores_nothing(ledger):
    long_name = "Curl " + "x" * 300
    bad = text("strong_comma_minimal.csv") + f"2026-10-16 07:00:00,Core,1h,{long_name},1,10,10,0,0\n"
    with pytest.raises(Refused, match="row 11: add Curl x+: name: is longer than 200 characters; nothing was imported"):
        import_text(DeviceStore(ledger.app, "phone"), "strong", bad, zone=BERLIN, name="Sam", unit="kg",
                    now=datetime.now(timezone.utc))
    assert ledger.program() is None and stored(ledger) == 0


def test_an_exercise_already_in_the_program_keeps_its_prescription_and_gets_the_sessions(ledger):
    start = datetime(2026, 9, 1, tzinfo=timezone.utc)
    handle(ledger, Mutation("init-1", "init", start, "phone", {"name": "Sam", "timezone": BERLIN}))
    handle(ledger, Mutation("add-1", "add", start + timedelta(hours=1), "phone",
                            {"name": "dead bug", "position": "1:supine", "sets": 3, "reps": 6}))
    summary, kept = run(ledger, "strong_comma.csv", source="strong", unit="kg")
    assert kept == ["Dead Bug"]
    assert (summary["sessions"], summary["exercises"], summary["decisions"]) == (5, 2, 1)  # bench press's progress
    bug = next(e for e in queries.show(ledger, datetime.now(timezone.utc))["exercises"] if e["name"] == "dead bug")
    assert (bug["prescription"]["position"]["stage"], bug["prescription"]["sets"]) == (1, 3)
    sessions = [r for r in rows(ledger)][1:]
    assert [r[2] for r in sessions if r[2].casefold() == "dead bug"] == ["dead bug", "dead bug"]


def test_csv_export_has_one_row_per_session_with_pain_tension_and_next_day(ledger):
    run(ledger, "strong_comma.csv", source="strong", unit="kg")
    when = datetime(2026, 10, 20, 7, tzinfo=timezone.utc)
    handle(ledger, Mutation("log-1", "log", when, "phone", {
        "exercise": "Dead Bug", "sets": 2, "reps": 10, "pain_before": 4, "pain_during": 2, "pain_after": 1,
        "effort": 5, "tension": ["paraspinals:left:overactive:6"], "note": "=HYPERLINK(\"x\")"}))
    handle(ledger, Mutation("nd-1", "next-day", when + timedelta(days=1), "phone",
                            {"exercise": "Dead Bug", "verdict": "better"}))
    table = list(rows(ledger))
    assert table[0] == ["date", "time", "exercise", "sets", "reps", "hold_s", "load", "pain_before", "pain_during",
                        "pain_after", "effort", "tension", "next_day", "note"]
    assert len(table) == 1 + 6
    assert table[1][:11] == ["2026-10-01", "18:00", "Bench Press (Barbell)", 3, 10, None, "50 kg", None, None, None, 9]
    assert table[-1] == ["2026-10-20", "09:00", "Dead Bug", 2, 10, None, "", 4, 2, 1, 5,
                         "paraspinals left overactive 6", "better", "'=HYPERLINK(\"x\")"]


def test_both_strong_layouts_import_once(ledger):
    files = [("strong_comma.csv", "kg"), ("strong_comma_minimal.csv", "kg"), ("strong_semicolon.csv", None)]
    counts = [run(ledger, name, source="strong", unit=unit)[0] for name, unit in files]
    assert [(c["workouts"], c["sessions"], c["exercises"], c["decisions"], len(c["skipped"])) for c in counts] == [
        (2, 5, 3, 2, 0), (2, 4, 2, 2, 1), (2, 4, 2, 2, 1)]
    count = stored(ledger)
    assert not any(run(ledger, name, source="strong", unit=unit)[0]["stored"] for name, unit in files)
    assert stored(ledger) == count
    now = {e["name"]: e["prescription"] for e in queries.show(ledger, datetime.now(timezone.utc))["exercises"]}
    assert now["Deadlift (Barbell)"]["load"] == {"type": "free_weight", "magnitude": 192.5, "unit": "lb"}
    assert (now["Goblet Squat"]["reps"], now["Goblet Squat"]["load"]["magnitude"]) == (8, 20)
    assert (now["Hollow Hold"]["sets"], now["Hollow Hold"]["hold_s"]) == (1, 20)
    kinds = [(d["type"], d["exercise"]) for d in queries.history(ledger)["entries"] if d["type"] != "add"]
    assert kinds == [("init", None), ("progress", "Bench Press (Barbell)"), ("progress", "Dead Bug"),
                     ("progress", "Side Plank"), ("adapt", "Goblet Squat"), ("progress", "Deadlift (Barbell)"),
                     ("regress", "Hollow Hold")]
