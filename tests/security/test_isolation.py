"""Another account's valid token reaches nothing of the victim's, on every endpoint of the live document.

The attacker holds a working token of its own account. Every operation is
tried with every id of the victim's in its path (devices, exercises, facts,
conflicts, the account, the program) and by the victim's exercise names and id
prefixes; pushes name the victim's exercises, facts and conflicts, and reuse
the victim's mutation ids; pulls use the victim's cursor. Every answer is a
404 (or the attacker's own data), with nothing of the victim in it, and the
victim's program, history, sessions, devices and feed are unchanged.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.security._support import assert_problem, call, leaks, operations, request_parts

pytestmark = pytest.mark.timeout(600)

READS = ("/v1/program", "/v1/history", "/v1/sessions", "/v1/recap", "/v1/signature", "/v1/conflicts",
         "/v1/devices", "/v1/tension", "/v1/signature/candidates", "/v1/kit", "/v1/flares", "/v1/day", "/v1/breaks",
         "/v1/pending", "/v1/outcomes", "/v1/export/fhir")
#: When an answer was asked, not what it says: left out of the before/after comparison.
MOMENTS = ("as_of", "until", "since", "at")


def victim_view(victim) -> dict:
    """Everything the victim's own token reads, to compare before and after an attack."""
    view = {path: victim.phone.get(path).json() for path in READS}
    for exercise_id in victim.exercise_ids:
        view[exercise_id] = victim.phone.get(f"/v1/exercises/{exercise_id}/history").json()
    view["feed"] = victim.phone.pull_all()[0]
    for name in READS:
        for moment in MOMENTS:
            view[name].pop(moment, None)
    return view


def path_values(victim) -> list[str]:
    """What an attacker may put in a URL: every victim id, names, id prefixes, and a few tricks."""
    return [*victim.ids, *victim.words, *(i[:8] for i in victim.exercise_ids), victim.exercise_ids[0].upper(),
            victim.words[1].lower(), f"../{victim.exercise_ids[0]}", f"{victim.tablet.device_id}/../"]


def attacker_body(spec, op, attacker):
    """A valid body for the attacker's own account (its next seq for a push)."""
    if op.body_schema is None:
        return None
    return request_parts(spec, op, {}, {"seq": attacker.seq + 1})[2]


def test_victim_ids_in_any_path_are_404_and_leak_nothing(server, spec, victim, attacker):
    before = victim_view(victim)
    ops = [op for op in operations(spec) if op.secured and op.path_params]
    assert {str(op) for op in ops} >= {"DELETE /v1/devices/{device_id}", "GET /v1/exercises/{exercise}/history"}
    tried = 0
    for op in ops:
        for value in path_values(victim):
            target = op.target({name: value for name in op.path_params})
            reply = attacker.call(op.method, target, body=attacker_body(spec, op, attacker))
            assert reply.status == 404, (str(op), value, reply)
            assert reply.mimetype == "application/problem+json", (str(op), value, reply)
            echoed = [s for s in victim.secrets if s.lower() in value.lower()]  # the attacker's own input
            assert leaks(reply, [s for s in victim.secrets if s not in echoed]) == [], (str(op), value, reply)
            tried += 1
    assert tried >= 2 * 20
    assert victim_view(victim) == before
    assert victim.tablet.get("/v1/devices").status == 200  # the device the attacker tried to revoke still works


def test_every_endpoint_answers_the_attacker_with_its_own_data_only(server, spec, victim, attacker):
    before = victim_view(victim)
    # the victim's own outcomes and FHIR bundle hold the PSFS activity's name it gave, so their absence below counts
    assert all("qzx lift my child" in json.dumps(before[path]) for path in ("/v1/outcomes", "/v1/export/fhir"))
    for op in (op for op in operations(spec) if op.secured):
        values = {name: victim.exercise_ids[0] if name == "exercise" else victim.tablet.device_id
                  for name in op.path_params}
        body = attacker_body(spec, op, attacker)
        reply = attacker.call(op.method, op.target(values), body=body)
        assert reply.status < 500, (str(op), reply)
        echoed = set(values.values())  # a 404 may quote the attacker's own URL back
        assert leaks(reply, [s for s in victim.secrets if s not in echoed]) == [], (str(op), reply)
        if op.path_params:
            assert_problem(reply, 404)
        if op.method == "POST" and op.path.endswith("/push") and reply.status == 200:
            attacker.seq += len(body["mutations"])
    own = attacker.get("/v1/program").json()
    assert [e["name"] for e in own["exercises"]] == ["Plain plank"]
    assert victim_view(victim) == before


