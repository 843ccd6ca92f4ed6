"""Issue 9 items 7, 9, 10, 11 and 16 and issue 11's diff, through the real CLI (the parsing and rendering
themselves are tested in process: tests/unit/test_when.py, tests/unit/test_names.py,
tests/integration/test_readable_output.py)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.dates import month_back
from tests.e2e.conftest import day, today

SYDNEY = ZoneInfo("Australia/Sydney")
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")


def test_a_program_in_sydney_on_a_utc_machine_reads_and_prints_its_own_time(cli):
    # init --at without a zone is read in the --timezone given, not the machine's (UTC here): noon in Sydney
    cli.ok("init", "--name", "Sam", "--timezone", "Australia/Sydney", "--at", day(60))
    cli.ok("add", "Side plank", "--position", "1:side", "--sets", "3", "--hold", "20", "--at", day(60))
    basic = date.fromisoformat(day(50)).strftime("%Y%m%d")
    cli.ok("deconstruct", "Side plank", "--into", "Leg lift", "--into", "Short plank", "--reason", "QL",
           "--at", basic)
    entries = cli.ok("history", "--json").json()["entries"]
    noon = datetime.combine(date.fromisoformat(day(60)), time(12), SYDNEY)
    assert [datetime.fromisoformat(e["occurred_at"]) for e in entries[:2]] == [noon, noon]
    assert datetime.fromisoformat(entries[2]["occurred_at"]) == datetime.combine(
        date.fromisoformat(day(50)), time(12), SYDNEY)  # 20261025 is the day, as 2026-10-25 is

    # a week date as --as-of is the end of that day, so that day's deconstruction is in it
    year, week, weekday = date.fromisoformat(day(50)).isocalendar()
    shown = cli.ok("show", "--as-of", f"{year}-W{week:02d}-{weekday}").out
    assert "Side plank" in shown and "[deconstructed]" in shown and "(Australia/Sydney)" in shown
    ordinal = date.fromisoformat(day(50)).timetuple().tm_yday  # and so is an ordinal date (2026-298)
    assert cli.ok("show", "--as-of", f"{date.fromisoformat(day(50)).year}-{ordinal:03d}").out == shown

    # before the program's start the header is in the program's zone too, not UTC (issue 9 item 11)
    before = cli.ok("show", "--as-of", day(70)).out
    assert before.splitlines()[0] == f"Sam as of {day(70)}T23:59 (Australia/Sydney)", before
    head = cli.ok("show", "--known-at", day(70)).out.splitlines()[0]
    assert head.endswith(f", as known at {day(70)}T23:59 (Australia/Sydney)"), head
    shown_now = datetime.fromisoformat(re.match(r"Sam as of (\S+),", head).group(1)).replace(tzinfo=SYDNEY)
    assert abs(shown_now - datetime.now(SYDNEY)) < timedelta(minutes=2), head

    # diff: names and words, never ids or Python literals
    text = cli.ok("diff", day(55), "today").out
    assert not ID.search(text) and "[" not in text and "None" not in text, text
    assert "~ Side plank: status: active -> deconstructed; components: none -> Leg lift, Short plank" in text

    # --until alone covers the month before it (in the program's zone: the recap's days are Sydney days)
    until = date.fromisoformat(day(45))
    head = cli.ok("recap", "--until", day(45)).out.splitlines()[0]
    assert head.startswith(f"{month_back(until)} to {until}: 0 sessions"), head
    assert today().isoformat() not in head


def test_a_name_used_before_its_exercise_was_added_is_refused_in_the_programs_time(cli):
    # Sydney, on a UTC machine: 08:00 on the day the exercise was added at noon is 22:00 UTC the day before;
    # the refusal said "no exercise was named 'A' on <the day before>: 'A' was added on <the day>".
    # (before the program's start, too: the program as of then has no zone of its own)
    cli.ok("init", "--name", "Sam", "--timezone", "Australia/Sydney", "--at", day(59))
    cli.ok("add", "A", "--position", "1", "--sets", "1", "--reps", "1", "--at", day(59))
    r = cli("log", "A", "--sets", "1", "--reps", "1", "--at", f"{day(59)}T08:00")
    assert r.code == 1 and "Traceback" not in r.err, (r.code, r.err)
    assert f"no exercise was named 'A' at {day(59)}T08:00: 'A' was added at {day(59)}T12:00" in r.err, r.err
    r = cli("log", "A", "--sets", "1", "--reps", "1", "--at", day(60))
    assert f"no exercise was named 'A' on {day(60)}: 'A' was added on {day(59)}" in r.err, r.err


def test_a_forced_progression_names_its_session_by_the_programs_day(cli):
    """Issue 9 item 11: the session a progression was forced past is dated in the program's zone, not UTC.

    The session is given in UTC (as a default --at of now is stored): at 11:00 UTC it is 01:00 the next day in
    Kiritimati (UTC+14).
    """
    cli.ok("init", "--name", "Kiri", "--timezone", "Pacific/Kiritimati", "--at", day(30))
    cli.ok("add", "Bird dog", "--position", "1", "--sets", "3", "--reps", "6", "--at", day(30))
    cli.ok("log", "Bird dog", "--sets", "3", "--reps", "6", "--pain-after", "1", "--at", f"{day(21)}T11:00Z")
    said = cli.ok("progress", "Bird dog", "--reps", "8", "--reason", "easy", "--force", "--at", f"{day(20)}T02:00").out
    guard = f"last session {day(20)} green, awaiting its next-day response"
    assert f"forced past the pain-monitoring guard: {guard}" in said, said
    assert f"({guard})" in cli.ok("history", "Bird dog").out
    stored = cli.ok("history", "--json").json()["entries"][-1]["to"]["override"]["occurred_at"]
    assert datetime.fromisoformat(stored) == datetime.combine(
        date.fromisoformat(day(20)), time(1), ZoneInfo("Pacific/Kiritimati"))  # JSON: the moment, with its offset
