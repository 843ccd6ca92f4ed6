"""The Hevy and Strong parsers and the mapping to mutations, on the sample exports in tests/samples/gym."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidValue
from service.gymimport import parse
from service.gymimport.mapping import kind_of, plan, rx
from service.gymimport.model import BadFile

SAMPLES = Path(__file__).parent.parent / "samples" / "gym"
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
BERLIN = ZoneInfo("Europe/Berlin")
HEVY_HEADER = ('"title","start_time","end_time","description","exercise_title","superset_id","exercise_notes",'
               '"set_index","set_type","weight_kg","reps","distance_km","duration_seconds","rpe"')


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def shape(parsed):
    return [(w.title, w.start, w.end, w.description,
             [(b.exercise, b.notes, [(s.kind, s.weight, s.unit, s.reps, s.seconds, s.distance, s.rpe) for s in b.sets])
              for b in w.blocks]) for w in parsed.workouts]


def test_the_samples_keep_the_apps_own_bytes():
    app = (SAMPLES / "hevy_app.csv").read_bytes()
    web = (SAMPLES / "hevy_web.csv").read_bytes()
    semi = (SAMPLES / "strong_semicolon.csv").read_bytes()
    assert app.count(b"\r\n") == app.count(b"\n") and b"\\n" in app  # CRLF rows, literal \n in fields
    assert b"\r" not in web and b'slept 8h.\nKnee ""a bit""' in web  # LF rows, real line breaks in quotes
    assert semi.startswith(b"\xef\xbb\xbf") and b'"182,5"' in semi


def test_hevy_app_and_web_exports_read_the_same():
    app, web = parse("hevy", sample("hevy_app.csv")), parse("hevy", sample("hevy_web.csv"))
    assert shape(app) == shape(web)
    assert [(w.title, w.start, w.end) for w in app.workouts] == [
        ("Lower Body", datetime(2026, 9, 1, 7, 30), datetime(2026, 9, 1, 8, 30)),
        ("Lower Body", datetime(2026, 9, 8, 7, 30), datetime(2026, 9, 8, 8, 40)),
        ("Lower Body", datetime(2026, 9, 15, 7, 30), datetime(2026, 9, 15, 8, 20)),
        ("Lower Body", datetime(2026, 9, 15, 7, 30), datetime(2026, 9, 15, 9, 0)),  # same title and start: two
    ]
    first, second = app.workouts[0], app.workouts[1]
    assert first.blocks[2].notes == 'Keep back "neutral", hinge at the hips\nfelt good 💪, no pain'
    assert second.description == 'Felt strong, slept 8h.\nKnee "a bit" stiff 🦵'
    squat = second.blocks[0]
    assert [(s.kind, s.weight, s.unit, s.reps, s.rpe) for s in squat.sets] == [
        ("warmup", 45, "lb", 10, None), ("normal", 125, "lb", 8, 8), ("normal", 125, "lb", 8, 8.5),
        ("failure", 125, "lb", 7, 9.5), ("dropset", 95, "lb", 10, None)]
    assert [s.seconds for s in first.blocks[1].sets] == [45, 45, 45]


def test_hevy_in_kilograms_and_kilometres():
    text = "\n".join([HEVY_HEADER, '"Run","Sep 22, 2026, 6:00 AM","Sep 22, 2026, 6:40 AM","","Plank",,"",0,"normal",'
                                   '12.5,,,30,7', '"Run","Sep 22, 2026, 6:00 AM","Sep 22, 2026, 6:40 AM","",'
                                   '"Running",,"",0,"normal",,,5.2,1800,'])
    workout = parse("hevy", text).workouts[0]
    assert workout.start == datetime(2026, 9, 22, 6, 0)
    assert [(s.weight, s.unit, s.seconds, s.distance) for b in workout.blocks for s in b.sets] == [
        (12.5, "kg", 30, None), (None, "kg", 1800, 5.2)]


def test_strong_comma_export_with_and_without_notes_and_rpe():
    full = parse("strong", sample("strong_comma.csv"))
    assert [(w.title, w.start, w.end - w.start) for w in full.workouts] == [
        ("Evening, upper", datetime(2026, 10, 1, 18, 0), timedelta(hours=1, minutes=5)),
        ("Evening, upper", datetime(2026, 10, 8, 18, 5), timedelta(minutes=58))]
    bench = full.workouts[0].blocks[0]
    assert bench.notes == 'Elbows tucked, "slow" down'
    assert [(s.weight, s.unit, s.reps, s.rpe) for s in bench.sets] == [(50, None, 10, 7), (50, None, 10, 8.5),
                                                                        (50, None, 9, 9)]
    assert full.workouts[1].description == "Gym was busy"
    minimal = parse("strong", sample("strong_comma_minimal.csv"))
    assert [w.end - w.start for w in minimal.workouts] == [timedelta(minutes=45), timedelta(hours=1)]
    assert {s.rpe for w in minimal.workouts for b in w.blocks for s in b.sets} == {None}


def test_strong_semicolon_export_with_bom_decimal_commas_pounds_and_set_orders():
    parsed = parse("strong", sample("strong_semicolon.csv"))
    deadlift = parsed.workouts[0].blocks[0]
    assert [(s.kind, s.weight, s.unit, s.reps, s.rpe) for s in deadlift.sets] == [
        ("warmup", 95, "lb", 5, None), ("normal", 182.5, "lb", 5, 7.5), ("normal", 182.5, "lb", 5, 8),
        ("failure", 182.5, "lb", 4, 9.5), ("dropset", 135, "lb", 8, None)]  # the Rest Timer row is no set
    assert parsed.workouts[0].end - parsed.workouts[0].start == timedelta(seconds=3900)
    assert [b.exercise for w in parsed.workouts for b in w.blocks] == ["Deadlift (Barbell)", "Hollow Hold"] * 2


@pytest.mark.parametrize("source, text, row, column, expected", [
    ("hevy", "foreign.csv", 1, "title", "expected a Hevy export"),
    ("strong", "foreign.csv", 1, "Workout Name", "expected a Strong export"),
    ("strong", "hevy_app.csv", 1, "Date", "expected a Strong export"),
    ("hevy", "strong_semicolon.csv", 1, "title", "expected a Hevy export"),
    ("hevy", HEVY_HEADER + '\n"A","1 Sep 2026, 07:30","1 Sep 2026, 08:00","","Plank",,"",0,"normal",,,,30,\n'
                           '"A","31 Sep 2026, 07:30","1 Sep 2026, 08:00","","Plank",,"",1,"normal",,,,30,\n',
     3, "start_time", "'31 Sep 2026, 07:30' is not a date and time like '1 Sep 2026, 07:30'"),
    ("hevy", HEVY_HEADER + '\n"A","1 Sep 2026, 07:30","1 Sep 2026, 08:00","","Plank",,"",0,"normal",heavy,,,30,\n',
     2, "weight_kg", "'heavy' is not a number"),
    ("strong", "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps\n"
               "2026-10-01 18:00:00,A,an hour,Squat,1,20,5\n", 2, "Duration", "is not a duration like '1h 5m'"),
    ("hevy", HEVY_HEADER + '\n"A","1 Sep 2026, 07:30","1 Sep 2026, 08:00","","Plank,,"",0\n', 2, None,
     "is not well-formed CSV"),
    ("hevy", "", 1, None, "the file is empty"),
])
def test_a_foreign_or_unreadable_file_is_refused_naming_row_column_and_expectation(source, text, row, column, expected):
    with pytest.raises(BadFile) as info:
        parse(source, sample(text) if text.endswith(".csv") else text)
    assert (info.value.row, info.value.column) == (row, column)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_mapping_adds_logs_and_infers_decisions():
    p = plan(parse("hevy", sample("hevy_app.csv")), BERLIN, None, NOW)
    assert p.workouts == 4
    decisions = [(m.type, m.args.get("name") or m.args["exercise"], m.occurred_at.date().isoformat(),
                  {k: v for k, v in m.args.items() if k in ("sets", "reps", "hold", "load", "position")})
                 for m in p.mutations if m.type != "log"]
    assert decisions == [
        ("add", "Squat (Barbell)", "2026-09-01", {"position": "4", "sets": 3, "reps": 8, "load": "free_weight:115:lb"}),
        ("add", "Plank", "2026-09-01", {"position": "4", "sets": 3, "hold": 45, "load": "bodyweight"}),
        ("add", "Romanian Deadlift (Dumbbell)", "2026-09-01",
         {"position": "4", "sets": 2, "reps": 10, "load": "free_weight:40:lb"}),
        ("progress", "Squat (Barbell)", "2026-09-08", {"load": "free_weight:125:lb"}),
        ("progress", "Plank", "2026-09-08", {"hold": 60}),
        # more sets and reps at a lighter load: mixed, so an adaptation
        ("adapt", "Romanian Deadlift (Dumbbell)", "2026-09-08", {"sets": 3, "reps": 12, "load": "free_weight:35:lb"}),
        ("regress", "Squat (Barbell)", "2026-09-15", {"sets": 2, "load": "free_weight:115:lb"}),
        ("add", "Bird Dog", "2026-09-15", {"position": "4", "sets": 2, "reps": 10, "load": "bodyweight"}),
    ]
    assert all(m.args["reason_code"] == "imported" and "Hevy" in m.args["reason"] for m in p.mutations
               if m.type != "log")
    assert p.mutations[0].occurred_at.isoformat() == "2026-09-01T07:30:00+02:00"
    heavy = next(m for m in p.mutations if m.type == "log" and m.occurred_at.day == 8 and "Squat" in m.args["exercise"])
    # failure counts as a working set, warm-up and drop sets apart; RPE 9.5 rounds up to effort 10
    assert (heavy.args["sets"], heavy.args["reps"], heavy.args["load"], heavy.args["effort"]) == (
        3, 8, "free_weight:125:lb", 10)
    assert heavy.args["note"] == ('Hevy: Lower Body\nFelt strong, slept 8h.\nKnee "a bit" stiff 🦵\n'
                                  "warm-up sets: 1, drop sets: 1, sets to failure: 1")
    assert not any(k.startswith("pain") for m in p.mutations for k in m.args)
    assert [(s.row, s.why.split(" (")[0].split(":")[0]) for s in p.skipped] == [
        (6, "negative weight"), (10, "no reps or time"), (11, "reps 250 is outside backstory's range 1..200"),
        (23, "empty set")]


def test_ids_come_from_the_source_rows_so_app_and_web_exports_map_alike():
    app = plan(parse("hevy", sample("hevy_app.csv")), BERLIN, None, NOW)
    web = plan(parse("hevy", sample("hevy_web.csv")), BERLIN, None, NOW)
    again = plan(parse("hevy", sample("hevy_app.csv")), ZoneInfo("UTC"), "kg", NOW)
    ids = [m.mutation_id for m in app.mutations]
    assert len(set(ids)) == len(ids)
    assert ids == [m.mutation_id for m in web.mutations] == [m.mutation_id for m in again.mutations]


def test_strong_mapping_rpe_halves_units_and_holds():
    semi = plan(parse("strong", sample("strong_semicolon.csv")), BERLIN, None, NOW)
    logs = [m.args for m in semi.mutations if m.type == "log"]
    assert [(a["exercise"], a["sets"], a.get("reps"), a.get("hold"), a["load"], a.get("effort")) for a in logs] == [
        ("Deadlift (Barbell)", 3, 5, None, "free_weight:182.5:lb", 10),
        ("Hollow Hold", 2, None, 25, "bodyweight", None),
        ("Deadlift (Barbell)", 3, 5, None, "free_weight:192.5:lb", 9),
        ("Hollow Hold", 1, None, 20, "bodyweight", None)]
    assert [m.type for m in semi.mutations if m.type not in ("add", "log")] == ["progress", "regress"]
    converted = plan(parse("strong", sample("strong_semicolon.csv")), BERLIN, "kg", NOW)
    assert [m.args["load"] for m in converted.mutations if m.type == "log"][0] == "free_weight:82.78:kg"
    comma = plan(parse("strong", sample("strong_comma.csv")), BERLIN, "kg", NOW)
    assert [m.args.get("effort") for m in comma.mutations if m.type == "log"][0] == 9  # RPE 7, 8.5, 9
    with pytest.raises(InvalidValue, match="give --unit kg or --unit lb"):
        plan(parse("strong", sample("strong_comma.csv")), BERLIN, None, NOW)


def test_a_workout_in_the_future_is_skipped_and_blocks_without_working_sets_log_nothing():
    text = "\n".join([HEVY_HEADER,
                      '"Later","1 Dec 2027, 07:30","1 Dec 2027, 08:00","","Plank",,"",0,"normal",,,,30,',
                      '"Now","1 Nov 2026, 07:30","1 Nov 2026, 08:00","","Squat",,"",0,"warmup",20,10,,,',
                      '"Now","1 Nov 2026, 07:30","1 Nov 2026, 08:00","","Squat",,"",1,"dropset",15,10,,,',
                      '"Now","1 Nov 2026, 07:30","1 Nov 2026, 08:00","","Plank",,"",0,"normal",,,,30,11',
                      '"Now","1 Nov 2026, 07:30","1 Nov 2026, 08:00","","Plank",,"",1,"normal",,,,30,7'])
    p = plan(parse("hevy", text), BERLIN, None, NOW)
    assert [(m.type, m.args.get("name") or m.args["exercise"]) for m in p.mutations] == [("add", "Plank"),
                                                                                          ("log", "Plank")]
    assert p.mutations[1].args["sets"] == 1 and p.mutations[1].args["effort"] == 7
    assert [(s.row, s.why) for s in p.skipped] == [
        (2, "dated 2027-12-01 07:30, in the future"),
        (3, "no working set in this exercise block (only warm-up or drop sets)"),
        (4, "no working set in this exercise block (only warm-up or drop sets)"),
        (5, "RPE 11 is outside 0..10")]


def test_kind_of_orders_a_change_like_the_domain():
    dose = {"sets": 3, "reps": 8, "hold": None, "load": {"type": "free_weight", "magnitude": 20, "unit": "kg"}}
    assert kind_of(rx(dose), rx(dose)) is None
    assert kind_of(rx(dose), rx({**dose, "sets": 4})) == "progress"
    assert kind_of(rx(dose), rx({**dose, "reps": 6})) == "regress"
    assert kind_of(rx(dose), rx({**dose, "sets": 4, "load": {**dose["load"], "magnitude": 15}})) == "adapt"
    assert kind_of(rx(dose), rx({**dose, "load": {**dose["load"], "unit": "lb"}})) == "adapt"
    assert kind_of(rx(dose), rx({**dose, "reps": None, "hold": 30})) == "adapt"
    assert kind_of(rx(dose), rx({**dose, "sets": 4, "reps": 6})) == "adapt"  # same volume, changed shape


def test_older_strong_files_with_a_weight_unit_column_and_twelve_hour_clocks():
    text = ("Date;Workout Name;Exercise Name;Set Order;Weight;Weight Unit;Reps;RPE;Distance;Distance Unit;Seconds;"
            "Notes;Workout Notes\n"
            "2026-10-01 6:05:00\u202fPM;\"Leg\";\"Squat\";1;20;kg;5;;;;0;\"\";\"\"\n"
            "2026-10-01 6:05:00\u202fPM;\"Leg\";\"Squat\";2;45;lbs;5;;;;0;;\n")
    workout = parse("strong", text).workouts[0]
    assert workout.start == datetime(2026, 10, 1, 18, 5) and workout.end is None
    assert [(s.weight, s.unit) for s in workout.blocks[0].sets] == [(20, "kg"), (45, "lb")]
    assert plan(parse("strong", text), BERLIN, None, NOW).mutations[0].args["load"] == "free_weight:20.41:kg"
    hevy = parse("hevy", HEVY_HEADER + '\n"A","1 Sept 2026, 07:30","1 Sept 2026, 08:00","","Plank",,"",0,"normal",,,,30,')
    assert hevy.workouts[0].start == datetime(2026, 9, 1, 7, 30)


def test_a_header_alone_maps_to_nothing():
    p = plan(parse("hevy", HEVY_HEADER + "\r\n"), BERLIN, None, NOW)
    assert (p.workouts, p.mutations, p.skipped, p.earliest) == (0, [], [], None)


@pytest.mark.parametrize("zone", ["Etc/GMT+12", "Pacific/Kiritimati"])
def test_a_workout_at_the_end_of_time_is_skipped_as_in_the_future_not_a_traceback(zone):
    """31 Dec 9999 23:59 at UTC-12 is past the last UTC time: reading it in its fixed offset went through UTC."""
    text = ('"title","start_time","end_time","description","exercise_title","superset_id","exercise_notes",'
            '"set_index","set_type","weight_kg","reps","distance_km","duration_seconds","rpe"\n'
            '"Late","31 Dec 9999, 23:59","31 Dec 9999, 23:59","","Bird Dog","","","0","normal","","10","","",""\n')
    p = plan(parse("hevy", text), ZoneInfo(zone), None, NOW)
    assert p.mutations == [] and [s.why for s in p.skipped] == ["dated 9999-12-31 23:59, in the future"]
