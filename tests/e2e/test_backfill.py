"""A scripted user backfills a program started today: three months of history entered after ``init``.

``init`` today, then decisions and facts dated up to three months back, each before
the start as it then stood: every one is accepted and moves the start back to it
(``history`` shows each move, with what caused it); ``show --as-of`` tells the
program as it was at each date, and before the earliest entry it is the program
before its start, with nothing in it.
"""

from __future__ import annotations

from tests.e2e.conftest import day


def names(cli, when: str) -> dict[str, int]:
    shown = cli.ok("show", "--as-of", when, "--json").json()
    return {e["name"]: e["prescription"]["sets"] for e in shown["exercises"]}


def test_decisions_and_facts_before_the_start_move_it_back_and_show_as_of_tells_the_past(cli):
    cli.ok("init", "--name", "Sam", "--timezone", "Europe/Berlin")
    cli.ok("add", "Dead bug", "--position", "1", "--sets", "3", "--reps", "8", "--at", "6 weeks ago")
    cli.ok("add", "Glute bridge", "--position", "1:supine", "--sets", "3", "--reps", "12", "--at", day(90))
    cli.ok("progress", "Glute bridge", "--sets", "4", "--reason", "too easy", "--at", day(60))
    cli.ok("log", "Glute bridge", "--sets", "4", "--reps", "12", "--pain-before", "3", "--at", day(59))
    cli.ok("checkin", "--pain", "5", "--starts", "low_back", "--at", day(93))  # a fact before the start moves it too
    cli.ok("checkin", "--pain", "4", "--at", day(92))  # after the moved start: no move

    assert cli.ok("show", "--as-of", day(94), "--json").json()["program"] == {
        "name": "Sam", "timezone": "Europe/Berlin", "started": False, "fitting": None}
    before = cli.ok("show", "--as-of", day(94))  # told in the program's zone, not in UTC
    assert f"Sam as of {day(94)}T23:59 (Europe/Berlin)" in before.out and "before the program's start" in before.out
    known = cli.ok("show", "--known-at", "2000-01-01", "--json").json()["program"]  # known before anything was
    assert (known["timezone"], known["started"]) == ("Europe/Berlin", False)
    assert cli.ok("show", "--as-of", day(93), "--json").json()["program"]["started"] is True
    assert names(cli, day(93)) == {}
    assert names(cli, day(70)) == {"Glute bridge": 3}
    assert names(cli, day(50)) == {"Glute bridge": 4}
    assert names(cli, "today") == {"Glute bridge": 4, "Dead bug": 3}

    entries = cli.ok("history", "--json").json()["entries"]
    moves = [e for e in entries if e["type"] == "start-moved-back"]
    assert [(m["to"]["cause"], m["from"]["started"][:10], m["to"]["started"][:10]) for m in moves] == [
        ("checkin", day(90), day(93)), ("add", day(42), day(90)), ("add", day(0), day(42))]
    # each move is recorded with the mutation that caused it, right before that decision
    add_bug = next(e for e in entries if e["type"] == "add" and e["exercise"] == "Dead bug")
    assert moves[-1]["mutation_id"] == add_bug["mutation_id"]
    assert moves[-1]["version"] == add_bug["version"] - 1
    text = cli.ok("history").out
    assert text.count("start-moved-back") == 3 and f"start: {day(90)}T12:00 -> {day(93)}T12:00" in text
    assert "(moved back: checkin dated before it)" in text
