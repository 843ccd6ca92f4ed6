"""``backstory sleep``, ``day`` and ``breaks`` as a user types them (issue 12, items 1 and 5).

A Berlin program over March 2026, whose 29th is the 23-hour day of the change to summer time:
breaks at known times, a session, sleep recorded, corrected and voided, a flare. The answers are
worked out by hand, then read again from a fresh store the export was imported into, from the API
of a real server the device synced to, and on a second device synced from it.
"""

from __future__ import annotations

from tests.conftest import Cli
from tests.e2e.conftest import store_rows
from tests.server_process import ServerProcess, free_port, http, serve_command, server_env


def record_march(c) -> dict:
    c.ok("init", "--name", "Kim", "--timezone", "Europe/Berlin", "--at", "2026-03-01T08:00")
    c.ok("add", "Bridge", "--position", "1:supine", "--sets", "3", "--reps", "10", "--at", "2026-03-01T08:05")
    for moment in ("2026-03-29T07:45", "2026-03-29T12:00", "2026-03-29T13:00", "2026-03-29T22:30"):
        c.ok("break", "--kind", "walk", "--seconds", "60", "--at", moment)
    c.ok("log", "Bridge", "--pain-before", "4", "--pain-during", "6", "--pain-after", "3", "--at", "2026-03-29T16:30")
    c.ok("flare", "start", "--pain", "7", "--at", "2026-03-20T09:00")
    c.ok("flare", "end", "--pain", "2", "--at", "2026-03-30T09:00")
    c.ok("checkin", "--pain", "5", "--starts", "low_back", "--at", "2026-03-29T10:00")
    # 30 March: a break at every hour from 09:00 to 21:00 meets the target
    for hour in range(9, 22):
        c.ok("break", "--kind", "stand", "--at", f"2026-03-30T{hour:02d}:00")
    night = c.ok("sleep", "--hours", "6.5", "--quality", "4", "--position", "side", "--pain-morning", "5",
                 "--note", "woke at 4", "--at", "2026-03-29T07:10", "--json").json()["result"]["fact_id"]
    twice = c.ok("sleep", "--hours", "9", "--at", "2026-03-29T07:12", "--json").json()["result"]["fact_id"]
    c.ok("correct", night[:8], "--hours", "7", "--position", "mixed", "--reason", "tracker")
    c.ok("void", twice[:8], "--reason", "entered twice")
    return {"night": night}


def test_sleep_day_and_breaks_by_hand_and_after_export_import(cli, fresh_cli, tmp_path):
    ids = record_march(cli)

    before = store_rows(cli)
    for args, field in ((("--hours", "7.3"), "hours"), (("--hours", "25"), "hours"), (("--quality", "11"), "quality"),
                        (("--pain-morning", "-1"), "pain_morning"), (("--note", "only a note"), "hours")):
        r = cli("sleep", *args)
        assert r.code == 1 and f"invalid value: {field}:" in r.err, (args, r.err)
    assert cli("sleep", "--position", "upside-down").code == 2
    assert store_rows(cli) == before

    day = cli.ok("day", "2026-03-29", "--json").json()
    # 08:00 -> 12:00 is 240 min, 12:00 -> 13:00, 13:00 -> 16:30 the session (210), 16:30 -> 22:00 is 330:
    # wall-clock waking hours on a 23-hour day; the breaks at 07:45 and 22:30 are outside them
    assert (day["longest_without_break_min"], day["met_target"], day["breaks_target"]) == (330, False, 13)
    assert [b["at"][11:16] for b in day["breaks"]] == ["07:45", "12:00", "13:00", "22:30"]
    assert day["sleep"] == {"id": ids["night"], "occurred_at": "2026-03-29T07:10:00+02:00", "hours": 7, "quality": 4,
                            "position": "mixed", "pain_morning": 5, "note": "woke at 4"}
    assert [(s["exercise"], s["light"]) for s in day["sessions"]] == [("Bridge", "red")]
    assert day["in_flare"] is True and [c["pain"] for c in day["checkins"]] == [5]
    assert cli.ok("day", "2026-03-31", "--json").json()["in_flare"] is False

    text = cli.ok("day", "2026-03-29").out
    assert "micro-breaks: 4 (target 13); longest stretch without one 330 min: not met" in text
    assert "sleep: 7 h, quality 4, position mixed, pain on waking 5" in text and "in a flare" in text
    assert "16:30 Bridge: red" in text

    breaks = cli.ok("breaks", "--since", "2026-03-01", "--until", "2026-03-31", "--json").json()
    assert [(d["date"], d["breaks"], d["longest_without_break_min"], d["met_target"]) for d in breaks["days"]] == [
        ("2026-03-20", 0, 840, False), ("2026-03-29", 4, 330, False), ("2026-03-30", 13, 60, True)]
    # the days with a fact recorded (the 1st holds decisions only)
    assert breaks["share_days_met"] == 0.33 and breaks["policy"]["id"] == "micro-breaks"
    assert "target met on 1 of 3 finished days (33%)" in cli.ok("breaks", "--since", "2026-03-01",
                                                                 "--until", "2026-03-31").out
    recap = cli.ok("recap", "--since", "2026-03-01", "--until", "2026-03-31", "--json").json()
    assert recap["breaks_share_days_met"] == 0.33

    path = tmp_path / "export.jsonl"
    cli.ok("export", "-o", str(path))
    fresh_cli.ok("import", str(path))
    assert fresh_cli.ok("day", "2026-03-29", "--json").json() == day
    assert fresh_cli.ok("breaks", "--since", "2026-03-01", "--until", "2026-03-31", "--json").json() == breaks


