"""Outcome measures through the one command path, export/import and the API, on every configured backend."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidValue, Refused
from service import queries
from service.exchange import export_lines, import_mutations, read_export
from service.handling import handle
from service.mutation import Mutation
from service.application import program_id_for
from service.outcomes import outcomes
from tests.conftest import open_ledger
from tests.integration.test_api import assert_problem
from tests.integration.test_api_support import Client, fresh_app

NOW = datetime.now(timezone.utc)
ODI = "3,2,1,-,0,2,1,1,2,-"  # 12 / 40 = 30.0


def mut(mutation_type: str, days_ago: float, **args) -> Mutation:
    return Mutation(str(uuid.uuid4()), mutation_type, NOW - timedelta(days=days_ago), "dev-a", args)


def stored_count(ledger) -> int:
    return ledger.app.recorder.max_notification_id() or 0


def record(ledger) -> dict[str, str]:
    """A program with every instrument twice (PSFS with a renamed and an added activity); the fact ids."""
    handle(ledger, mut("init", 100, name="Sam", timezone="UTC"))
    ids = {}
    for name, days, args in [
        ("odi1", 90, {"instrument": "odi", "answers": ODI, "score": 30.0}),
        ("rmdq1", 90, {"instrument": "rmdq", "answers": "1,4,7,12,15,16,20,21,22"}),
        ("psfs1", 90, {"instrument": "psfs", "activity": ["lift-child=4", "sit-1h=6", "walk-30min=3"],
                       "activity_name": ["lift-child=Lift my child"]}),
        ("nprs1", 90, {"instrument": "nprs", "pain": 7}),
        ("odi2", 10, {"instrument": "odi", "answers": "1,1,1,-,0,1,1,1,1,1"}),  # 8 / 45 = 17.8
        ("rmdq2", 10, {"instrument": "rmdq", "answers_yes_no": ",".join("y" if n in (1, 4, 7, 12) else "n"
                                                                        for n in range(1, 25))}),
        ("psfs2", 10, {"instrument": "psfs", "activity": ["lift-child=7", "sit-1h=7", "walk-30min=4", "stairs=5"],
                       "activity_name": ["lift-child=Lift my son"]}),
    ]:
        ids[name] = handle(ledger, mut("assess", days, **args))["result"]["fact_id"]
    handle(ledger, mut("checkin", 5, pain=5))
    return ids


def by_instrument(ledger) -> dict[str, dict]:
    return {i["instrument"]: i for i in outcomes(ledger)["instruments"]}


def test_assessments_are_facts_with_verdicts_corrections_and_voids(ledger):
    ids = record(ledger)
    got = by_instrument(ledger)
    assert (got["odi"]["baseline"]["score"], got["odi"]["latest"]["score"]) == (30.0, 17.8)
    assert (got["odi"]["change"], got["odi"]["verdict"]) == (-12.2, "improved")
    assert (got["rmdq"]["change"], got["rmdq"]["verdict"]) == (-5, "improved")
    assert (got["psfs"]["baseline"]["score"], got["psfs"]["latest"]["score"]) == (4.33, 5.75)
    assert got["psfs"]["verdict"] == "no important change"
    assert [(a["id"], a["name"], a["verdict"]) for a in got["psfs"]["activities"]] == [
        ("lift-child", "Lift my son", "improved"), ("sit-1h", None, "no important change"),
        ("walk-30min", None, "no important change"), ("stairs", None, "single measurement")]
    # NPRS: the assessment and the check-in, 7 -> 5 (2 points)
    assert (got["nprs"]["latest"], got["nprs"]["verdict"]) == ({"at": got["nprs"]["latest"]["at"], "score": 5,
                                                                "source": "checkin"}, "improved")

    # a correction rescoring the ODI: 12 / 45 = 26.7, no longer an important change
    fixed = handle(ledger, mut("correct", 1, fact=ids["odi2"], answers="1,1,1,-,0,1,1,1,1,5"))
    assert fixed["result"]["changes"]["score"] == {"from": 17.8, "to": 26.7}
    assert by_instrument(ledger)["odi"]["verdict"] == "no important change"
    with pytest.raises(InvalidValue) as e:
        handle(ledger, mut("correct", 1, fact=ids["rmdq1"], pain=3))
    assert e.value.field == "pain"
    with pytest.raises(InvalidValue) as e:
        handle(ledger, mut("correct", 1, fact=ids["psfs1"], note="x"))
    assert e.value.field == "note"
    # a void leaves the RMDQ with one measurement
    handle(ledger, mut("void", 1, fact=ids["rmdq2"], reason="entered twice"))
    assert by_instrument(ledger)["rmdq"]["verdict"] == "single measurement"
    recap = queries.recap(ledger, NOW - timedelta(days=30), NOW, ZoneInfo("UTC"))
    assert [(a["instrument"], a["score"]) for a in recap["assessments"]] == [("odi", 26.7), ("psfs", 5.75)]


def test_refused_assessments_store_nothing(ledger):
    handle(ledger, mut("init", 100, name="Sam", timezone="UTC"))
    before = stored_count(ledger)
    with pytest.raises(InvalidValue) as e:
        handle(ledger, mut("assess", 1, instrument="odi", answers="3,2,1,-,0,2,-,1,-,0"))
    assert e.value.field == "answers" and "only 7 of 10" in str(e.value)
    with pytest.raises(Refused) as r:
        handle(ledger, mut("assess", 1, instrument="odi", answers=ODI, score=31.0))
    assert r.value.rule == "score_mismatch"
    with pytest.raises(InvalidValue) as e:
        handle(ledger, mut("assess", 1, instrument="psfs", activity=["a=1", "b=2"]))
    assert e.value.field == "activity"
    assert stored_count(ledger) == before


def test_export_import_recomputes_scores_and_refuses_a_tampered_one(ledger, tmp_path):
    record(ledger)
    lines = list(export_lines(ledger, NOW))
    target = open_ledger(f"sqlite:///{tmp_path / 'restored.sqlite'}")
    counts = import_mutations(target, read_export(lines))
    assert counts["refused"] == [] and by_instrument(target) == by_instrument(ledger)

    tampered = []
    for line in lines:
        row = json.loads(line)
        if row.get("args", {}).get("instrument") == "odi":
            row["args"]["score"] = 12.0
        tampered.append(json.dumps(row))
    elsewhere = open_ledger(f"sqlite:///{tmp_path / 'tampered.sqlite'}")
    with pytest.raises(Refused) as r:
        import_mutations(elsewhere, read_export(tampered))
    # refused whole, before anything is stored, naming the line and the recomputed score
    assert r.value.rule == "export_does_not_fit" and "claims a score of 12.0 but its answers score 30.0" in str(r.value)
    assert stored_count(elsewhere) == 0


def test_outcomes_over_the_api_match_the_command_path(store_url):
    flask_app = fresh_app(store_url)
    try:
        sam = Client.new_account(flask_app, "sam")
        assert "no program yet" in assert_problem(sam.get("/v1/outcomes"), 404)["detail"]
        r = sam.push(sam.m("init", 30, name="Sam", timezone="UTC"),
                     sam.m("assess", 20, instrument="nprs", pain=8),
                     sam.m("assess", 20, instrument="odi", answers=ODI, score=30.0),
                     sam.m("checkin", 2, pain=6),
                     sam.m("assess", 1, instrument="odi", answers=ODI.replace("3", "0"), score=22.5))
        assert {x["status"] for x in r.json["results"]} == {"applied"}, r.json
        tampered = sam.push(sam.m("assess", 1, instrument="nprs", pain=3, score=4)).json["results"][0]
        assert tampered["status"] == "rejected" and tampered["result"]["error"]["rule"] == "score_mismatch", tampered
        body = sam.get("/v1/outcomes").json
        ledger = flask_app.extensions["backstory"].app.ledger(program_id_for(sam.account_id))
        assert json.dumps(body, sort_keys=True) == json.dumps(outcomes(ledger), sort_keys=True)  # 8 stays 8
        nprs = body["instruments"][1]
        assert (nprs["change"], nprs["verdict"]) == (-2, "improved")
        assert sam.get("/v1/recap", since=(NOW - timedelta(days=25)).date().isoformat()).json["assessments"][0][
            "instrument"] == "nprs"
        assert sam.get("/v1/outcomes", colour="red").status_code == 400
        assert Client(flask_app, "bs1_not_a_token", "x").get("/v1/outcomes").status_code == 401
        spec = flask_app.test_client().get("/openapi.json").json
        assert {"200", "400", "401", "404"} <= set(spec["paths"]["/v1/outcomes"]["get"]["responses"])
    finally:
        flask_app.extensions["backstory"].close()


def test_an_assessment_within_the_clock_tolerance_ahead_counts_at_once_in_both_faces(store_url):
    """A device whose clock runs a few minutes ahead records an assessment "now": the store accepts it (up to
    the 10-minute clock tolerance), so `outcomes` must count it at once, as `recap`, the export and the read
    model behind GET /v1/outcomes do, not only once the server's clock has caught up."""
    flask_app = fresh_app(store_url)
    try:
        sam = Client.new_account(flask_app, "sam")
        ahead = -5 / (24 * 60)  # five minutes in the future
        r = sam.push(sam.m("init", 30, name="Sam", timezone="UTC"),
                     sam.m("assess", 20, instrument="nprs", pain=8),
                     sam.m("assess", ahead, instrument="nprs", pain=2))
        assert {x["status"] for x in r.json["results"]} == {"applied"}, r.json
        ledger = flask_app.extensions["backstory"].app.ledger(program_id_for(sam.account_id))
        nprs = by_instrument(ledger)["nprs"]
        assert (nprs["measurements"], nprs["latest"]["score"], nprs["verdict"]) == (2, 2, "improved"), nprs
        assert sam.get("/v1/outcomes").json == json.loads(json.dumps(outcomes(ledger)))
    finally:
        flask_app.extensions["backstory"].close()
