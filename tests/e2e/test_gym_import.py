"""``backstory import --from hevy`` and ``export --format csv`` as a person runs them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.e2e.test_sync_devices import pair, server  # noqa: F401 (fixtures: a real server, two CLI devices)

SAMPLES = Path(__file__).parent.parent / "samples" / "gym"


def sample(name: str) -> str:
    return str(SAMPLES / name)


def test_import_hevy_history_once_and_read_it_back(cli):
    dry = cli.ok("import", "--from", "hevy", sample("hevy_app.csv"), "--timezone", "Europe/Berlin", "--dry-run",
                 "--json").json()
    assert dry == {"source": "hevy", "workouts": 4, "sessions": 9, "exercises": 4, "decisions": 4,
                   "skipped": dry["skipped"], "stored": False}
    assert [s["row"] for s in dry["skipped"]] == [6, 10, 11, 23]

    foreign = cli("import", "--from", "hevy", sample("foreign.csv"))
    assert foreign.code == 1 and foreign.out == ""
    assert foreign.err.strip().count("\n") == 0 and "row 1, column 'title'" in foreign.err
    assert "Traceback" not in foreign.err
    assert cli("show").code == 1  # neither the dry run nor the refused file started a program
    assert cli("import", "--dry-run", sample("hevy_app.csv")).code == 2  # --dry-run goes with --from

    first = cli.ok("import", "--from", "hevy", sample("hevy_app.csv"), "--timezone", "Europe/Berlin", "--json").json()
    assert (first["sessions"], first["exercises"], first["decisions"], first["stored"]) == (9, 4, 4, True)
    again = cli.ok("import", "--from", "hevy", sample("hevy_app.csv"))
    assert "nothing new to record" in again.out and "row 6: negative weight (-20)" in again.out
    web = cli.ok("import", "--from", "hevy", sample("hevy_web.csv"), "--json").json()
    assert (web["sessions"], web["exercises"], web["decisions"], web["stored"]) == (0, 0, 0, False)

    week2 = {e["name"]: e["prescription"] for e in cli.ok("show", "--as-of", "2026-09-08", "--json").json()["exercises"]}
    assert week2["Squat (Barbell)"]["load"] == {"type": "free_weight", "magnitude": 125, "unit": "lb"}
    assert week2["Plank"]["hold_s"] == 60 and "Bird Dog" not in week2
    history = cli.ok("history", "Squat (Barbell)").out
    assert history.index("add") < history.index("progress") < history.index("regress")
    assert "imported from Hevy (Lower Body, 2026-09-08)" in history

    table = list(csv.reader(io.StringIO(cli.ok("export", "--format", "csv").out)))
    assert table[0][:3] == ["date", "time", "exercise"] and len(table) == 1 + 9
    squat = [r for r in table if r[2] == "Squat (Barbell)"]
    assert [(r[0], r[1], r[3], r[4], r[6], r[10]) for r in squat] == [
        ("2026-09-01", "07:30", "3", "8", "115 lb", "8"), ("2026-09-08", "07:30", "3", "8", "125 lb", "10"),
        ("2026-09-15", "07:30", "2", "8", "115 lb", "")]
    assert squat[1][13] == ('Hevy: Lower Body\nFelt strong, slept 8h.\nKnee "a bit" stiff 🦵\n'
                            "warm-up sets: 1, drop sets: 1, sets to failure: 1")


def test_a_linked_device_queues_the_import_and_another_device_gets_it_once(pair):
    phone, tablet = pair
    phone.ok("sync")  # linked from now on: changes wait in the outbox
    queued = phone.ok("import", "--from", "hevy", sample("hevy_app.csv"), "--timezone", "Europe/Berlin",
                      "--json").json()
    assert (queued["sessions"], queued["exercises"], queued["decisions"], queued["stored"]) == (9, 4, 4, True)
    assert phone.ok("import", "--from", "hevy", sample("hevy_app.csv"), "--json").json()["stored"] is False
    assert phone.ok("sync", "--json").json()["applied"] == 1 + 9 + 4 + 4  # init, sessions, adds, decisions
    tablet.ok("sync")
    assert tablet.ok("import", "--from", "hevy", sample("hevy_web.csv"), "--json").json()["stored"] is False
    show = tablet.ok("show", "--as-of", "2026-09-15", "--json").json()
    assert {e["name"]: e["prescription"]["sets"] for e in show["exercises"]} == {
        "Squat (Barbell)": 2, "Plank": 3, "Romanian Deadlift (Dumbbell)": 3, "Bird Dog": 2}
