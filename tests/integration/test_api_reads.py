"""Pull, cursors, the read endpoints, account isolation and the OpenAPI document, on every configured backend."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api import read_schemas, sync_schemas
from service.dates import RANGE, month_back
from tests.integration.test_api import assert_problem, good
from tests.integration.test_api_support import Client, fresh_app



def day(days_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()


@pytest.fixture
def sam(api):
    sam = Client.new_account(api, "sam")
    r = sam.push(sam.m("init", 30, name="Sam", timezone="UTC"),
                 sam.m("add", 29, name="Bridge", position="1:supine", sets=3, reps=10, reason="start"),
                 sam.m("add", 29, name="Bird dog", position="2:quadruped", sets=3, reps=6, reason="start"),
                 *[sam.m("log", 20 - i, exercise="Bridge", pain_before=4, pain_during=2, pain_after=2,
                         tension=["paraspinals:left:overactive:5"], note="fine") for i in range(5)],
                 sam.m("checkin", 3, pain=3, starts="low_back"),
                 sam.m("break", 2, kind="walk", seconds=45))
    assert r.status_code == 200 and {x["status"] for x in r.json["results"]} == {"applied"}, r.json
    return sam


@pytest.fixture
def alex(api):
    alex = Client.new_account(api, "alex")
    r = alex.push(alex.m("init", 5, name="Alex"),
                  alex.m("add", 4, name="Dead bug", position="1:supine", sets=2, reps=8))
    assert r.status_code == 200
    return alex


def pull_all(client: Client, after: str | None = None, limit: int = 1000) -> tuple[list[dict], str]:
    entries: list[dict] = []
    while True:
        r = client.get("/v1/sync/pull", **({"after": after} if after else {}), limit=limit)
        assert r.status_code == 200, r.json
        entries += r.json["entries"]
        after = r.json["next_cursor"]
        if not r.json["has_more"]:
            return entries, after


def conforms(schema: type, body) -> None:
    """A response body loads back through the schema that produced it (nothing undeclared, nothing malformed)."""
    assert schema().validate(body) == {}, schema().validate(body)


# ----- pull --------------------------------------------------------------------------------------


def test_pull_pages_through_the_feed_in_a_stable_order(sam):
    everything, end = pull_all(sam)
    assert [e["position"] for e in everything] == list(range(1, len(everything) + 1))
    paged, _ = pull_all(sam, limit=3)
    assert paged == everything
    kinds = {e["kind"] for e in everything}
    assert kinds == {"event", "outcome", "device"}  # device: the first one, paired by the operator
    outcomes = {e["mutation_id"]: e["data"]["status"] for e in everything if e["kind"] == "outcome"}
    assert len(outcomes) == 10 and set(outcomes.values()) == {"applied"}
    first = sam.get("/v1/sync/pull", limit=2).json
    conforms(sync_schemas.PullResponseSchema, first)
    assert first["has_more"] is True and len(first["entries"]) == 2
    # nothing new: the cursor of the end stays put
    r = sam.get("/v1/sync/pull", after=end)
    assert r.json == {"entries": [], "next_cursor": end, "has_more": False, "behind": 0}


def test_an_old_cursor_replays(sam):
    page = sam.get("/v1/sync/pull", limit=4).json
    cursor = page["next_cursor"]
    before = sam.get("/v1/sync/pull", after=cursor).json["entries"]
    sam.push(sam.m("break", kind="stand", seconds=30))
    again = sam.get("/v1/sync/pull", after=cursor).json["entries"]
    assert again[:len(before)] == before and len(again) > len(before)
    assert again[0]["position"] == 5
    # (a month stream opened by the new fact, early in a month, has no mutation id of its own)
    new_ids = {e["mutation_id"] for e in again[len(before):] if e["mutation_id"]}
    assert len(new_ids) == 1


def test_outcomes_of_rejected_mutations_are_in_the_feed(sam):
    mutation = sam.m("log", exercise="No such thing")
    result = sam.push(mutation).json["results"][0]
    assert result["status"] == "rejected"
    entries, _ = pull_all(sam)
    outcome = [e for e in entries if e["mutation_id"] == mutation["mutation_id"] and e["kind"] == "outcome"]
    assert len(outcome) == 1 and outcome[0]["data"]["status"] == "rejected"


def _cursor(**fields) -> str:
    raw = json.dumps({"v": 1, **fields}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_foreign_and_malformed_cursors_are_refused(api, sam, alex, store_url):
    database_id = api.extensions["backstory"].projections.database_id()
    cases = {
        "another database": _cursor(db="0" * 32, acct=sam.account_id, pos=3),
        "another account": alex.get("/v1/sync/pull").json["next_cursor"],
        "garbage": "not a cursor!",
        "not json": base64.urlsafe_b64encode(b"hello").decode(),
        "bad position": _cursor(db=database_id, acct=sam.account_id, pos=-1),
        "bad version": base64.urlsafe_b64encode(json.dumps(
            {"v": 2, "db": database_id, "acct": sam.account_id, "pos": 1}).encode()).decode(),
    }
    for what, cursor in cases.items():
        body = assert_problem(sam.get("/v1/sync/pull", after=cursor), 400, "after")
        assert "cursor" in body["detail"], what
    assert "another database" in sam.get("/v1/sync/pull", after=cases["another database"]).json["detail"]
    assert "another account" in sam.get("/v1/sync/pull", after=cases["another account"]).json["detail"]
    ok = _cursor(db=database_id, acct=sam.account_id, pos=3)
    assert sam.get("/v1/sync/pull", after=ok).json["entries"][0]["position"] == 4


def test_a_cursor_of_another_store_is_refused(sam, tmp_path):
    other = fresh_app(f"sqlite:///{tmp_path / 'other.sqlite'}")
    try:
        elsewhere = Client.new_account(other, "sam")
        cursor = elsewhere.get("/v1/sync/pull").json["next_cursor"]
    finally:
        other.extensions["backstory"].close()
    body = assert_problem(sam.get("/v1/sync/pull", after=cursor), 400, "after")
    assert "another database" in body["detail"]


def test_pull_limits(sam):
    assert_problem(sam.get("/v1/sync/pull", limit=0), 400, "limit")
    assert_problem(sam.get("/v1/sync/pull", limit=1001), 400, "limit")
    assert_problem(sam.get("/v1/sync/pull", limit="ten"), 400, "limit")
    assert len(sam.get("/v1/sync/pull", limit=1000).json["entries"]) > 10


# ----- reads -------------------------------------------------------------------------------------


def test_program_now_as_of_a_date_and_as_known_at_a_time(api, sam):
    now = sam.get("/v1/program")
    assert now.status_code == 200
    conforms(read_schemas.ProgramSchema, now.json)
    assert {e["name"] for e in now.json["exercises"]} == {"Bridge", "Bird dog"}
    assert now.json["program"]["name"] == "Sam"
    before_start = sam.get("/v1/program", as_of=day(35)).json
    assert before_start["exercises"] == []
    time.sleep(0.01)
    known = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    regressed = sam.push(sam.m("regress", 10, exercise="Bird dog", sets=2, reason="flare", base_version=3))
    assert regressed.json["results"][0]["status"] == "applied", regressed.json
    sets = lambda body: next(e for e in body["exercises"] if e["name"] == "Bird dog")["prescription"]["sets"]
    assert sets(sam.get("/v1/program").json) == 2
    assert sets(sam.get("/v1/program", as_of=day(12)).json) == 3
    assert sets(sam.get("/v1/program", as_of=day(9)).json) == 2
    assert sets(sam.get("/v1/program", known_at=known).json) == 3
    assert sets(sam.get("/v1/program", as_of=day(9), known_at=known).json) == 3
    as_of = sam.get("/v1/program", as_of=day(9)).json["as_of"]
    assert as_of.startswith(day(9) + "T23:59:59")


def test_history_sessions_recap_signature_conflicts(sam):
    sam.push(sam.m("regress", 10, exercise="Bird dog", sets=2, reason="flare", base_version=3))
    history = sam.get("/v1/history").json
    conforms(read_schemas.HistorySchema, history)
    assert [e["type"] for e in history["entries"]] == ["init", "add", "add", "regress"]
    bird = sam.get("/v1/exercises/bird dog/history")
    assert bird.status_code == 200 and [e["type"] for e in bird.json["entries"]] == ["add", "regress"]
    assert bird.json["entries"][1]["reason"] == "flare" and bird.json["entries"][1]["from"] == {"sets": 3}
    assert [e["type"] for e in sam.get("/v1/history", since=day(15)).json["entries"]] == ["regress"]
    assert_problem(sam.get("/v1/exercises/Plank/history"), 404)

    sessions = sam.get("/v1/sessions", since=day(18), until=day(16)).json
    conforms(read_schemas.SessionsSchema, sessions)
    assert len(sessions["sessions"]) == 3 and {s["exercise"] for s in sessions["sessions"]} == {"Bridge"}
    assert [d["day"] for d in sessions["days"]] == [day(18), day(17), day(16)]
    assert len(sam.get("/v1/sessions").json["sessions"]) == 5

    recap = sam.get("/v1/recap").json
    conforms(read_schemas.RecapSchema, recap)
    assert recap["sessions"] == 5 and recap["breaks"] == 1 and recap["checkins"] == 1
    assert recap["tension"] == [{"muscle": "paraspinals", "side": "left", "count": 5}]
    assert sam.get("/v1/recap", since=day(1)).json["sessions"] == 0

    signature = sam.get("/v1/signature").json
    conforms(read_schemas.SignatureSchema, signature)
    assert signature == {"exercises": []}
    promoted = sam.push(sam.m("promote", exercise="Bridge", reason="calms it")).json["results"][0]
    assert promoted["status"] == "applied", promoted
    signature = sam.get("/v1/signature").json
    assert [e["name"] for e in signature["exercises"]] == ["Bridge"]
    conforms(read_schemas.SignatureSchema, signature)
    assert sam.get("/v1/conflicts").json == {"conflicts": [], "next_cursor": "", "has_more": False}


@pytest.mark.parametrize("path, query, field", [
    ("/v1/program", {"as_of": "last tuesday"}, "as_of"),
    ("/v1/program", {"known_at": "2026-13-01"}, "known_at"),
    ("/v1/history", {"since": "x" * 70}, "since"),
    ("/v1/sessions", {"until": "tomorrow"}, "until"),
    ("/v1/recap", {"since": "2026-03-10", "until": "2026-03-01"}, "since"),
    ("/v1/program", {"as_of": "2026-03-01", "colour": "red"}, "colour"),
])
def test_bad_query_values_are_400_naming_the_field(sam, path, query, field):
    assert_problem(sam.get(path, **query), 400, field)


def test_every_date_form_means_what_its_extended_form_means(sam):
    """Issue 9 item 10: 20261025, 2026-W43-7 and 2026-298 are the whole day, as 2026-10-25 is (end for as_of, start for since)."""
    assert sam.push(sam.m("regress", 10, exercise="Bird dog", sets=2, reason="flare"))
    d = (datetime.now(UTC) - timedelta(days=10)).date()
    year, week, weekday = d.isocalendar()
    ordinal = d.timetuple().tm_yday
    forms = [d.isoformat(), d.strftime("%Y%m%d"), f"{year}-W{week:02d}-{weekday}", f"{year}W{week:02d}{weekday}",
             f"{d.year}-{ordinal:03d}", f"{d.year}{ordinal:03d}"]  # ordinal dates too (2026-298)
    answers = [sam.get("/v1/program", as_of=form).json for form in forms]
    assert all(a == answers[0] for a in answers), [a["as_of"] for a in answers]
    assert next(e for e in answers[0]["exercises"] if e["name"] == "Bird dog")["prescription"]["sets"] == 2
    histories = [sam.get("/v1/history", since=form, until=form).json for form in forms]
    assert [e["type"] for e in histories[0]["entries"]] == ["regress"]
    assert all(h == histories[0] for h in histories)
    assert_problem(sam.get("/v1/program", as_of=f"{year}-W{week:02d}"), 400, "as_of")  # a week needs its day


def test_periods_and_the_accepted_range_follow_the_cli_rules(sam):
    """Issue 9 items 9 and 13: since after until or in the future is a 400 naming the dates; one range of times."""
    inverted = assert_problem(sam.get("/v1/history", since=day(1), until=day(5)), 400, "since")
    assert f"since {day(1)} is after until {day(5)}" in inverted["detail"]
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    for path in ("/v1/history", "/v1/sessions", "/v1/recap"):
        assert f"since {future} is in the future" in assert_problem(sam.get(path, since=future), 400, "since")["detail"]
    recap = sam.get("/v1/recap", until=day(10)).json  # until alone: the month before it
    assert recap["since"][:10] == month_back(datetime.now(UTC).date() - timedelta(days=10)).isoformat()
    assert recap["until"][:10] == day(10)
    for name, value in (("as_of", "1899-12-30"), ("since", "0001-01-01T00:00:00+05:00"), ("until", "1899-06-01")):
        path = "/v1/program" if name == "as_of" else "/v1/history"
        body = assert_problem(sam.get(path, **{name: value}), 400, name)
        assert body["errors"][name] == [f"{value!r} is out of range; use a time {RANGE}"], body
    assert sam.get("/v1/history", since="1900-01-01", until="9999-12-30").status_code == 200


def test_a_time_the_programs_zone_cannot_name_is_a_400_not_a_500(api):
    """Issue 9 item 13: 9999-12-31T23:59Z is a UTC time, but the year 10000 in Paris, where the reads count days."""
    paris = Client.new_account(api, "paris")
    assert paris.push(paris.m("init", 3, name="P", timezone="Europe/Paris")).status_code == 200
    for path, name in (("/v1/program", "as_of"), ("/v1/program", "known_at"), ("/v1/recap", "until"),
                       ("/v1/breaks", "until"), ("/v1/tension", "until"), ("/v1/history", "until")):
        body = assert_problem(paris.get(path, **{name: "9999-12-31T23:59:00+00:00"}), 400, name)
        assert "out of range" in body["detail"], (path, body)
    assert paris.get("/v1/recap", until="9999-12-31").status_code == 200  # the end of that day in Paris is fine
    york = Client.new_account(api, "york")  # in New York the day 9999-12-31 ends in the UTC year 10000
    assert york.push(york.m("init", 3, name="Y", timezone="America/New_York")).status_code == 200
    for path, name, value in (("/v1/day", "date", "9999-12-31"), ("/v1/recap", "until", "9999-12-31T23:59:59+14:00"),
                              ("/v1/breaks", "until", "9999-12-31T04:00")):
        assert "out of range" in assert_problem(york.get(path, **{name: value}), 400, name)["detail"]
    assert york.get("/v1/day", date="9999-12-30").status_code == 200


def test_reads_before_a_program_exists_are_404(api):
    nobody = Client.new_account(api, "nobody")
    for path in ("/v1/program", "/v1/history", "/v1/sessions", "/v1/recap", "/v1/signature",
                 "/v1/exercises/Bridge/history"):
        body = assert_problem(nobody.get(path), 404)
        assert "no program" in body["detail"]
    assert nobody.get("/v1/conflicts").json == {"conflicts": [], "next_cursor": "", "has_more": False}
    # only the first device's pairing, by the operator
    assert [(e["kind"], e["data"]["by"]) for e in nobody.get("/v1/sync/pull").json["entries"]] == [
        ("device", "operator")]


# ----- accounts never see or touch each other ------------------------------------------------------


def test_another_accounts_token_never_reads_or_writes_data(api, sam, alex):
    sam_entries, sam_cursor = pull_all(sam)
    sam_program = sam.get("/v1/program").json
    sam_devices = sam.get("/v1/devices").json
    secret_names = ("Bridge", "Bird dog", "low_back", "fine")

    # reads: only alex's own program, never sam's
    for path in ("/v1/program", "/v1/history", "/v1/sessions", "/v1/recap", "/v1/signature", "/v1/conflicts",
                 "/v1/devices", "/v1/sync/pull"):
        r = alex.get(path)
        assert r.status_code == 200, (path, r.json)
        text = r.get_data(as_text=True)
        assert not any(name in text for name in secret_names), path
        assert sam.device_id not in text and sam.account_id not in text, path
    assert {e["name"] for e in alex.get("/v1/program").json["exercises"]} == {"Dead bug"}
    alex_entries, _ = pull_all(alex)
    assert not {e["mutation_id"] for e in alex_entries} & {e["mutation_id"] for e in sam_entries} - {None}
    assert_problem(alex.get("/v1/exercises/Bridge/history"), 404)
    bridge_id = next(e["id"] for e in sam_program["exercises"] if e["name"] == "Bridge")
    assert_problem(alex.get(f"/v1/exercises/{bridge_id}/history"), 404)
    assert_problem(alex.get(f"/v1/exercises/{bridge_id[:8]}/history"), 404)
    assert_problem(alex.get("/v1/sync/pull", after=sam_cursor), 400, "after")

    # writes: ids of sam's things in a URL or a body reach nothing of sam's
    assert_problem(alex.client.delete(f"/v1/devices/{sam.device_id}", headers=alex.headers), 404)
    r = alex.push(alex.m("log", exercise=bridge_id[:8], pain_before=3),
                  alex.m("regress", exercise="Bridge", sets=1, reason="x"),
                  alex.m("resolve", conflict=str(uuid.uuid4()), keep_current=True))
    assert [x["status"] for x in r.json["results"]] == ["rejected"] * 3
    replay = good(alex, mutation_id=next(e["mutation_id"] for e in sam_entries if e["mutation_id"]))
    r = alex.post("/v1/sync/push", {"mutations": [replay]})
    assert r.status_code == 200 and r.json["results"][0]["status"] == "applied"  # alex's own, not sam's record

    alex.pair("alex's tablet")

    # sam is untouched
    assert sam.get("/v1/devices").json == sam_devices
    assert sam.get("/v1/program").json["exercises"] == sam_program["exercises"]
    assert pull_all(sam)[0] == sam_entries
    assert sam.get("/v1/devices").status_code == 200


# ----- the OpenAPI document ----------------------------------------------------------------------


def test_openapi_is_valid_and_lists_every_endpoint(api):
    r = api.test_client().get("/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    spec = r.json
    assert spec["openapi"] == "3.0.3" and spec["info"]["title"]
    verbs = {"get", "post", "put", "patch", "delete"}
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops if method in verbs}
    served = set()
    for rule in api.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/openapi") or rule.endpoint.startswith("web."):
            continue  # the dashboard's pages (api.web) are HTML for people, not API operations
        path = rule.rule.replace("<string:", "{").replace("<", "{").replace(">", "}")
        served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == documented
    expected = {
        ("/v1/sync/push", "POST"), ("/v1/sync/pull", "GET"), ("/v1/devices", "POST"), ("/v1/devices", "GET"),
        ("/v1/devices/{device_id}", "DELETE"), ("/v1/program", "GET"), ("/v1/history", "GET"),
        ("/v1/exercises/{exercise}/history", "GET"), ("/v1/sessions", "GET"), ("/v1/recap", "GET"),
        ("/v1/signature", "GET"), ("/v1/conflicts", "GET"), ("/healthz", "GET"), ("/readyz", "GET"),
    }
    assert expected <= documented
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "A device token (bs1_...)"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method not in verbs:
                continue
            if path.startswith("/v1/"):
                assert op["security"] == [{"bearerAuth": []}], (path, method)
                assert {"401", "403", "429"} <= set(op["responses"]), (path, method)
            success = [code for code in op["responses"] if code.startswith("2")]
            assert success, (path, method)
    push = spec["paths"]["/v1/sync/push"]["post"]
    assert push["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/PushRequest"}
    assert spec["components"]["schemas"]["PushRequest"]["additionalProperties"] is False
    assert spec["components"]["schemas"]["Mutation"]["additionalProperties"] is False
    assert "application/problem+json" in spec["components"]["responses"]["BAD_REQUEST"]["content"]

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(spec):
        target = spec
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]

    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(spec)
