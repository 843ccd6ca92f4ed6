"""The FHIR R4 export: a realistic program through the command path, validated with fhir.resources (R4B)."""

from __future__ import annotations

import importlib
import json
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from service.fhir import bundle, bundle_json
from service.handling import handle
from service.mutation import Mutation

NOW = datetime.now(timezone.utc)
LOINC_PAIN = ("http://loinc.org", "72514-3")


def mut(mutation_type: str, days_ago: float, **args) -> Mutation:
    return Mutation(str(uuid.uuid4()), mutation_type, NOW - timedelta(days=days_ago), "dev-secret-device", args)


def record(ledger) -> None:
    """Exercises added, progressed, paused, retired and deconstructed; sessions, next-day, check-ins, sleep, ODI,
    PSFS."""
    handle(ledger, mut("init", 60, name="Sam's back", timezone="Europe/Berlin"))
    handle(ledger, mut("add", 58, name="Dead bug", position="1:supine", sets=3, reps=8))
    handle(ledger, mut("add", 58, name="Bird dog", position="kneeling:quadruped", sets=3, reps=6, per_side=True))
    handle(ledger, mut("add", 58, name="Side plank", position="2:side-lying", sets=2, hold=20))
    handle(ledger, mut("add", 58, name="Bridge", position="1:supine", sets=3, reps=10))
    handle(ledger, mut("log", 50, exercise="Dead bug", sets=3, reps=8, pain_before=5, pain_during=4, pain_after=3,
                       note="felt fine"))
    handle(ledger, mut("next-day", 49.5, exercise="Dead bug", verdict="better", pain=2))
    handle(ledger, mut("progress", 40, exercise="Dead bug", sets=4, reason="easy for a week"))
    handle(ledger, mut("log", 30, exercise="Dead bug", sets=4, reps=8, pain_before=3, pain_after=2))
    handle(ledger, mut("log", 29, exercise="Bird dog", pain_during=2))
    handle(ledger, mut("pause", 25, exercise="Bird dog", reason="travel"))
    handle(ledger, mut("retire", 20, exercise="Bridge", reason="done"))
    handle(ledger, mut("deconstruct", 15, exercise="Side plank", into=["Arm reach", "Leg reach"], reason="aggravates"))
    handle(ledger, mut("checkin", 12, pain=4))
    handle(ledger, mut("checkin", 3, pain=2))
    handle(ledger, mut("sleep", 2.5, hours=6.5, quality=4, pain_morning=4))
    handle(ledger, mut("sleep", 1.5, hours=8))  # no pain on waking: no observation
    handle(ledger, mut("assess", 55, instrument="odi", answers="3,2,1,-,0,2,1,1,2,-"))
    handle(ledger, mut("assess", 5, instrument="psfs", activity=["lift-child=4", "sit-1h=6", "walk-30min=3"],
                       activity_name=["lift-child=Lift my child"]))
    handle(ledger, mut("assess", 4, instrument="psfs", activity=["lift-child=6", "sit-1h=6", "walk-30min=6"]))
    voided = handle(ledger, mut("log", 2, exercise="Dead bug", pain_before=9))["result"]["fact_id"]
    handle(ledger, mut("void", 1, fact=voided, reason="wrong exercise"))


