"""``GET /v1/tension`` on every configured backend: the answer, its schema, its refusals, its account.

The answer's equality with the CLI's is checked against a real server in
tests/e2e/test_tension.py; here the endpoint's own contract.
"""

from __future__ import annotations

import pytest

from api.tension import TensionSchema
from tests.integration.test_api import assert_problem
from tests.integration.test_api_reads import conforms, day
from tests.integration.test_api_support import Client


@pytest.fixture
def kim(api):
    kim = Client.new_account(api, "kim")
    r = kim.push(kim.m("init", 30, name="Kim", timezone="UTC"),
                 kim.m("add", 29, name="Bridge", position="1:supine", sets=3, reps=10, target=["glutes"],
                       protect=["hip_flexors"], reason="start"),
                 kim.m("log", 10, exercise="Bridge", pain_during=2, tension=["hip_flexors:left:guarding:5"]),
                 kim.m("log", 9, exercise="Bridge", pain_during=2, tension=["glutes:right:underactive:2"]),
                 kim.m("log", 8, exercise="Bridge", pain_during=2, tension=["hip_flexors:left:overactive:3"]),
                 kim.m("policy-set", 20, policy="tension-suggestions", params={"one_sided_sessions": 2},
                       reason="my physio's rule"))
    assert r.status_code == 200 and {x["status"] for x in r.json["results"]} == {"applied"}, r.json
    return kim


def test_tension_answers_with_its_rules_and_the_sessions_behind_them(kim):
    logs = [e for e in kim.get("/v1/sessions").json["sessions"]]
    first, _, last = sorted((s["occurred_at"], s["id"]) for s in logs)
    r = kim.get("/v1/tension", until=day(0))
    assert r.status_code == 200, r.json
    conforms(TensionSchema, r.json)
    assert r.json["sessions"] == 3 and r.json["policy"]["params"]["one_sided_sessions"] == 2
    assert [(m["muscle"], m["side"], m["count"], m["mean_intensity"]) for m in r.json["muscles"]] == [
        ("hip_flexors", "left", 2, 4.0), ("glutes", "right", 1, 2.0)]
    assert r.json["asymmetries"] == [{"muscle": "hip_flexors", "kind": "one-sided", "side": "left", "left_mean": 4.0,
                                      "right_mean": None, "exposures": 2, "facts": [first[1], last[1]]}]
    [s] = r.json["suggestions"]
    assert (s["rule_id"], s["rule_version"], s["exercise"], s["facts"]) == (
        "tension-suggestions", 1, "Bridge", [first[1], last[1]])
    assert s["message"] == "consider regressing the position or range of Bridge"
    narrow = kim.get("/v1/tension", muscle="glutes", side="right", since=day(9))
    assert narrow.status_code == 200 and narrow.json["suggestions"] == narrow.json["asymmetries"] == []
    assert [m["muscle"] for m in narrow.json["muscles"]] == ["glutes"]


@pytest.mark.parametrize("query, field", [
    ({"muscle": "biceps"}, "muscle"), ({"side": "up"}, "side"), ({"since": "yesterday"}, "since"),
    ({"since": day(1), "until": day(5)}, "since"), ({"mood": "x"}, "mood"),
])
def test_bad_parameters_are_400_naming_the_field(kim, query, field):
    problem = assert_problem(kim.get("/v1/tension", **query), 400, field)
    if field in ("muscle", "side"):  # the allowed values are named
        assert {"muscle": "paraspinals", "side": "left, right, both"}[field] in problem["errors"][field][0]


def test_no_program_is_404_and_another_account_sees_only_its_own(api, kim):
    lee = Client.new_account(api, "lee")
    assert_problem(lee.get("/v1/tension"), 404)
    lee.push(lee.m("init", 3, name="Lee"))
    r = lee.get("/v1/tension")
    assert r.status_code == 200 and r.json["sessions"] == 0 and r.json["muscles"] == r.json["suggestions"] == []
    assert kim.get("/v1/tension").json["sessions"] == 3
