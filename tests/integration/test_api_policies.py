"""Policies over the API: a ``policy-set`` push, ``GET /v1/policies``, the same answer as the CLI's query."""

from __future__ import annotations

from datetime import datetime

from api.policies import PoliciesSchema
from service.application import program_id_for
from service.policies import policies
from tests.integration.test_api_reads import conforms
from tests.integration.test_api_support import Client



def test_a_pushed_policy_change_is_served_from_its_valid_time_on(api):
    sam = Client.new_account(api, "sam")
    r = sam.push(sam.m("init", 30, name="Sam", timezone="Europe/Berlin"),
                 sam.m("policy-set", 10, policy="pain-monitoring", params={"green_max": 3}, reason="physio"),
                 sam.m("policy-set", 9, policy="pain-monitoring", params={"green_maxx": 3}, reason="typo"),
                 sam.m("policy-set", 9, policy="fittings", params={"min_days": 30}, reason="no"))
    assert r.status_code == 200, r.json
    applied, typo, crossed = r.json["results"][1:]
    assert applied["status"] == "applied" and applied["result"]["params"]["green_max"] == 3
    assert typo["status"] == "rejected" and "green_maxx" in typo["result"]["error"]["message"], typo
    assert crossed["status"] == "rejected" and "max_days" in crossed["result"]["error"]["message"], crossed

    now = sam.get("/v1/policies")
    assert now.status_code == 200
    conforms(PoliciesSchema, now.json)
    by_id = {p["id"]: p for p in now.json["policies"]}
    assert by_id["pain-monitoring"]["params"]["green_max"] == 3 and by_id["fittings"]["changed_at"] is None
    earlier = {p["id"]: p for p in sam.get("/v1/policies", as_of="2000-01-01").json["policies"]}
    assert earlier["pain-monitoring"]["params"]["green_max"] == 2

    # the read models answer as the event store does (the CLI's path)
    ledger = api.extensions["backstory"].app.ledger(program_id_for(sam.account_id))
    mine = policies(ledger, datetime.fromisoformat(now.json["at"]))
    assert mine["policies"] == now.json["policies"]


def test_policies_refuse_unknown_parameters_and_other_accounts_see_their_own(api):
    sam = Client.new_account(api, "sam")
    alex = Client.new_account(api, "alex")
    for who in (sam, alex):
        assert who.push(who.m("init", 3, name=who.account_id[:4])).status_code == 200
    sam.push(sam.m("policy-set", 1, policy="kit", params={"rest_seconds": 60}, reason="slow"))
    assert {p["id"]: p for p in alex.get("/v1/policies").json["policies"]}["kit"]["params"]["rest_seconds"] == 30
    bad = sam.get("/v1/policies", as_of="soon")
    assert bad.status_code == 400 and "as_of" in bad.json["errors"]
    assert sam.get("/v1/policies", color="red").status_code == 400
