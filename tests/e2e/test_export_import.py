"""Export from one home, import into a fresh one: every read gives the same answer.

The first test records a history with the CLI (one fact of each kind per
month at most), exports it as JSON lines and imports it into an empty store on
the same backend, then compares ``show`` (at several dates, and as known at a
moment), ``history``, ``recap``, ``diff``, ``signature`` and ``export``.
Importing the same file again applies nothing. The second test imports a
generated file of 130+ decisions (past the aggregate's snapshot interval) and
checks the program at dates worked out by hand, before and after a round trip;
one day of it holds more micro-breaks than the snapshot interval too. Then two CLI checks
(SQLite): a promotion across a DST change (Europe/Berlin, America/New_York, Australia/Sydney) gives
byte-identical ``history``, ``show`` and ``signature`` after a round trip (issue 11), and another program's export, or a CSV, is refused with one line and
nothing stored, unless added deliberately with ``--into-this-program`` (issue 9, item 6).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Cli
from tests.e2e.conftest import ago, day

UTC = timezone.utc


def reads(c, dates: list[str], known_at: str, windows: list[tuple[str, str]]) -> dict:
    """Everything a user can read back from a store, keyed by the command."""
    out = {}
    for d in dates:
        out[f"show --as-of {d}"] = c.ok("show", "--as-of", d, "--json").json()
    out["show --known-at"] = c.ok("show", "--as-of", day(0), "--known-at", known_at, "--json").json()
    out["history"] = c.ok("history", "--json").json()
    for since, until in windows:
        out[f"recap {since} {until}"] = c.ok("recap", "--since", since, "--until", until, "--json").json()
    out["diff"] = c.ok("diff", day(95), day(5), "--json").json()
    out["signature"] = c.ok("signature", "--json").json()
    return out


def export_body(c) -> list[str]:
    lines = c.ok("export", "--format", "jsonl").out.splitlines()
    header = json.loads(lines[0])
    assert header["format"] and header["version"] == 3 and header["program"]["name"] == "Robin"
    return lines[1:]


def test_export_then_import_into_a_fresh_store_reads_the_same(cli, fresh_cli, tmp_path):
    a, b = cli, fresh_cli
    a.ok("init", "--name", "Robin", "--timezone", "UTC", "--at", day(100))
    a.ok("add", "Bird dog", "--position", "kneeling:quadruped", "--sets", "3", "--reps", "8", "--per-side",
         "--target", "multifidus", "--at", day(99))
    a.ok("add", "Dead bug", "--position", "1:supine", "--sets", "3", "--reps", "10", "--at", day(99))
    a.ok("add", "Side plank", "--position", "1:side-lying", "--sets", "3", "--hold", "20", "--at", day(99))
    a.ok("add", "Clamshell", "--position", "1:side-lying", "--load", "elastic:1:band", "--sets", "2", "--reps", "15",
         "--at", ago(99))
    a.ok("flare", "start", "--pain", "6", "--note", "gardening", "--at", day(92))
    a.ok("regress", "Dead bug", "--sets", "2", "--reason", "flare", "--reason-code", "flare", "--at", day(91))
    a.ok("checkin", "--pain", "5", "--starts", "low_back", "--travels", "left_buttock", "--at", day(91))
    a.ok("log", "Bird dog", "--pain-before", "4", "--pain-during", "3", "--pain-after", "2",
         "--tension", "paraspinals:left:overactive:5", "--tension", "glutes:right", "--at", day(90))
    a.ok("break", "--kind", "walk", "--seconds", "60", "--at", day(90))
    a.ok("next-day", "Bird dog", "--verdict", "better", "--pain", "3", "--at", day(89))
    a.ok("flare", "end", "--pain", "3", "--at", day(89))
    a.ok("progress", "Dead bug", "--sets", "3", "--reason", "flare over", "--at", day(70))
    a.ok("deconstruct", "Side plank", "--into", "Knee side plank", "--into", "Side-lying hip lift",
         "--reason", "too much for the QL", "--at", day(60))
    a.ok("log", "knee SIDE plank", "--pain-before", "3", "--pain-after", "2",
         "--tension", "quadratus_lumborum:right:guarding:4", "--at", day(55))
    a.ok("break", "--kind", "extend", "--seconds", "30", "--at", day(54))
    a.ok("checkin", "--pain", "2", "--at", day(54))
    a.ok("promote", "Bird dog", "--force", "--reason", "the therapist says it is a keeper", "--at", day(50))
    a.ok("fitting", "open", "--notes", "cycle 1", "--at", day(45))
    a.ok("retire", "Clamshell", "--reason", "bored of it", "--at", day(40))
    a.ok("fitting", "close", "--at", day(31))
    time.sleep(0.01)
    known_at = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    a.ok("log", "Dead bug", "--pain-before", "2", "--pain-after", "1", "--sets", "3", "--reps", "10",
         "--at", day(20))
    a.ok("break", "--kind", "rotate", "--at", day(19))
    a.ok("next-day", "Dead bug", "--verdict", "same", "--at", day(19))
    a.ok("regress", "Bird dog", "--reps", "6", "--reason", "entered late: fewer reps back then", "--at", day(80))
    a.ok("adapt", "Dead bug", "--direction", "anti_extension", "--reason", "new pattern", "--at", day(10))

    path = tmp_path / "export.jsonl"
    a.ok("export", "--format", "jsonl", "-o", str(path))
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 26

    first = b.ok("import", str(path), "--json").json()
    assert (first["applied"], first["duplicate"], first["refused"]) == (26, 0, [])

    dates = [day(85), day(58), day(0)]
    windows = [(day(100), day(0)), (day(92), day(88))]
    expected = reads(a, dates, known_at, windows)
    assert reads(b, dates, known_at, windows) == expected
    body = export_body(a)
    assert export_body(b) == body

    # a sanity check that the compared reads are not empty
    def bird_dog(data):
        return {e["name"]: e for e in data["exercises"]}["Bird dog"]["prescription"]["reps"]

    assert bird_dog(expected["show --known-at"]) == 8  # the late regression was not known yet
    assert bird_dog(expected[f"show --as-of {day(85)}"]) == 8
    assert bird_dog(expected[f"show --as-of {day(58)}"]) == 6
    assert expected[f"recap {day(92)} {day(88)}"]["sessions"] == 1
    assert [e["name"] for e in expected["signature"]["exercises"]] == ["Bird dog"]
    assert expected["signature"]["exercises"][0]["forced"] is True

    again = b.ok("import", str(path), "--json").json()
    assert (again["applied"], again["duplicate"], again["refused"]) == (0, 26, [])
    assert export_body(b) == body
    assert b.ok("history", "--json").json() == expected["history"]
    assert b.ok("show", "--as-of", day(0), "--json").json() == expected[f"show --as-of {day(0)}"]
    assert (b.ok("recap", "--since", day(100), "--until", day(0), "--json").json()
            == expected[f"recap {day(100)} {day(0)}"])


# ----- a long generated history, past the snapshot interval ------------------------------------

N_CHANGES = 130
N_BREAKS = 110


def generated_export(now: datetime) -> list[str]:
    """init, 2 adds, 130 alternating progress/regress of Dead bug (sets 3 <-> 4) and a log every 10 days."""
    rows = []
    recorded = now - timedelta(hours=3)

    def at(n: int, minute: int = 0) -> str:
        return f"{day(n)}T{12 + minute // 60:02d}:{minute % 60:02d}:00+00:00"

    def push(kind: str, n: int, args: dict, minute: int = 0) -> None:
        nonlocal recorded
        recorded += timedelta(seconds=1)
        rows.append({"mutation_id": str(uuid.uuid4()), "type": kind, "occurred_at": at(n, minute),
                     "device_id": "phone-1", "args": args, "recorded_at": recorded.isoformat()})

    push("init", 310, {"name": "Kim", "timezone": "UTC"})
    push("add", 305, {"name": "Dead bug", "position": "1:supine", "sets": 3, "reps": 10})
    push("add", 305, {"name": "Bird dog", "position": "2:quadruped", "sets": 3, "reps": 8})
    for i in range(N_CHANGES):
        n = 300 - 2 * i
        if i % 2 == 0:
            push("progress", n, {"exercise": "Dead bug", "sets": 4, "reason": f"change {i}"})
        else:
            push("regress", n, {"exercise": "dead bug", "sets": 3, "reason": f"change {i}"})
        if i % 5 == 0:
            push("log", n, {"exercise": "Bird dog", "pain_before": 4, "pain_after": 2 + (i // 5) % 2,
                            "tension": ["paraspinals:left:overactive:3"]})
    for minute in range(N_BREAKS):  # one busy day: more facts in one month than the snapshot interval
        push("break", 150, {"kind": "stand", "seconds": 30}, minute=minute * 5)
    header = {"format": "backstory-mutations", "version": 1, "exported_at": now.isoformat()}
    return [json.dumps(header)] + [json.dumps(r) for r in rows]


def dead_bug_sets_on(n: int) -> int:
    """Sets of Dead bug at the end of the day ``n`` days ago, worked out from the generator."""
    count = 0 if n > 300 else (300 - n) // 2 + 1
    count = min(count, N_CHANGES)
    return 4 if count % 2 == 1 else 3


def test_long_generated_history_round_trips(cli, fresh_cli, tmp_path):
    a, b = cli, fresh_cli
    path = tmp_path / "generated.jsonl"
    lines = generated_export(datetime.now(UTC))
    path.write_text("\n".join(lines) + "\n")
    mutations = len(lines) - 1
    assert a.ok("import", str(path), "--json").json() == {"applied": mutations, "duplicate": 0, "refused": []}

    ns = [306, 300, 298, 101, 100, 3]
    for n in ns:
        ex = {e["name"]: e for e in a.ok("show", "--as-of", day(n), "--json").json()["exercises"]}
        assert ex.get("Dead bug", {}).get("prescription", {}).get("sets") == (None if n > 305 else dead_bug_sets_on(n)), n
    history = a.ok("history", "dead bug", "--json").json()["entries"]
    assert len(history) == 1 + N_CHANGES
    assert [e["type"] for e in history[1:5]] == ["progress", "regress", "progress", "regress"]

    recap = a.ok("recap", "--since", day(300), "--until", day(0), "--json").json()
    logs = N_CHANGES // 5
    assert recap["sessions"] == logs
    after = [2 + (i // 5) % 2 for i in range(0, N_CHANGES, 5)]
    assert recap["by_exercise"][0]["pain_after_avg"] == round(sum(after) / logs, 2)
    assert recap["tension"] == [{"muscle": "paraspinals", "side": "left", "count": logs}]

    busy = a.ok("recap", "--since", day(150), "--until", day(150), "--json").json()
    assert (busy["breaks"], busy["breaks_per_day"]) == (N_BREAKS, {day(150): N_BREAKS})

    # a new process can still decide and record on top of the long (snapshotted) histories
    a.ok("progress", "Dead bug", "--sets", "5", "--reason", "strong now", "--at", day(1))
    assert {e["name"]: e for e in a.ok("show", "--json").json()["exercises"]}["Dead bug"]["prescription"]["sets"] == 5
    a.ok("break", "--kind", "walk", "--at", f"{day(150)}T22:00:00+00:00")
    busy = a.ok("recap", "--since", day(150), "--until", day(150), "--json").json()
    assert busy["breaks"] == N_BREAKS + 1

    out = tmp_path / "again.jsonl"
    a.ok("export", "-o", str(out))
    assert b.ok("import", str(out), "--json").json() == {"applied": mutations + 2, "duplicate": 0, "refused": []}
    for n in (101, 0):
        assert (b.ok("show", "--as-of", day(n), "--json").json()
                == a.ok("show", "--as-of", day(n), "--json").json())
    assert b.ok("history", "--json").json() == a.ok("history", "--json").json()
    assert (b.ok("recap", "--since", day(160), "--until", day(140), "--json").json()
            == a.ok("recap", "--since", day(160), "--until", day(140), "--json").json())


# ----- the same history across a DST change (issue 11) -----------------------------------------


def sqlite_homes(tmp_path) -> tuple[Cli, Cli]:
    """Two CLIs with empty SQLite stores: what these CLI checks prove does not depend on the backend
    (``tests/reliability/test_import_checks.py`` runs the same on both, in-process)."""
    homes = (Cli(tmp_path / "a", None), Cli(tmp_path / "b", None))
    for c in homes:
        c.home.mkdir(mode=0o700)
    return homes


# (zone, the day its clocks change in autumn 2025 (spring in Sydney), the day of the promotion)
DST = [("Europe/Berlin", date(2025, 10, 26), date(2025, 11, 8)),
       ("America/New_York", date(2025, 11, 2), date(2025, 11, 10)),
       ("Australia/Sydney", date(2025, 10, 5), date(2025, 10, 20))]


@pytest.mark.parametrize("zone, change, promoted", DST, ids=[z for z, _, _ in DST])
def test_a_promotion_across_dst_reads_the_same_after_a_round_trip(tmp_path, zone, change, promoted):
    """A promotion measures its 42 days back to the same wall-clock time in the program's zone, across the
    change: Europe/Berlin leaves summer time on 26 October 2025, so a promotion on 8 November counts from
    27 September 12:00+02:00, and so does its import (the session at 12:30 that day was outside once
    imported, and the promotion refused). Sessions half an hour either side of the window's start tell a
    window moved by the change's hour either way. history, show and the signature library, as JSON and
    as text, are byte-identical after the round trip."""
    a, b = sqlite_homes(tmp_path)
    start = promoted - timedelta(days=42)
    a.ok("init", "--name", "Kim", "--timezone", zone, "--at", f"{start - timedelta(days=10)}T09:00")
    a.ok("add", "Dead bug", "--position", "1:supine", "--sets", "3", "--reps", "8",
         "--at", f"{start - timedelta(days=9)}T09:00")
    moments = [f"{start}T11:30", f"{start}T12:30"] + [f"{change + timedelta(days=n)}T12:00" for n in (-2, -1, 1, 2)]
    for moment in moments:
        a.ok("log", "Dead bug", "--pain-before", "4", "--pain-during", "2", "--pain-after", "2", "--at", moment)
    a.ok("next-day", "Dead bug", "--verdict", "better", "--at", f"{change + timedelta(days=1)}T11:30")
    a.ok("checkin", "--pain", "3", "--at", f"{change}T02:30")  # a wall time the change skips or repeats
    a.ok("promote", "Dead bug", "--at", f"{promoted}T12:00")
    path = tmp_path / "dst.jsonl"
    a.ok("export", "-o", str(path))
    assert b.ok("import", str(path), "--json").json() == {"applied": 11, "duplicate": 0, "refused": []}
    dates = [str(start), str(change), str(promoted), "today"]
    for args in [("history", "--json"), ("history",), ("signature", "--json"),
                 *[("show", "--as-of", d, "--json") for d in dates], ("show", "--as-of", str(change))]:
        assert b.ok(*args).out == a.ok(*args).out, args  # byte for byte
    history = json.loads(a.ok("history", "--json").out)
    evidence = history["entries"][-1]["to"]["evidence"]
    window_start = datetime.combine(start, datetime.min.time().replace(hour=12), ZoneInfo(zone)).isoformat()
    assert (evidence["window_start"], evidence["exposures"]) == (window_start, 5)


# ----- another program's export (issue 9, item 6) ----------------------------------------------


def test_another_programs_export_is_refused_whole(tmp_path):
    from tests.e2e.conftest import store_rows

    a, b = sqlite_homes(tmp_path)
    a.ok("init", "--name", "Robin", "--at", day(30))
    a.ok("add", "Cat camel", "--position", "kneeling:quadruped", "--sets", "2", "--reps", "10", "--at", day(29))
    a.ok("log", "Cat camel", "--pain-before", "3", "--pain-after", "1", "--at", day(28))
    path = tmp_path / "robin.jsonl"
    a.ok("export", "-o", str(path))
    b.ok("init", "--name", "Other", "--at", day(40))
    before = store_rows(b)
    refused = b("import", str(path))
    assert refused.code == 1 and refused.out == ""
    assert refused.err.startswith("backstory: refused (other_program): this file is an export of another "
                                  "program ('Robin', started ")
    assert "Nothing was imported. Import it into an empty store" in refused.err
    assert len(refused.err.splitlines()) == 1
    assert store_rows(b) == before
    assert b.ok("recap", "--since", day(30), "--json").json()["sessions"] == 0

    hevy = tmp_path / "workouts.csv"
    hevy.write_text('"title","start_time","end_time","description","exercise_title"\n'
                    '"Morning","1 Sep 2026, 07:30","1 Sep 2026, 08:10","","Bird Dog"\n')
    refused = b("import", str(hevy))
    assert refused.code == 1 and refused.err.startswith("backstory: invalid value: line 1: is not a backstory export")
    assert store_rows(b) == before

    # deliberately: Robin's changes added to Other (its init left out)
    added = b.ok("import", str(path), "--into-this-program", "--json").json()
    assert added == {"applied": 2, "duplicate": 0, "refused": []}
    assert b.ok("recap", "--since", day(30), "--json").json()["sessions"] == 1
    assert b.ok("show", "--json").json()["program"]["name"] == "Other"
