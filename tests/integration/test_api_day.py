"""``GET /v1/day`` and ``GET /v1/breaks`` (issue 12, items 5 and 8): sleep and breaks pushed by a device, read back
as the CLI computes them from the event store, on every configured backend."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.day import BreaksSchema, DaySchema
from service.application import program_id_for
from service.insights.breaks import breaks
from service.insights.day import day
from service.record import ledger_record
from tests.integration.test_api import assert_problem
from tests.integration.test_api_support import Client

BERLIN = ZoneInfo("Europe/Berlin")



def at(client: Client, mutation_type: str, moment: datetime, **args) -> dict:
    client.seq += 1
    return {"mutation_id": str(uuid.uuid4()), "seq": client.seq, "type": mutation_type,
            "occurred_at": moment.isoformat(), "base_version": None, "args": args}


@pytest.fixture
def kim(api):
    """Kim in Berlin: three days ago, breaks every hour but one gap of 2.5 hours, a session, sleep, a check-in."""
    kim = Client.new_account(api, "kim")
    d = datetime.now(BERLIN).date() - timedelta(days=3)
    t = lambda hh, mm=0: datetime(d.year, d.month, d.day, hh, mm, tzinfo=BERLIN)  # noqa: E731
    r = kim.push(at(kim, "init", t(7) - timedelta(days=30), name="Kim", timezone="Europe/Berlin"),
                 at(kim, "add", t(7) - timedelta(days=29), name="Bridge", position="1:supine", sets=3, reps=10),
                 at(kim, "flare-start", t(7) - timedelta(days=10), pain=7),
                 at(kim, "sleep", t(7, 10), hours=6.5, quality=4, position="side", pain_morning=5),
                 at(kim, "checkin", t(9, 15), pain=4, starts="low_back"),
                 *[at(kim, "break", t(hh, 30), kind="walk", seconds=60) for hh in (8, 9, 10, 11, 14, 15, 16, 17,
                                                                                   18, 19, 20, 21)],
                 at(kim, "log", t(13), exercise="Bridge", pain_before=4, pain_during=2, pain_after=2),
                 at(kim, "break", t(12, 0), kind="stand", seconds=30))
    assert r.status_code == 200 and {x["status"] for x in r.json["results"]} == {"applied"}, r.json
    kim.day = d
    return kim


def cli_answer(api, client: Client, question):
    """What the CLI computes from the event store of the same program (``ledger_record``)."""
    ledger = api.extensions["backstory"].app.ledger(program_id_for(client.account_id))
    return question(ledger_record(ledger))


def test_day_is_the_cli_answer_and_documented(api, kim):
    body = kim.get("/v1/day", date=kim.day.isoformat()).json
    assert DaySchema().validate(body) == {}, DaySchema().validate(body)
    now = datetime.now(UTC)
    assert body == cli_answer(api, kim, lambda record: day(record, kim.day, now))
    # 08:00 -> 08:30 30, hourly to 11:30, 12:00, 13:00 the session, 14:30 (90), hourly to 21:30, 22:00 (30)
    assert (body["longest_without_break_min"], body["met_target"], body["breaks_target"]) == (90, False, 13)
    assert len(body["breaks"]) == 13 and body["breaks"][0]["kind"] == "walk"
    assert body["sleep"]["hours"] == 6.5 and body["sleep"]["pain_morning"] == 5
    assert [s["light"] for s in body["sessions"]] == ["green"]
    assert body["in_flare"] is True and body["checkins"][0]["pain"] == 4
    today = kim.get("/v1/day").json
    assert today["date"] == datetime.now(BERLIN).date().isoformat() and today["longest_without_break_min"] is None


def test_breaks_is_the_cli_answer_and_a_sleep_pushed_can_be_corrected(api, kim):
    since, until = kim.day - timedelta(days=5), kim.day + timedelta(days=1)
    body = kim.get("/v1/breaks", since=since.isoformat(), until=until.isoformat()).json
    assert BreaksSchema().validate(body) == {}, BreaksSchema().validate(body)
    assert [(d["date"], d["breaks"], d["met_target"]) for d in body["days"]] == [(kim.day.isoformat(), 13, False)]
    assert body["share_days_met"] == 0.0 and body["policy"]["params"]["max_gap_min"] == 60
    s = datetime.combine(since, datetime.min.time(), BERLIN)
    u = datetime.combine(until, datetime.max.time(), BERLIN)
    assert body == cli_answer(api, kim, lambda record: breaks(record, s, u, datetime.now(UTC)))
    recap = kim.get("/v1/recap", since=since.isoformat(), until=until.isoformat()).json
    assert recap["breaks_share_days_met"] == 0.0

    # a looser rule from before that day on: the same day meets it
    r = kim.push(at(kim, "policy-set", datetime.combine(since, datetime.min.time(), BERLIN), policy="micro-breaks",
                    params={"max_gap_min": 90}, reason="physio"))
    assert r.json["results"][0]["status"] == "applied", r.json
    assert kim.get("/v1/breaks", since=since.isoformat(), until=until.isoformat()).json["share_days_met"] == 1.0
    sleep_id = kim.get("/v1/day", date=kim.day.isoformat()).json["sleep"]["id"]
    r = kim.push(at(kim, "correct", datetime.now(UTC), fact=sleep_id, hours=7, reason="tracker"))
    assert r.json["results"][0]["status"] == "applied", r.json
    assert kim.get("/v1/day", date=kim.day.isoformat()).json["sleep"]["hours"] == 7
    bad = kim.push(at(kim, "sleep", datetime.now(UTC), hours=7.3))
    assert bad.json["results"][0]["status"] == "rejected" and "hours" in str(bad.json["results"][0]), bad.json


@pytest.mark.parametrize("path, query, field", [
    ("/v1/day", {"date": "someday"}, "date"),
    ("/v1/day", {"date": "2026-03-01", "colour": "red"}, "colour"),
    ("/v1/breaks", {"since": "2026-03-10", "until": "2026-03-01"}, "since"),
    ("/v1/breaks", {"since": "1901-01-01", "until": "2026-03-01"}, "since"),
])
def test_bad_queries_are_400_naming_the_field(kim, path, query, field):
    assert_problem(kim.get(path, **query), 400, field)


def test_without_a_program_both_are_404(api):
    nobody = Client.new_account(api, "nobody")
    for path in ("/v1/day", "/v1/breaks"):
        assert "no program" in assert_problem(nobody.get(path), 404)["detail"]


def test_a_dst_day_over_the_api(api):
    """29 March 2026, Berlin springs forward: waking hours are still 08:00-22:00 on the wall clock."""
    sam = Client.new_account(api, "sam")
    d = date(2026, 3, 29)
    r = sam.push(at(sam, "init", datetime(2026, 3, 1, 9, tzinfo=BERLIN), name="Sam", timezone="Europe/Berlin"),
                 at(sam, "break", datetime(2026, 3, 29, 7, 59, tzinfo=BERLIN), kind="walk", seconds=60),
                 at(sam, "break", datetime(2026, 3, 29, 12, 0, tzinfo=BERLIN), kind="walk", seconds=60))
    assert {x["status"] for x in r.json["results"]} == {"applied"}, r.json
    body = sam.get("/v1/day", date=d.isoformat()).json
    assert (body["longest_without_break_min"], body["breaks_target"]) == (600, 13)


def test_breaks_reads_a_whole_period_and_costs_a_recap(api):
    from api import limits
    from api.ratelimit import cost_of

    endpoints = {rule.rule: rule.endpoint for rule in api.url_map.iter_rules()}
    assert cost_of(endpoints["/v1/breaks"], {}) == limits.RECAP_COST == cost_of(endpoints["/v1/recap"], {})
    assert cost_of(endpoints["/v1/day"], {}) == 1  # one day's facts