def test_pushes_naming_the_victims_things_are_rejected_and_change_nothing(server, victim, attacker):
    before = victim_view(victim)
    squat_id = victim.exercise_ids[0]
    naming = [attacker.m("log", exercise=squat_id, pain_before=3),
              attacker.m("log", exercise=squat_id[:8], pain_before=3),
              attacker.m("log", exercise=victim.words[1], pain_before=3),
              attacker.m("regress", exercise=squat_id, sets=1, reason="x"),
              attacker.m("retire", exercise=squat_id, reason="x"),
              attacker.m("next-day", exercise=squat_id, verdict="worse", pain=9),
              attacker.m("correct", fact=victim.fact_ids[0], pain_after=9),
              attacker.m("void", fact=victim.fact_ids[0], reason="x"),
              attacker.m("resolve", conflict=victim.conflict_ids[0], keep_current=True),
              attacker.m("resolve", conflict=victim.conflict_ids[0][:8], apply_mine=True)]
    reply = attacker.push(*naming)
    assert reply.status == 200, reply
    results = reply.json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * len(naming), results
    assert leaks(reply, [s for s in victim.secrets if s not in (squat_id, victim.fact_ids[0],
                                                                 victim.conflict_ids[0], victim.words[1])]) == []
    assert victim_view(victim) == before


def test_reusing_the_victims_mutation_ids_makes_the_attackers_own_changes(server, victim, attacker):
    """Ids are the client's: a mutation id the victim used is a new mutation of the attacker's account."""
    before = victim_view(victim)
    victim_adds = [m for m in victim.phone.sent if m["type"] in ("add", "log", "checkin")]
    replays = []
    for original in victim_adds:
        again = attacker.m(original["type"], **({"name": "Copied " + str(attacker.seq), "position": "1:supine",
                                                 "sets": 1, "reps": 1} if original["type"] == "add" else
                                                {"exercise": "Plain plank", "pain_before": 1}
                                                if original["type"] == "log" else {"pain": 1}))
        again["mutation_id"] = original["mutation_id"]
        replays.append(again)
    reply = attacker.push(*replays)
    assert reply.status == 200, reply
    results = reply.json()["results"]
    assert [r["status"] for r in results] == ["applied"] * len(replays), results  # never the victim's duplicate
    assert leaks(reply, [s for s in victim.secrets if s not in victim.mutation_ids and s not in victim.ids]) == []
    for path in READS:
        assert leaks(attacker.get(path), victim.words) == [], path
    entries, _ = attacker.pull_all()
    assert not any(victim.words[1] in json.dumps(e) for e in entries)
    assert victim_view(victim) == before


def _cursor(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_cursor_of_another_account_is_refused(server, victim, attacker):
    problem = assert_problem(attacker.get("/v1/sync/pull", after=victim.cursor), 400, field="after")
    assert "another account" in problem["detail"]
    padded = victim.cursor + "=" * (-len(victim.cursor) % 4)
    forged = json.loads(base64.urlsafe_b64decode(padded))
    assert forged["acct"] == victim.phone.account_id
    for data in ({**forged, "pos": 0}, {**forged, "acct": forged["acct"].upper()},
                 {**forged, "acct": victim.phone.account_id.replace("-", "")}):
        reply = attacker.get("/v1/sync/pull", after=_cursor(data))
        assert_problem(reply, 400, field="after")
        assert leaks(reply, victim.secrets) == []
    own = attacker.get("/v1/sync/pull", after=_cursor({**forged, "acct": attacker.account_id, "pos": 0}))
    assert own.status == 200 and leaks(own, victim.secrets) == []
    assert {e["device_id"] for e in own.json()["entries"]} <= {attacker.device_id, None}


def test_the_attackers_own_device_operations_stay_in_its_account(server, victim, attacker):
    before = victim_view(victim)
    paired = attacker.pair("mallory tablet")
    listed = attacker.get("/v1/devices").json()["devices"]
    assert {d["device_id"] for d in listed} == {attacker.device_id, paired.device_id}
    assert_problem(paired.call("DELETE", f"/v1/devices/{victim.phone.device_id}"), 404)
    assert attacker.call("DELETE", f"/v1/devices/{paired.device_id}?confirm={paired.device_id}").status == 200
    assert victim_view(victim) == before
    assert call(server.url, "GET", "/v1/devices", token=victim.phone.token).status == 200


def test_a_forged_cursor_of_ones_own_account_is_refused_or_reads_only_ones_own_feed(server, attacker):
    _, cursor = attacker.pull_all()
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    for pos in (-1, 2**63, 10**100, 1.5, True, "0", None):
        assert_problem(attacker.get("/v1/sync/pull", after=_cursor({**data, "pos": pos})), 400, field="after")
    for forged in ({**data, "v": 2}, {**data, "db": "another"}, {k: v for k, v in data.items() if k != "acct"},
                   [data], "text"):
        assert_problem(attacker.get("/v1/sync/pull", after=_cursor(forged)), 400, field="after")
    last = attacker.get("/v1/sync/pull", after=_cursor({**data, "pos": 2**63 - 1}))
    assert last.status == 200 and last.json()["entries"] == [] and not last.json()["has_more"]
