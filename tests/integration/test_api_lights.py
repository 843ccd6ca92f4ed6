"""The pain-monitoring lights over the API (issue 12 items 2, 3, 8): ``/v1/sessions``, ``/v1/pending``,
``/v1/recap``'s lights, and a pushed progression the server's guard keeps as a conflict."""

from __future__ import annotations

import pytest

from api import read_schemas
from api.pending import PendingSchema
from tests.integration.test_api import assert_problem
from tests.integration.test_api_reads import conforms
from tests.integration.test_api_support import Client



@pytest.fixture
def sam(api):
    """Bridge: green (answered), amber (answered: same), red by the next day; Bird dog: one unanswered session."""
    sam = Client.new_account(api, "sam")
    r = sam.push(sam.m("init", 30, name="Sam", timezone="UTC"),
                 sam.m("add", 29, name="Bridge", position="1:supine", sets=3, reps=10, reason="start"),
                 sam.m("add", 29, name="Bird dog", position="2:quadruped", sets=3, reps=6, reason="start"),
                 sam.m("log", 20, exercise="Bridge", pain_before=3, pain_during=1, pain_after=1),
                 sam.m("next-day", 19, exercise="Bridge", verdict="better", pain=2),
                 sam.m("log", 15, exercise="Bridge", pain_before=3, pain_during=4, pain_after=3),
                 sam.m("next-day", 14, exercise="Bridge", verdict="same", pain=3),
                 sam.m("log", 10, exercise="Bridge", pain_before=2, pain_during=2, pain_after=2),
                 sam.m("next-day", 9, exercise="Bridge", verdict="same", pain=5),
                 sam.m("log", 5, exercise="Bird dog", pain_before=2, pain_during=0, pain_after=1))
    assert r.status_code == 200 and {x["status"] for x in r.json["results"]} == {"applied"}, r.json
    return sam


def test_sessions_carry_their_lights_and_the_rule(sam):
    body = sam.get("/v1/sessions").json
    conforms(read_schemas.SessionsSchema, body)
    got = [(s["exercise"], s["light"], s["next_day"] and s["next_day"]["verdict"]) for s in body["sessions"]]
    assert got == [("Bridge", "green", "better"), ("Bridge", "amber", "same"), ("Bridge", "red", "same"),
                   ("Bird dog", "green", None)]
    red = body["sessions"][2]
    assert red["light_reasons"] == ["pain during 2: at most 2", "next-day pain 5: at least pain before 2 + 2"]
    assert red["policy"] == {"id": "pain-monitoring", "version": 1,
                             "params": {"green_max": 2, "amber_max": 5, "next_day_rise": 2}}
    # one exercise, by name or id prefix; paging keeps each session once
    bridge = sam.get("/v1/sessions", exercise="bridge").json["sessions"]
    assert [s["light"] for s in bridge] == ["green", "amber", "red"]
    paged = [sam.get("/v1/sessions", limit=2).json]
    paged.append(sam.get("/v1/sessions", limit=2, after=paged[0]["next_cursor"]).json)
    assert [s["id"] for p in paged for s in p["sessions"]] == [s["id"] for s in body["sessions"]]
    assert paged[1]["sessions"][0]["light"] == "red"  # its next-day response read on the page it is on
    assert_problem(sam.get("/v1/sessions", exercise="Plank"), 404)
    assert_problem(sam.get("/v1/sessions", exercise=""), 400, "exercise")


def test_pending_and_recap_lights(sam):
    pending = sam.get("/v1/pending").json
    conforms(PendingSchema, pending)
    bird = sam.get("/v1/sessions", exercise="Bird dog").json["sessions"][0]
    assert pending == {"pending": [{"session_id": bird["id"], "exercise": "Bird dog",
                                    "occurred_at": bird["occurred_at"]}]}
    recap = sam.get("/v1/recap").json
    conforms(read_schemas.RecapSchema, recap)
    assert recap["lights"] == {"green": 2, "amber": 1, "red": 1}


def test_a_pushed_progression_the_guard_stands_in_the_way_of_is_a_conflict(sam):
    """Bird dog's session awaits its next day; Bridge's last is red: neither progression is applied."""
    before = sam.get("/v1/program").json["exercises"]
    r = sam.push(sam.m("progress", 1, exercise="Bird dog", reps=8, reason="easy"),
                 sam.m("progress", 1, exercise="Bridge", reps=12, reason="easy"))
    results = r.json["results"]
    assert [x["status"] for x in results] == ["conflict", "conflict"], results
    assert "no next-day response yet" in results[0]["reason"] and "is red" in results[1]["reason"]
    assert sam.get("/v1/program").json["exercises"] == before
    conflicts = sam.get("/v1/conflicts").json["conflicts"]
    assert [c["exercise"] for c in conflicts] == ["Bird dog", "Bridge"]
    # forced (with its reason), it is applied and keeps the evidence it went past
    forced = sam.push(sam.m("progress", 1, exercise="Bridge", reps=12, reason="physio agrees", force=True))
    assert forced.json["results"][0]["status"] == "applied", forced.json
    override = forced.json["results"][0]["result"]["override"]
    assert (override["light"], override["awaiting_next_day"]) == ("red", False)
    last = sam.get("/v1/exercises/Bridge/history").json["entries"][-1]
    assert last["to"] == {"reps": 12, "forced": True, "override": override}


def test_pending_before_a_program_is_404(api):
    nobody = Client.new_account(api, "nobody")
    assert_problem(nobody.get("/v1/pending"), 404)
    assert_problem(nobody.get("/v1/pending", colour="red"), 400, "colour")


def test_openapi_documents_the_lights(api):
    spec = api.test_client().get("/openapi.json").json
    assert spec["paths"]["/v1/pending"]["get"]["responses"]["200"]
    assert "exercise" in [p["name"] for p in spec["paths"]["/v1/sessions"]["get"]["parameters"]]
    session = spec["components"]["schemas"]["Session"]["properties"]
    assert {"next_day", "light", "light_reasons", "policy"} <= set(session)
    assert session["light"]["enum"] == ["green", "amber", "red"]
    assert "lights" in spec["components"]["schemas"]["Recap"]["properties"]