def validated(data: dict) -> None:
    """Every resource parses with its fhir.resources R4B model, and the bundle as a whole."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(data)
    for entry in data["entry"]:
        kind = entry["resource"]["resourceType"]
        module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
        getattr(module, kind).model_validate(entry["resource"])


def references(node) -> list[str]:
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [r for v in node.values() for r in references(v)]
    if isinstance(node, list):
        return [r for v in node for r in references(v)]
    return []


def by_type(data: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for entry in data["entry"]:
        out.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return out


def moment(observation: dict) -> str:
    return observation["component"][0]["valueCodeableConcept"]["coding"][0]["code"]


def test_bundle_is_valid_fhir_with_every_reference_inside(ledger):
    record(ledger)
    data = bundle(ledger)
    validated(data)
    assert data["resourceType"] == "Bundle" and data["type"] == "collection"
    urls = {e["fullUrl"] for e in data["entry"]}
    assert len(urls) == len(data["entry"]) and all(u == f"urn:uuid:{e['resource']['id']}"
                                                  for u, e in zip([e["fullUrl"] for e in data["entry"]], data["entry"]))
    assert set(references(data)) <= urls
    kinds = by_type(data)
    counts = Counter({k: len(v) for k, v in kinds.items()})
    # 3 sessions (the voided one left out), 6 session pains + 1 next-morning + 2 check-ins + 1 on waking,
    # 3 assessments
    assert counts == {"Patient": 1, "CarePlan": 1, "ServiceRequest": 7, "Procedure": 3, "Observation": 13,
                      "QuestionnaireResponse": 3}, counts

    assert kinds["Patient"][0]["name"] == [{"text": "Sam's back"}] and set(kinds["Patient"][0]) == {
        "resourceType", "id", "name"}
    # prescription versions: Dead bug twice (the second replaces the first), the rest once, the components new
    requests = {(r["code"]["text"], r["status"]): r for r in kinds["ServiceRequest"]}
    assert sorted(requests) == [("Arm reach", "active"), ("Bird dog", "on-hold"), ("Bridge", "revoked"),
                                ("Dead bug", "active"), ("Dead bug", "revoked"), ("Leg reach", "active"),
                                ("Side plank", "revoked")]
    old, new = requests[("Dead bug", "revoked")], requests[("Dead bug", "active")]
    assert new["replaces"] == [{"reference": f"urn:uuid:{old['id']}"}]
    assert {"text": "sets: 3"} in old["note"] and {"text": "sets: 4"} in new["note"]
    assert new["patientInstruction"] == "Dead bug: 4 x 8 reps"
    assert old["occurrencePeriod"]["end"] == new["occurrencePeriod"]["start"]
    plan = kinds["CarePlan"][0]
    assert plan["status"] == "active" and len(plan["activity"]) == 6  # one per exercise, its latest version
    assert {a["reference"]["reference"] for a in plan["activity"]} >= {f"urn:uuid:{new['id']}"}

    # each session is a Procedure based on the version in effect then; its pains are LOINC observations
    dead_bug = sorted((p for p in kinds["Procedure"] if p["code"]["text"] == "Dead bug"),
                      key=lambda p: p["performedDateTime"])
    assert [p["basedOn"][0]["reference"] for p in dead_bug] == [f"urn:uuid:{old['id']}", f"urn:uuid:{new['id']}"]
    assert dead_bug[0]["note"] == [{"text": "sets: 3; reps: 8"}, {"text": "felt fine"}]
    pains = [o for o in kinds["Observation"] if "derivedFrom" not in o]
    for o in pains:
        assert [(c["system"], c["code"]) for c in o["code"]["coding"]] == [LOINC_PAIN]
        assert o["category"][0]["coding"][0]["code"] == "survey" and isinstance(o["valueInteger"], int)
        assert o["effectiveDateTime"][-6:] in ("+01:00", "+02:00")  # Europe/Berlin, with its offset
    in_sessions = sorted((p["performedDateTime"], moment(o), o["valueInteger"]) for o in pains if "partOf" in o
                         for p in kinds["Procedure"] if o["partOf"][0]["reference"] == f"urn:uuid:{p['id']}")
    logged = sorted([(dead_bug[0]["performedDateTime"], "before", 5), (dead_bug[0]["performedDateTime"], "during", 4),
                     (dead_bug[0]["performedDateTime"], "after", 3), (dead_bug[1]["performedDateTime"], "before", 3),
                     (dead_bug[1]["performedDateTime"], "after", 2)]
                    + [(p["performedDateTime"], "during", 2) for p in kinds["Procedure"] if p["code"]["text"] == "Bird dog"])
    assert in_sessions == logged
    others = sorted((moment(o), o["valueInteger"], "focus" in o) for o in pains if "partOf" not in o)
    assert others == [("check-in", 2, False), ("check-in", 4, False), ("next-morning", 2, True),
                      ("on-waking", 4, False)]

    # assessments: a response with item answers, a score observation derived from it
    responses = {r["identifier"]["value"]: r for r in kinds["QuestionnaireResponse"]}
    assert sorted(r["identifier"]["value"] for r in kinds["QuestionnaireResponse"]) == ["odi-2.1a", "psfs-1", "psfs-1"]
    # the later PSFS keeps the name the activity was given first
    assert [i.get("text") for i in responses["psfs-1"]["item"]] == ["Lift my child", None, None]
    assert [i["linkId"] for i in responses["odi-2.1a"]["item"]] == [f"odi-{n}" for n in (1, 2, 3, 5, 6, 7, 8, 9)]
    psfs = [r["item"][0] for r in kinds["QuestionnaireResponse"] if r["identifier"]["value"] == "psfs-1"]
    assert psfs == [{"linkId": "psfs-lift-child", "text": "Lift my child", "answer": [{"valueInteger": v}]}
                    for v in (4, 6)]
    scores = {o["code"]["coding"][0]["code"]: o for o in kinds["Observation"] if "derivedFrom" in o}
    assert scores["odi-score"]["valueQuantity"]["value"] == 30.0
    assert sorted(o["valueQuantity"]["value"] for o in kinds["Observation"]
                  if o["code"]["coding"][0]["code"] == "psfs-score") == [4.33, 6]
    assert scores["odi-score"]["derivedFrom"] == [{"reference": f"urn:uuid:{responses['odi-2.1a']['id']}"}]

    # nothing of the device, the decisions' reasons or the voided session leaves the store
    text = bundle_json(ledger)
    assert "dev-secret-device" not in text and "easy for a week" not in text and "wrong exercise" not in text
    assert '"valueInteger": 9' not in text


def test_an_nprs_score_is_coded_as_loinc_pain_as_well(ledger):
    """A system that looks pain up by LOINC 72514-3 finds ``assess nprs`` too (the local code stays first)."""
    handle(ledger, mut("init", 10, name="Sam's back", timezone="Europe/Berlin"))
    handle(ledger, mut("assess", 5, instrument="nprs", pain=6))
    data = bundle(ledger)
    validated(data)
    scores = [o for o in by_type(data)["Observation"] if "derivedFrom" in o]
    assert [[(c["system"], c["code"]) for c in o["code"]["coding"]] for o in scores] == [
        [("https://backstory.invalid/fhir/CodeSystem/outcome-score", "nprs-score"), LOINC_PAIN]]
    assert scores[0]["valueInteger"] == 6


def test_same_store_same_bytes_and_the_period_bounds_the_events(ledger):
    record(ledger)
    first = bundle_json(ledger)
    assert first == bundle_json(ledger)
    assert json.loads(first) == json.loads(json.dumps(json.loads(first), sort_keys=True))

    since, until = NOW - timedelta(days=35), NOW - timedelta(days=10)
    part = json.loads(bundle_json(ledger, since, until))
    validated(part)
    assert part["id"] != json.loads(first)["id"]
    urls = {e["fullUrl"] for e in part["entry"]}
    assert set(references(part)) <= urls
    kinds = by_type(part)
    # the plan whole; only the two sessions, their pains and the first check-in in the period
    assert len(kinds["ServiceRequest"]) == 7 and "QuestionnaireResponse" not in kinds
    assert len(kinds["Procedure"]) == 2 and len(kinds["Observation"]) == 4
    for o in kinds["Observation"]:
        at = datetime.fromisoformat(o["effectiveDateTime"])
        assert since <= at <= until
    assert bundle_json(ledger, since, until) == json.dumps(part, sort_keys=True, indent=2, ensure_ascii=False)


def test_a_bounded_bundle_gives_each_resource_as_the_whole_record_does(ledger):
    """A period changes which events are in the bundle, never what one of them says: a PSFS in the period keeps
    the name its activity was given before the period (here 5 days ago, the period from 4.5 days ago). Only a
    next-morning answer whose session is outside the period loses its ``focus`` (it must resolve inside)."""
    record(ledger)
    whole = {e["fullUrl"]: e["resource"] for e in bundle(ledger)["entry"]}
    for days in (56, 45, 20, 4.5, 3):
        part = bundle(ledger, NOW - timedelta(days=days), NOW)
        for entry in part["entry"]:
            mine, theirs = entry["resource"], dict(whole[entry["fullUrl"]])
            if "focus" not in mine:
                theirs.pop("focus", None)
            assert mine == theirs, (days, mine["resourceType"])
    late = bundle(ledger, NOW - timedelta(days=4.5), NOW)
    (response,) = by_type(late)["QuestionnaireResponse"]
    assert response["item"][0] == {"linkId": "psfs-lift-child", "text": "Lift my child", "answer": [{"valueInteger": 6}]}


def test_the_cli_writes_the_bundle_and_refuses_a_period_for_other_formats(cli, tmp_path):
    cli.ok("init", "--name", "Sam", "--timezone", "UTC")
    cli.ok("add", "Dead bug", "--position", "1:supine", "--sets", "3", "--reps", "8")
    cli.ok("log", "dead bug", "--pain-before", "4", "--pain-after", "2")
    out = tmp_path / "record.json"
    cli.ok("export", "--format", "fhir", "--since", "yesterday", "-o", str(out))
    data = json.loads(out.read_text())
    validated(data)
    pains = sorted(o["valueInteger"] for o in by_type(data)["Observation"])
    assert pains == [2, 4] and out.read_text() == cli.ok("export", "--format", "fhir", "--since", "yesterday").out
    bad = cli("export", "--format", "csv", "--since", "yesterday")
    assert bad.code == 2 and "--since and --until go with --format fhir" in bad.err


def test_an_empty_store_has_nothing_to_export(ledger):
    from domain.errors import NotFound

    with pytest.raises(NotFound) as e:
        bundle(ledger)
    assert "program" in str(e.value)


def test_the_api_gives_the_accounts_own_bundle_by_bounded_period(store_url):
    from service.application import program_id_for
    from tests.integration.test_api import assert_problem
    from tests.integration.test_api_support import Client, fresh_app

    flask_app = fresh_app(store_url)
    try:
        sam = Client.new_account(flask_app, "sam")
        bob = Client.new_account(flask_app, "bob")
        since, until = (NOW - timedelta(days=40)).isoformat(), NOW.isoformat()
        assert "no program yet" in assert_problem(sam.get("/v1/export/fhir", since=since, until=until), 404)["detail"]
        r = sam.push(sam.m("init", 30, name="Sam", timezone="Europe/Berlin"),
                     sam.m("add", 29, name="Dead bug", position="1:supine", sets=3, reps=8),
                     sam.m("log", 20, exercise="Dead bug", pain_before=6, pain_after=3),
                     sam.m("checkin", 2, pain=4),
                     sam.m("assess", 1, instrument="nprs", pain=3))
        assert {x["status"] for x in r.json["results"]} == {"applied"}, r.json
        bob.push(bob.m("init", 30, name="Bob", timezone="UTC"), bob.m("checkin", 1, pain=9))

        body = sam.get("/v1/export/fhir", since=since, until=until)
        assert body.status_code == 200, body.get_data(as_text=True)
        validated(body.json)
        ledger = flask_app.extensions["backstory"].app.ledger(program_id_for(sam.account_id))
        expected = bundle_json(ledger, datetime.fromisoformat(since), datetime.fromisoformat(until))
        assert json.dumps(body.json, sort_keys=True, indent=2, ensure_ascii=False) == expected
        assert sorted(o.get("valueInteger") for o in by_type(body.json)["Observation"]) == [3, 3, 4, 6]
        assert "Bob" not in body.get_data(as_text=True)
        theirs = bob.get("/v1/export/fhir", since=since, until=until).json
        assert [o["valueInteger"] for o in by_type(theirs)["Observation"]] == [9] and "Sam" not in json.dumps(theirs)

        # by default the 366 days up to the end of today: the same resources, another period's bundle id
        default = sam.get("/v1/export/fhir").json
        assert [e["fullUrl"] for e in default["entry"]] == [e["fullUrl"] for e in body.json["entry"]]
        assert default["id"] != body.json["id"]
        assert_problem(sam.get("/v1/export/fhir", since=NOW.isoformat(), until=since), 400, "since")
        too_long = sam.get("/v1/export/fhir", since=(NOW - timedelta(days=400)).date().isoformat(), until=until)
        assert "at most 366 days" in assert_problem(too_long, 400, "since")["detail"]
        assert_problem(sam.get("/v1/export/fhir", since=since, until=until, colour="red"), 400)
        assert Client(flask_app, "bs1_not_a_token", "x").get("/v1/export/fhir", since=since,
                                                             until=until).status_code == 401
        spec = flask_app.test_client().get("/openapi.json").json
        assert {"200", "400", "401", "404"} <= set(spec["paths"]["/v1/export/fhir"]["get"]["responses"])
        # it reads a whole period, so it takes a recap's share of the rate limits
        from api import limits
        from api.ratelimit import cost_of

        endpoint = next(r.endpoint for r in flask_app.url_map.iter_rules() if r.rule == "/v1/export/fhir")
        assert cost_of(endpoint, {}) == limits.RECAP_COST
    finally:
        flask_app.extensions["backstory"].close()