def test_help_carries_the_heuristics_note_and_a_bad_date_is_a_usage_error(cli):
    for command in ("day", "breaks"):
        assert "not a diagnosis" in " ".join(cli.ok(command, "--help").out.split())
    cli.ok("init", "--name", "Kim", "--timezone", "Europe/Berlin")
    r = cli("day", "someday")
    assert r.code == 2 and "DATE" in r.err
    r = cli("breaks", "--since", "tomorrow")
    assert r.code == 2 and "--since" in r.err
    assert cli.ok("day", "--json").json()["longest_without_break_min"] is None  # today is not over


def test_the_api_and_a_second_synced_device_answer_the_same(tmp_path):
    """One SQLite server (the endpoints' backends: tests/integration/test_api_day.py)."""
    admin = Cli(tmp_path / "server", f"sqlite:///{tmp_path / 'server.sqlite'}")
    admin.home.mkdir(mode=0o700)
    port = free_port()
    server = ServerProcess(serve_command(admin.db, port), port, server_env(admin.home), tmp_path / "server.log")
    try:
        token = admin.ok("account", "create", "kim", "--json").json()["token"]
        phone = Cli(tmp_path / "phone", None)
        phone.home.mkdir(mode=0o700)
        phone.ok("remote", "set", server.url, "--token", token)
        record_march(phone)
        queued = phone.ok("day", "2026-03-29", "--json").json()  # before sync: read through the outbox
        phone.ok("sync")
        day = phone.ok("day", "2026-03-29", "--json").json()
        assert day == queued and day["sleep"]["hours"] == 7 and day["longest_without_break_min"] == 330
        status, _, body = http("GET", f"{server.url}/v1/day?date=2026-03-29", token=token)
        assert status == 200 and body == day
        breaks = phone.ok("breaks", "--since", "2026-03-01", "--until", "2026-03-31", "--json").json()
        status, _, body = http("GET", f"{server.url}/v1/breaks?since=2026-03-01&until=2026-03-31", token=token)
        assert status == 200 and body == breaks and breaks["share_days_met"] == 0.33
        tablet = Cli(tmp_path / "tablet", None)
        tablet.home.mkdir(mode=0o700)
        tablet.ok("remote", "set", server.url, "--token", phone.ok("device", "pair", "tablet", "--json").json()["token"])
        tablet.ok("sync")
        assert tablet.ok("day", "2026-03-29", "--json").json() == day
        assert tablet.ok("breaks", "--since", "2026-03-01", "--until", "2026-03-31", "--json").json() == breaks
    finally:
        server.stop()
