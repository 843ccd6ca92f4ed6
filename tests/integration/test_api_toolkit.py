"""The fitting report and the signature toolkit over HTTP: the CLI's JSON, from the read models (issue 12, item 8)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.application import program_id_for
from service.insights import fittings, flares, kit, signature
from service.queries import show
from service.record import ledger_record
from tests.integration.test_api import assert_problem
from tests.integration.test_api_support import Client

MOMENTS = ("at", "as_of", "days", "window_start")  # when each was asked, not what it says



def push(client: Client, *mutations: dict) -> None:
    r = client.push(*mutations)
    assert r.status_code == 200 and {x["status"] for x in r.json["results"]} == {"applied"}, r.json


@pytest.fixture
def sam(api):
    sam = Client.new_account(api, "sam")
    m = sam.m
    push(sam, m("init", 40, name="Sam", timezone="Europe/Paris"),
         m("add", 39, name="Bridge", position="1:supine", sets=3, reps=10),
         m("add", 39, name="Row", position="3", load="free_weight:5:kg", sets=3, reps=8),
         m("fitting-open", 18),
         *[m("log", 17 - d, exercise=name, pain_before=4, pain_during=2, pain_after=2)
           for d in range(5) for name in ("Bridge", "Row")],
         m("flare-start", 9, pain=7), m("log", 8.5, exercise="Bridge", pain_before=7, pain_during=6, pain_after=4),
         m("next-day", 8, exercise="Bridge", verdict="worse"), m("flare-end", 7.5),
         m("promote", 11, exercise="Bridge", reason="calms it"))
    return sam


def without_moments(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in MOMENTS}


def test_each_endpoint_answers_as_the_cli_does(api, sam):
    ledger = api.extensions["backstory"].app.ledger(program_id_for(sam.account_id))
    record, now = ledger_record(ledger), datetime.now(UTC)
    expected = {
        "/v1/fittings/report": fittings.report(record, None, now),
        "/v1/exercises/row/signature-evidence": signature.explain(record, "row", now),
        "/v1/signature/candidates": signature.candidates(record, now),
        "/v1/kit?for=flare&minutes=5": kit.kit(record, 5, "flare", now),
        "/v1/flares": flares.flares(record),
    }
    for path, cli in expected.items():
        r = sam.get(path)
        assert r.status_code == 200, (path, r.json)
        assert without_moments(r.json) == without_moments(cli), path
    assert expected["/v1/fittings/report"]["suggestions"][0]["exercise"] == "Bridge"  # red: pain 6, then worse
    assert [c["exercise"] for c in expected["/v1/signature/candidates"]["candidates"]] == ["Row"]
    assert [e["exercise"] for e in expected["/v1/kit?for=flare&minutes=5"]["exercises"]] == ["Bridge"]
    assert expected["/v1/flares"]["flares"][0]["exposures"][0]["worse_next_day"] == 1
    program = sam.get("/v1/program").json
    assert program["fitting_due"] is True and program["fitting_due"] == show(ledger, now)["fitting_due"]
    # the open fitting's start carries its offset, as every time in JSON does (issue 9 item 11)
    assert program["program"]["fitting"] == show(ledger, now)["program"]["fitting"]
    assert datetime.fromisoformat(program["program"]["fitting"]["opened"]).utcoffset() is not None


def test_bad_queries_name_the_field_and_unknowns_are_404(api, sam):
    assert_problem(sam.get("/v1/kit", minutes=0), 400, "minutes")
    assert_problem(sam.get("/v1/kit", **{"for": "beach"}), 400, "for")
    assert_problem(sam.get("/v1/fittings/report", number=0), 400, "number")
    assert_problem(sam.get("/v1/flares", colour="red"), 400)
    assert "no fitting 2" in assert_problem(sam.get("/v1/fittings/report", number=2), 404)["detail"]
    assert_problem(sam.get("/v1/exercises/plank/signature-evidence"), 404)
    empty = Client.new_account(api, "eve")
    for path in ("/v1/fittings/report", "/v1/signature/candidates", "/v1/kit", "/v1/flares"):
        assert_problem(empty.get(path), 404)
    push(empty, empty.m("init", 3, name="Eve"))
    assert "no fitting yet" in assert_problem(empty.get("/v1/fittings/report"), 404)["detail"]
    assert empty.get("/v1/flares").json["flares"] == [] and empty.get("/v1/program").json["fitting_due"] is False


def test_the_openapi_document_describes_them(api):
    spec = api.test_client().get("/openapi.json").json
    for path in ("/v1/fittings/report", "/v1/exercises/{exercise}/signature-evidence", "/v1/signature/candidates",
                 "/v1/kit", "/v1/flares"):
        operation = spec["paths"][path]["get"]
        assert operation["security"] and "200" in operation["responses"] and operation["summary"], path
    assert "fitting_due" in spec["components"]["schemas"]["Program"]["properties"]
