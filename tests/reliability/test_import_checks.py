"""Data safety of export and import (issues 9 and 11), in-process on SQLite and PostgreSQL (``store_url``).

- **Another program's export is refused whole** (issue 9, item 6): importing it into a store that
  holds another program stores nothing; so does a file whose history does not fit this store's
  program, a CSV (a Hevy export), a file that is not UTF-8 and a file with a bad line in the
  middle. An export of this same program, or of a later state of it, imports what is new.
- **Pending changes travel** (issue 9, item 2): an export carries a linked device's changes still
  waiting in its outbox, marked ``pending``; an empty store imports them once.
- **The same history across DST** (issue 11): programs in Europe/Berlin, America/New_York and
  Australia/Sydney whose promotion window and a next-day response cross a DST change, recorded
  with zone-aware times as the CLI makes them, exported and imported into an empty store, give
  byte-identical ``history`` and facts.

The CLI's side (messages, exit codes, a revoked device carrying its work to another device through
a real server) is in ``tests/e2e/test_export_import.py``.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidValue, Refused
from service import queries
from service.application import Ledger
from service.exchange import export_lines, import_mutations, read_export, rebased
from service.handling import handle
from service.mutation import Mutation
from tests.conftest import open_ledger

UTC = timezone.utc
NOW = datetime.now(UTC)


def mut(mutation_type: str, at: datetime, device: str = "phone", **args) -> Mutation:
    return Mutation(str(uuid.uuid4()), mutation_type, at, device, args)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def stored_count(ledger: Ledger) -> int:
    return ledger.app.recorder.max_notification_id() or 0


def program(ledger: Ledger, name: str) -> None:
    """A program with two exercises and sessions of one of them."""
    handle(ledger, mut("init", days_ago(60), name=name, timezone="UTC"))
    handle(ledger, mut("add", days_ago(59), name="Dead bug", position="1:supine", sets=3, reps=8))
    handle(ledger, mut("add", days_ago(59), name="Bird dog", position="kneeling:quadruped", sets=3, reps=6))
    for n in (50, 40, 30):
        handle(ledger, mut("log", days_ago(n), exercise="Bird dog", pain_before=4, pain_after=2))


@pytest.fixture
def other(tmp_path):
    opened = open_ledger(f"sqlite:///{tmp_path / 'other.sqlite'}")
    yield opened
    opened.app.close()


def test_an_export_of_another_program_is_refused_and_nothing_is_stored(ledger, other):
    program(other, "Other")
    handle(other, mut("add", days_ago(45), name="Cat camel", position="kneeling:quadruped", sets=2, reps=10))
    handle(other, mut("log", days_ago(44), exercise="Cat camel", pain_before=3, pain_after=1))
    program(ledger, "Sam")
    before = stored_count(ledger)
    export = read_export(list(export_lines(other, NOW)))
    assert export.program["name"] == "Other"
    with pytest.raises(Refused) as refused:
        import_mutations(ledger, export)
    assert refused.value.rule == "other_program"
    message = str(refused.value)
    assert "another program ('Other'" in message and "holds 'Sam'" in message and "empty store" in message
    assert stored_count(ledger) == before
    assert queries.recap(ledger, days_ago(61), NOW, ZoneInfo("UTC"))["sessions"] == 3


def test_an_export_of_this_program_or_a_later_state_of_it_imports_what_is_new(ledger, other):
    program(ledger, "Sam")
    copy = import_mutations(other, read_export(list(export_lines(ledger, NOW))))
    assert (copy["applied"], copy["refused"]) == (6, [])
    handle(ledger, mut("progress", days_ago(20), exercise="Bird dog", reps=8, reason="easy"))
    handle(ledger, mut("log", days_ago(19), exercise="Bird dog", pain_before=3, pain_after=1))
    later = read_export(list(export_lines(ledger, NOW)))
    assert import_mutations(other, later) == {"applied": 2, "duplicate": 6, "refused": []}
    assert queries.history(other) == queries.history(ledger)
    # and the older copy's export (a subset) brings nothing new back
    assert import_mutations(ledger, read_export(list(export_lines(other, NOW))))["applied"] == 0


def test_a_history_that_does_not_fit_is_refused_whole(ledger, other):
    program(ledger, "Sam")
    import_mutations(other, read_export(list(export_lines(ledger, NOW))))
    # the copy goes its own way: Bird dog retired there, progressed (and logged) here
    handle(other, mut("retire", days_ago(25), exercise="Bird dog", reason="bored"))
    handle(ledger, mut("log", days_ago(21), exercise="Dead bug", pain_before=3, pain_after=1))
    handle(ledger, mut("progress", days_ago(20), exercise="Bird dog", reps=8, reason="easy"))
    before = stored_count(other)
    with pytest.raises(Refused) as refused:
        import_mutations(other, read_export(list(export_lines(ledger, NOW))))
    assert refused.value.rule == "export_does_not_fit"
    assert str(refused.value).startswith("line 9: progress ") and "Nothing was imported" in str(refused.value)
    assert stored_count(other) == before  # not even the log of line 8, which would fit


def test_into_this_program_adds_another_programs_changes_whole_or_not_at_all(ledger, other):
    program(ledger, "Sam")
    handle(other, mut("init", days_ago(40), name="Other", timezone="UTC"))
    handle(other, mut("add", days_ago(39), name="Cat camel", position="kneeling:quadruped", sets=2, reps=10))
    handle(other, mut("log", days_ago(38), exercise="Cat camel", pain_before=3, pain_after=1))
    handle(other, mut("progress", days_ago(37), exercise="Cat camel", reps=12, reason="easy", force=True))
    lines = list(export_lines(other, NOW))
    moment = datetime.now(UTC)
    assert import_mutations(ledger, rebased(read_export(lines), moment)) == {
        "applied": 3, "duplicate": 0, "refused": []}
    entries = queries.history(ledger, exercise="cat camel")["entries"]
    assert [(e["type"], e["recorded_at"]) for e in entries] == [("add", moment.isoformat()),
                                                                ("progress", moment.isoformat())]
    assert queries.recap(ledger, days_ago(61), NOW, ZoneInfo("UTC"))["sessions"] == 4
    assert queries.show(ledger, NOW)["program"]["name"] == "Sam"
    again = import_mutations(ledger, rebased(read_export(lines), datetime.now(UTC)))
    assert again == {"applied": 0, "duplicate": 3, "refused": []}

    # an exercise of the same name here: the add does not fit, and nothing (not even the log) is added
    handle(other, mut("add", days_ago(36), name="Bird dog", position="1:supine", sets=1, reps=5))
    handle(other, mut("log", days_ago(35), exercise="Cat camel", pain_before=2, pain_after=1))
    before = stored_count(ledger)
    with pytest.raises(Refused) as refused:
        import_mutations(ledger, rebased(read_export(list(export_lines(other, NOW))), datetime.now(UTC)))
    assert refused.value.rule == "export_does_not_fit" and str(refused.value).startswith("line 6: add ")
    assert stored_count(ledger) == before


HEVY = ['"title","start_time","end_time","description","exercise_title","superset_id","exercise_notes",'
        '"set_index","set_type","weight_kg","reps","distance_km","duration_seconds","rpe"',
        '"Morning","1 Sep 2026, 07:30","1 Sep 2026, 08:10","","Bird Dog","","","0","normal","","10","","",""']


@pytest.mark.parametrize("lines, field, says", [
    (HEVY, "line 1", "is not a backstory export: expected a JSON header"),
    (['{"format": "backstory-mutations", "version": 9}'], "line 1", "export version 9 is not supported"),
    (["", '{"title": "Morning"}'], "line 2", "is not a backstory export"),
    ("good then bad", "line 4", "is not an exported mutation"),
    ("pain out of range", "line 3", "pain_before: 11 is out of range"),
    ("unknown type", "line 3", "'jump' is not a mutation type"),
    ("year 1", "line 3", "occurred_at 0001-01-01T00:00:00+05:00 is out of range; use a time from 1900-01-01"),
    ("end of time", "line 3", "occurred_at 9999-12-31T23:59:00-12:00 is out of range"),  # an OverflowError traceback
])
def test_a_file_that_is_not_a_backstory_export_is_refused_naming_the_line(ledger, lines, field, says):
    program(ledger, "Sam")
    good = list(export_lines(ledger, NOW))
    if isinstance(lines, list):
        pass
    elif lines == "good then bad":
        lines = good[:3] + ["title,start_time,end_time"] + good[3:]
    else:
        bad = json.loads(good[5])  # a log
        bad["mutation_id"] = str(uuid.uuid4())
        if lines == "unknown type":
            bad["type"] = "jump"
        elif lines in ("year 1", "end of time"):
            bad["occurred_at"] = "0001-01-01T00:00:00+05:00" if lines == "year 1" else "9999-12-31T23:59:00-12:00"
        else:
            bad["args"]["pain_before"] = 11
        lines = good[:2] + [json.dumps(bad)] + good[2:]
    before = stored_count(ledger)
    with pytest.raises(InvalidValue) as invalid:
        import_mutations(ledger, read_export(lines))
    assert invalid.value.field == field and says in str(invalid.value)
    assert stored_count(ledger) == before


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(ledger, tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_bytes(b'{"format": "backstory-mutations", "version": 3}\n{"mutation_id": "\xff\xfe"}\n')
    with path.open("rb") as f, pytest.raises(InvalidValue) as invalid:
        read_export(f)
    assert invalid.value.field == "line 2" and "not UTF-8" in str(invalid.value)


# ----- pending changes of a linked device ------------------------------------------------------


def test_pending_changes_are_exported_marked_and_imported_once(ledger, other):
    program(ledger, "Sam")
    pending = [mut("log", days_ago(2), device="tablet", exercise="Dead bug", pain_before=5, pain_after=3),
               mut("progress", days_ago(1), device="tablet", exercise="Dead bug", sets=4, reason="easy", force=True)]
    pending = [Mutation(m.mutation_id, m.type, m.occurred_at, m.device_id, m.args, base_version=6) for m in pending]
    lines = list(export_lines(ledger, NOW, pending))
    assert json.loads(lines[0])["version"] == 3
    rows = [json.loads(line) for line in lines[-2:]]
    assert [(r["status"], r["base_version"], "recorded_at" in r) for r in rows] == [("pending", 6, False)] * 2
    export = read_export(lines)
    assert [r.pending for r in export.rows] == [False] * 6 + [True] * 2
    assert import_mutations(other, export) == {"applied": 8, "duplicate": 0, "refused": []}
    assert queries.recap(other, days_ago(3), NOW, ZoneInfo("UTC"))["sessions"] == 1
    shown = {e["name"]: e for e in queries.show(other, NOW)["exercises"]}
    assert shown["Dead bug"]["prescription"]["sets"] == 4
    before = stored_count(other)
    assert import_mutations(other, read_export(lines)) == {"applied": 0, "duplicate": 8, "refused": []}
    assert stored_count(other) == before


# ----- the same history across DST changes (issue 11) ------------------------------------------

# (zone, the day its clocks change in autumn 2025, the day of the promotion)
DST = [("Europe/Berlin", date(2025, 10, 26), date(2025, 11, 8)),
       ("America/New_York", date(2025, 11, 2), date(2025, 11, 10)),
       ("Australia/Sydney", date(2025, 10, 5), date(2025, 10, 20))]


def dst_history(zone: ZoneInfo, change: date, promoted: date) -> list[Mutation]:
    """Times as the CLI makes them (zone-aware): a promotion whose 42-day window starts before the change.

    Two sessions lie half an hour either side of the window's start, so a window moved by the change's
    hour counts one of them differently; a next-day response 3 days (less half an hour, on the clock)
    after a session crosses the change too.
    """
    def at(d: date, hour: int = 12, minute: int = 0) -> datetime:
        return datetime.combine(d, time(hour, minute), zone)

    start = promoted - timedelta(days=42)
    out = [mut("init", at(start - timedelta(days=10)), name="Kim", timezone=zone.key),
           mut("add", at(start - timedelta(days=9)), name="Dead bug", position="1:supine", sets=3, reps=8)]
    sessions = [at(start, 11, 30), at(start, 12, 30), at(change - timedelta(days=2))]
    sessions += [at(start + timedelta(days=n)) for n in (20, 21, 22)]
    for moment in sorted(sessions):
        out.append(mut("log", moment, exercise="Dead bug", pain_before=4, pain_during=2, pain_after=2))
    out.append(mut("next-day", at(change + timedelta(days=1), 11, 30), exercise="Dead bug", verdict="better"))
    out.append(mut("promote", at(promoted), exercise="Dead bug"))
    return out


@pytest.mark.parametrize("tz, change, promoted", DST, ids=[z for z, _, _ in DST])
def test_a_history_across_dst_reads_byte_for_byte_the_same_after_a_round_trip(ledger, other, tz, change, promoted):
    zone = ZoneInfo(tz)
    for m in dst_history(zone, change, promoted):
        handle(ledger, m)
    counts = import_mutations(other, read_export(list(export_lines(ledger, NOW))))
    assert (counts["applied"], counts["refused"]) == (10, [])

    def dumped(reader) -> str:
        facts = {month: reader.fact_log(month).facts for month in ("2025-09", "2025-10", "2025-11")
                 if reader.fact_log(month) is not None}
        return json.dumps([queries.history(reader), queries.signature(reader), facts], sort_keys=True)

    assert dumped(other) == dumped(ledger)
    evidence = queries.signature(ledger)["exercises"][0]["evidence"]
    window_start = datetime.combine(promoted - timedelta(days=42), time(12), zone)
    assert evidence["window_start"] == window_start.isoformat()  # the program's zone, its offset that day
    assert evidence["exposures"] == 5 and evidence["met"] is True
    assert body(other) == body(ledger)


def body(ledger: Ledger) -> list[str]:
    return list(export_lines(ledger, NOW))[1:]


def test_a_pending_init_names_the_program_of_the_file(ledger, other, tmp_path):
    """A device linked before its program existed holds even its ``init`` in the outbox: the file is still
    that program's, and another program's store refuses it rather than take its sessions."""
    program(ledger, "Sam")
    empty = open_ledger(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    try:
        pending = [mut("init", days_ago(10), name="Robin", timezone="UTC"),
                   mut("add", days_ago(9), name="Dead bug", position="1:supine", sets=2, reps=5),
                   mut("log", days_ago(8), exercise="Dead bug", pain_before=5, pain_after=3)]
        lines = list(export_lines(empty, NOW, pending))
        assert json.loads(lines[0])["program"]["name"] == "Robin"
        before = stored_count(ledger)
        with pytest.raises(Refused) as refused:
            import_mutations(ledger, read_export(lines))
        assert refused.value.rule == "other_program" and stored_count(ledger) == before
        assert import_mutations(other, read_export(lines)) == {"applied": 3, "duplicate": 0, "refused": []}
    finally:
        empty.app.close()
