"""The sync API's protocol through Flask's test client, on every configured backend.

Push (idempotency, lost responses, seq gaps, caps), errors as problem+json,
authentication and revocation, rate limiting, the request log.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.test_api_support import PROBLEM, Client, fresh_app



@pytest.fixture
def sam(api):
    return Client.new_account(api, "sam")


def started(client: Client) -> Client:
    out = client.push(client.m("init", name="Sam", timezone="Europe/Paris", days_ago=30),
                      client.m("add", name="Bridge", position="1:supine", sets=3, reps=10, days_ago=29),
                      client.m("add", name="Bird dog", position="2:quadruped", sets=3, reps=6, days_ago=29))
    assert out.status_code == 200, out.json
    assert [r["status"] for r in out.json["results"]] == ["applied"] * 3
    return client


def assert_problem(response, status: int, *fields: str) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    for name in fields:
        assert name in body.get("errors", {}), (name, body)
    return body


# ----- push --------------------------------------------------------------------------------------


def test_push_twice_applies_once(api, sam):
    started(sam)
    batch = [sam.m("log", exercise="Bridge", pain_before=4, pain_after=2, days_ago=1),
             sam.m("break", kind="walk", seconds=40)]
    first = sam.push(*batch)
    head = api.extensions["backstory"].app.recorder.max_notification_id()
    again = sam.push(*batch)
    assert first.status_code == again.status_code == 200
    assert [r["status"] for r in first.json["results"]] == ["applied", "applied"]
    assert [r["status"] for r in again.json["results"]] == ["duplicate", "duplicate"]
    for a, b in zip(first.json["results"], again.json["results"]):
        assert b["mutation_id"] == a["mutation_id"] and b["seq"] == a["seq"]
        assert b["result"] == a["result"] and b["original_status"] == "applied"
    assert first.json["last_seq"] == again.json["last_seq"] == 5
    assert api.extensions["backstory"].app.recorder.max_notification_id() == head


def test_a_retry_after_a_lost_response_gets_the_original_results(api, sam):
    started(sam)
    batch = [sam.m("log", exercise="Bird dog", pain_before=4, pain_after=2),  # (a Bridge session awaiting its
             sam.m("progress", exercise="Bridge", sets=4, reason="easy now", base_version=3),  # next day: guarded)
             sam.m("log", exercise="Nope", pain_before=3)]
    lost = sam.push(*batch).json  # the device never saw this answer
    retried = sam.push(*batch)
    assert retried.status_code == 200
    assert [r["status"] for r in lost["results"]] == ["applied", "applied", "rejected"]
    assert [r["status"] for r in retried.json["results"]] == ["duplicate"] * 3
    assert [r["original_status"] for r in retried.json["results"]] == ["applied", "applied", "rejected"]
    assert [r["result"] for r in retried.json["results"]] == [r["result"] for r in lost["results"]]
    assert retried.json["last_seq"] == lost["last_seq"] == 6
    # the queue moves on after the retry
    nxt = sam.push(sam.m("break", kind="stand", seconds=30))
    assert nxt.json["results"][0]["status"] == "applied" and nxt.json["last_seq"] == 7
    # the program has the progression once
    program = sam.get("/v1/program").json
    bridge = next(e for e in program["exercises"] if e["name"] == "Bridge")
    assert bridge["prescription"]["sets"] == 4


def test_a_seq_gap_is_409_with_the_expected_seq_and_stores_nothing(api, sam):
    started(sam)
    head = api.extensions["backstory"].app.recorder.max_notification_id()
    sam.seq += 4
    r = sam.push(sam.m("break", kind="walk", seconds=40), sam.m("break", kind="walk", seconds=40))
    body = assert_problem(r, 409)
    assert body["expected_seq"] == 4
    assert api.extensions["backstory"].app.recorder.max_notification_id() == head
    sam.seq = 3
    assert sam.push(sam.m("break", kind="walk", seconds=40)).json["last_seq"] == 4


def test_non_contiguous_seqs_in_one_batch_are_409(sam):
    started(sam)
    a, b = sam.m("break", kind="walk"), sam.m("break", kind="walk")
    body = assert_problem(sam.push(b, a), 409)
    assert body["expected_seq"] == 4


def test_domain_problems_are_per_mutation_results_never_http_errors(sam):
    started(sam)
    r = sam.push(sam.m("log", exercise="Bridge", pain_before=11),
                 sam.m("log", exercise="Bridge", bogus=1),
                 sam.m("promote", exercise="Bridge"),
                 sam.m("break", kind="walk", seconds=40))
    assert r.status_code == 200
    statuses = [x["status"] for x in r.json["results"]]
    assert statuses == ["rejected", "rejected", "rejected", "applied"]
    assert "pain_before" in r.json["results"][0]["reason"]
    assert "bogus" in r.json["results"][1]["reason"]
    assert r.json["last_seq"] == 7


def test_an_empty_push_answers_the_last_seq(sam):
    started(sam)
    r = sam.post("/v1/sync/push", {"mutations": []})
    assert r.status_code == 200 and r.json == {"results": [], "last_seq": 3}


def test_a_stale_progression_is_a_conflict_shown_to_every_device(api, sam):
    started(sam)
    tablet = sam.pair("tablet")
    assert sam.push(sam.m("regress", exercise="Bridge", sets=2, reason="flare", base_version=3)).status_code == 200
    r = tablet.push(tablet.m("progress", exercise="Bridge", sets=4, reason="felt good", base_version=3))
    result = r.json["results"][0]
    assert result["status"] == "conflict" and result["conflict"]["exercise"] == "Bridge" and result["reason"]
    for device in (sam, tablet):
        conflicts = device.get("/v1/conflicts").json["conflicts"]
        assert len(conflicts) == 1


# ----- malformed, unknown, oversized ---------------------------------------------------------------


def good(client: Client, **overrides) -> dict:
    body = {"mutation_id": str(uuid.uuid4()), "seq": client.seq + 1, "type": "break",
            "occurred_at": datetime.now(UTC).isoformat(), "base_version": None,
            "args": {"kind": "walk", "seconds": 40}}
    body.update(overrides)
    return body


@pytest.mark.parametrize("overrides, field", [
    ({"mutation_id": "not-a-uuid"}, "mutations.0.mutation_id"),
    ({"seq": 0}, "mutations.0.seq"),
    ({"seq": "1"}, "mutations.0.seq"),
    ({"seq": 1.5}, "mutations.0.seq"),
    ({"type": "dance"}, "mutations.0.type"),
    ({"occurred_at": "yesterday"}, "mutations.0.occurred_at"),
    ({"occurred_at": "2026-01-01T10:00:00"}, "mutations.0.occurred_at"),  # no offset
    ({"base_version": "3"}, "mutations.0.base_version"),
    ({"args": ["walk"]}, "mutations.0.args"),
    ({"colour": "red"}, "mutations.0.colour"),
])
def test_a_malformed_mutation_is_400_naming_the_field(api, sam, overrides, field):
    started(sam)
    head = api.extensions["backstory"].app.recorder.max_notification_id()
    body = assert_problem(sam.post("/v1/sync/push", {"mutations": [good(sam, **overrides)]}), 400, field)
    assert field in body["detail"]
    assert api.extensions["backstory"].app.recorder.max_notification_id() == head


def test_missing_fields_are_each_named(sam):
    body = assert_problem(sam.post("/v1/sync/push", {"mutations": [{"args": {}}]}), 400,
                          "mutations.0.mutation_id", "mutations.0.seq", "mutations.0.type", "mutations.0.occurred_at")
    assert body["title"]
    assert_problem(sam.post("/v1/sync/push", {}), 400, "mutations")
    assert_problem(sam.post("/v1/sync/push", {"mutations": "all of them"}), 400, "mutations")
    assert_problem(sam.post("/v1/sync/push", [1, 2]), 400, "body")


def test_unknown_top_level_fields_are_refused(sam):
    assert_problem(sam.post("/v1/sync/push", {"mutations": [], "since": 3}), 400, "since")
    assert_problem(sam.post("/v1/devices", {"name": "x", "admin": True}), 400, "admin")
    assert_problem(sam.get("/v1/sync/pull?limit=5&sort=desc"), 400, "sort")
    assert_problem(sam.get("/v1/signature?x=1"), 400, "x")


def test_a_mutation_too_far_in_the_future_is_rejected_alone_and_never_blocks_the_queue(sam):
    """Issue 9 item 3: a device whose clock ran fast had every later push refused (400), and no pull."""
    started(sam)
    ahead = (datetime.now(UTC) + timedelta(minutes=11)).isoformat()
    fine = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    batch = [good(sam, occurred_at=fine), good(sam, seq=sam.seq + 2, occurred_at=ahead),
             good(sam, seq=sam.seq + 3, type="checkin", args={"pain": 3})]
    out = sam.post("/v1/sync/push", {"mutations": batch})
    assert out.status_code == 200, out.get_data(as_text=True)
    assert [r["status"] for r in out.json["results"]] == ["applied", "rejected", "applied"]
    rejected = out.json["results"][1]
    assert "occurred_at" in rejected["reason"] and "10 minutes" in rejected["reason"]
    assert rejected["result"]["error"]["field"] == "occurred_at"
    assert out.json["last_seq"] == sam.seq + 3
    # recorded like any rejection: the same batch again answers it with its original outcome
    again = sam.post("/v1/sync/push", {"mutations": batch})
    assert [(r["status"], r["original_status"]) for r in again.json["results"]] == [
        ("duplicate", "applied"), ("duplicate", "rejected"), ("duplicate", "applied")]
    # and the pull goes on, carrying the rejection to every device
    feed = sam.get("/v1/sync/pull").json["entries"]
    outcome = [e for e in feed if e["mutation_id"] == batch[1]["mutation_id"]]
    assert [e["data"]["status"] for e in outcome] == ["rejected"]


def test_a_base_version_above_the_programs_is_rejected_per_mutation(sam):
    """Issue 9 item 16: a base_version from the future skipped conflict detection."""
    started(sam)  # program version 3
    out = sam.push(sam.m("progress", exercise="Bridge", sets=4, reason="easy", base_version=99),
                   sam.m("progress", exercise="Bridge", reps=12, reason="easy", base_version=3),
                   sam.m("log", exercise="Bridge", pain_before=3, base_version=99))
    assert out.status_code == 200, out.json
    assert [r["status"] for r in out.json["results"]] == ["rejected", "applied", "applied"], out.json
    reason = out.json["results"][0]["reason"]
    assert "base_version" in reason and "99" in reason and "(3)" in reason
    program = sam.get("/v1/program").json
    [bridge] = [e for e in program["exercises"] if e["name"] == "Bridge"]
    assert (bridge["prescription"]["sets"], bridge["prescription"]["reps"]) == (3, 12)


def test_bodies_that_are_not_json(sam):
    r = sam.client.post("/v1/sync/push", data=b'{"mutations": [', headers={**sam.headers,
                                                                        "Content-Type": "application/json"})
    assert_problem(r, 400, "body")
    r = sam.client.post("/v1/sync/push", data=b'{"mutations": [], "x": NaN}',
                        headers={**sam.headers, "Content-Type": "application/json"})
    assert_problem(r, 400, "body")
    r = sam.client.post("/v1/sync/push", data=b"mutations=1", headers={**sam.headers, "Content-Type": "text/plain"})
    assert_problem(r, 415, "body")
    r = sam.client.post("/v1/sync/push", data=b"[" * 100_000, headers={**sam.headers,
                                                                      "Content-Type": "application/json"})
    assert_problem(r, 400, "body")


def test_oversized_payloads_are_413(api, sam):
    started(sam)
    huge = b'{"mutations": [], "pad": "' + b"x" * (1024 * 1024) + b'"}'
    r = sam.client.post("/v1/sync/push", data=huge, headers={**sam.headers, "Content-Type": "application/json"})
    body = assert_problem(r, 413, "body")
    assert body["max_bytes"] == 1024 * 1024
    many = [good(sam, seq=sam.seq + 1 + i) for i in range(501)]
    assert_problem(sam.post("/v1/sync/push", {"mutations": many}), 413, "mutations")
    big_args = good(sam, args={"kind": "walk", "note": "y" * (64 * 1024)})
    body = assert_problem(sam.post("/v1/sync/push", {"mutations": [good(sam), big_args]}), 413, "mutations.1.args")
    assert body["max_bytes"] == 64 * 1024
    assert sam.push(sam.m("break", kind="walk")).json["last_seq"] == 4  # nothing of those was stored
    long_query = sam.get("/v1/sync/pull?after=" + "a" * 5000)
    assert_problem(long_query, 414)


def test_500_full_batches_are_accepted(sam):
    started(sam)
    r = sam.push(*[sam.m("break", kind="walk", seconds=30, days_ago=i / 100) for i in range(500)])
    assert r.status_code == 200 and r.json["last_seq"] == 503
    assert {x["status"] for x in r.json["results"]} == {"applied"}


# ----- tokens --------------------------------------------------------------------------------------


def every_endpoint(client: Client) -> list[tuple[str, str, dict | None]]:
    return [
        ("POST", "/v1/sync/push", {"mutations": [good(client)]}),
        ("GET", "/v1/sync/pull", None),
        ("POST", "/v1/devices", {"name": "intruder"}),
        ("GET", "/v1/devices", None),
        ("DELETE", f"/v1/devices/{uuid.uuid4()}", None),
        ("GET", "/v1/program", None),
        ("GET", "/v1/history", None),
        ("GET", "/v1/exercises/Bridge/history", None),
        ("GET", "/v1/sessions", None),
        ("GET", "/v1/recap", None),
        ("GET", "/v1/signature", None),
        ("GET", "/v1/conflicts", None),
    ]


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer nonsense", "Token bs1_x_y",
    f"Bearer bs1_{uuid.uuid4().hex}_{'A' * 43}",  # well formed, unknown device
])
def test_missing_malformed_and_unknown_tokens_are_401(api, sam, authorization):
    started(sam)
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path, body in every_endpoint(sam):
        r = sam.client.open(path, method=method, json=body, headers=headers)
        problem = assert_problem(r, 401)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert "entries" not in problem and "devices" not in problem


def test_a_token_with_a_wrong_secret_is_401(api, sam):
    prefix, device, _secret = sam.token.split("_", 2)
    forged = f"{prefix}_{device}_{'B' * 43}"
    assert_problem(sam.client.get("/v1/devices", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_a_revoked_device_gets_403_everywhere(api, sam):
    started(sam)
    tablet = sam.pair("tablet")
    assert tablet.get("/v1/devices").status_code == 200
    r = sam.client.delete(f"/v1/devices/{tablet.device_id}?confirm={tablet.device_id}", headers=sam.headers)
    assert r.status_code == 200 and r.json == {"device_id": tablet.device_id, "revoked": True}
    for method, path, body in every_endpoint(tablet):
        assert_problem(tablet.client.open(path, method=method, json=body, headers=tablet.headers), 403)
    listed = {d["device_id"]: d for d in sam.get("/v1/devices").json["devices"]}
    assert listed[tablet.device_id]["revoked_at"] is not None
    again = sam.client.delete(f"/v1/devices/{tablet.device_id}", headers=sam.headers)
    assert again.status_code == 200  # revoking twice is harmless


def test_pairing_gives_a_working_token_once(api, sam):
    r = sam.post("/v1/devices", {"name": "laptop"})
    assert r.status_code == 201 and r.json["token"].startswith("bs1_") and r.json["device_id"]
    listed = sam.get("/v1/devices").json["devices"]
    assert {d["name"] for d in listed} == {"first device", "laptop"}
    assert all("token" not in d for d in listed)
    assert [d["current"] for d in listed if d["name"] == "first device"] == [True]
    assert_problem(sam.post("/v1/devices", {"name": ""}), 400, "name")
    assert_problem(sam.post("/v1/devices", {"name": "x" * 201}), 400, "name")
    assert_problem(sam.post("/v1/devices", {"name": "bad\u0000name"}), 400, "name")
    # a device's name is shown on every device: held to the rules of names (issue 9 item 16)
    for odd, named in (("evil\u202eliam", "U+202E RIGHT-TO-LEFT OVERRIDE"), ("zero\u200bwidth", "U+200B ZERO WIDTH SPACE")):
        assert assert_problem(sam.post("/v1/devices", {"name": odd}), 400, "name")["detail"] == f"name: {named} is not allowed"
    nfd = sam.post("/v1/devices", {"name": "Cafe\u0301 tablet"})
    assert nfd.status_code == 201 and nfd.json["name"] == "Caf\u00e9 tablet"
    assert "Caf\u00e9 tablet" in {d["name"] for d in sam.get("/v1/devices").json["devices"]}


# ----- errors are problems -------------------------------------------------------------------------


def test_unknown_paths_and_methods_are_problems(api, sam):
    assert_problem(sam.get("/v1/nothing-here"), 404)
    assert_problem(sam.client.get("/nothing"), 404)
    r = sam.client.put("/v1/sync/push", headers=sam.headers)
    assert_problem(r, 405)
    assert "POST" in r.headers["Allow"]
    assert_problem(sam.client.delete("/v1/devices/not-a-uuid", headers=sam.headers), 404)


def test_an_unexpected_failure_is_a_500_problem_without_internals(store_url):
    class Broken:
        def __init__(self, app, url):
            pass

        def catch_up(self, limit=None):
            return 0

        def database_id(self):
            raise RuntimeError("secret detail: Sam's pain is 7")

        def close(self):
            pass

    flask_app = fresh_app(store_url, PROJECTIONS_FACTORY=Broken)
    try:
        client = Client.new_account(flask_app, "sam")
        r = client.get("/v1/sync/pull")
        body = assert_problem(r, 500)
        assert "secret" not in r.get_data(as_text=True) and "RuntimeError" not in r.get_data(as_text=True)
        assert body["instance"].startswith("urn:uuid:")
    finally:
        flask_app.extensions["backstory"].close()


def test_a_failing_catch_up_fails_neither_push_nor_pull(store_url, caplog):
    from tests.integration.test_api_support import projections_factory

    real = projections_factory()

    class Flaky(real):
        def catch_up(self, limit=None):
            raise RuntimeError("projection store down")

    flask_app = fresh_app(store_url, PROJECTIONS_FACTORY=Flaky)
    try:
        client = Client.new_account(flask_app, "sam")
        with caplog.at_level(logging.WARNING, logger="backstory.api"):
            r = client.push(client.m("init", name="Sam"))
            assert r.status_code == 200 and r.json["results"][0]["status"] == "applied"
            assert client.get("/v1/sync/pull").status_code == 200  # served from where the feed got to
        assert any("catch-up failed" in rec.getMessage() for rec in caplog.records)
    finally:
        flask_app.extensions["backstory"].close()


# ----- rate limit, health, log ---------------------------------------------------------------------


def test_requests_over_the_rate_get_429_with_retry_after(store_url):
    flask_app = fresh_app(store_url, RATE_LIMIT=0.5, RATE_BURST=3)
    try:
        sam = Client.new_account(flask_app, "sam")
        other = Client.new_account(flask_app, "alex")
        codes = [sam.get("/v1/devices").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = sam.get("/v1/devices")
        assert_problem(r, 429)
        assert 1 <= int(r.headers["Retry-After"]) <= 2
        assert other.get("/v1/devices").status_code == 200  # per device
        bad = {"Authorization": f"Bearer bs1_{uuid.uuid4().hex}_{'A' * 43}"}
        codes = [flask_app.test_client().get("/v1/devices", headers=bad).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]  # failed attempts are limited per address...
        assert other.get("/v1/devices").status_code == 200  # ...and never slow a valid token
    finally:
        flask_app.extensions["backstory"].close()


OPERATOR = "an-operator-token-for-tests"


def test_healthz_and_readyz(store_url):
    api = fresh_app(store_url, OPERATOR_TOKEN=OPERATOR)
    try:
        started(Client.new_account(api, "sam"))
        r = api.test_client().get("/healthz")
        assert r.status_code == 200 and r.json == {"status": "ok"}
        r = api.test_client().get("/readyz")
        assert r.status_code == 200 and r.json == {"status": "ready"}  # how busy the store is: for the operator
        r = api.test_client().get("/readyz", headers={"Authorization": f"Bearer {OPERATOR}"})
        assert r.status_code == 200 and r.json["status"] == "ready" and r.json["database"] == "ok"
        assert isinstance(r.json["projections"], list) and r.json["projections"]
        assert r.json["lag"] is None or r.json["lag"] >= 0
    finally:
        api.extensions["backstory"].close()


def test_readyz_is_503_when_projections_lag_too_much(store_url):
    flask_app = fresh_app(store_url, READY_MAX_LAG=0, OPERATOR_TOKEN=OPERATOR)
    try:
        client = Client.new_account(flask_app, "sam")
        # create_account wrote events the projections have not caught up with yet
        r = flask_app.test_client().get("/readyz", headers={"Authorization": f"Bearer {OPERATOR}"})
        lag = max((p["lag"] or 0) for p in flask_app.extensions["backstory"].projections.status())
        assert lag > 0
        assert_problem(r, 503)
        assert r.json["lag"] == lag and r.headers["Retry-After"]
        r = flask_app.test_client().get("/readyz")
        assert_problem(r, 503)
        assert "lag" not in r.json and r.json["detail"] == "the projections lag too far behind the store"
        client.get("/v1/conflicts")  # a read catches up
        assert flask_app.test_client().get("/readyz").status_code == 200
    finally:
        flask_app.extensions["backstory"].close()


def test_the_request_log_has_no_tokens_names_or_query_strings(api, sam, caplog):
    with caplog.at_level(logging.INFO, logger="backstory"):
        started(sam)
        sam.push(sam.m("log", exercise="Bridge", pain_before=7, note="Sam's secret note"))
        sam.get("/v1/exercises/Bridge/history?since=2026-01-01")
        sam.client.get("/v1/devices", headers={"Authorization": "Bearer bs1_zzz_leaked-secret-token-text"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST /v1/sync/push 200" in text
    assert f"device={sam.device_id}" in text
    assert "/v1/exercises/<exercise>/history" in text and "2026-01-01" not in text
    for secret in (sam.token, "leaked-secret-token-text", "Sam", "secret note", "Bridge", "pain"):
        assert secret not in text, secret


# ----- hostile input -------------------------------------------------------------------------------


def test_hostile_input_is_kept_verbatim_or_refused_clearly_never_a_5xx(api, sam):
    started(sam)
    odd = "Robert'); DROP TABLE events;-- <script>alert(1)</script> \x1b[31m\t\r\n \u202e \U0001f9b4"
    big = "é" * 30_000  # 60 KB of UTF-8, under the args cap
    named = "Robert'); DROP TABLE events;-- <script>alert(1)</script> \U0001f9b4"
    r = sam.push(sam.m("log", 1, exercise="Bridge", pain_before=3, note=odd),
                 sam.m("checkin", 1, pain=2, note=big),
                 sam.m("add", 1, name=named, position="1:supine", sets=1, reps=1))
    assert r.status_code == 200 and [x["status"] for x in r.json["results"]] == ["applied"] * 3, r.json
    sessions = sam.get("/v1/sessions").json["sessions"]
    assert [s["note"] for s in sessions] == [odd]
    assert named in {e["name"] for e in sam.get("/v1/program").json["exercises"]}
    stored = [e for e in sam.get("/v1/sync/pull", limit=1000).json["entries"] if e["kind"] == "outcome"]
    assert json.loads(stored[-2]["data"]["stored"]["state"])["args"]["note"] == big

    def body(args: str, at: str | None = None) -> bytes:
        return ('{"mutations": [{"mutation_id": "%s", "seq": 7, "type": "checkin", "occurred_at": "%s", '
                '"args": %s}]}' % (uuid.uuid4(), at or datetime.now(UTC).isoformat(), args)).encode()

    refused = {
        "NUL in a value": (body('{"pain": 1, "note": "a\\u0000b"}'), "mutations.0.args.note"),
        "NUL in a key": (body('{"pa\\u0000in": 1}'), "mutations.0.args.?"),
        "lone surrogate": (body('{"note": "\\ud800"}'), "mutations.0.args.note"),
        "too deep": (body('{"travels": ' + "[" * 40 + "]" * 40 + "}"), None),
        "infinite float": (body('{"pain": 1e400}'), "body"),
        "huge integer": (body('{"pain": ' + "9" * 5000 + "}"), "body"),
        "year 1": (body('{"pain": 1}', "0001-01-01T00:00:00+14:00"), "mutations.0.occurred_at"),
    }
    for what, (raw, field) in refused.items():
        r = sam.client.post("/v1/sync/push", data=raw, headers={**sam.headers, "Content-Type": "application/json"})
        problem = assert_problem(r, 400, *([field] if field else []))
        assert problem["errors"], what
    for path, query in [("/v1/program", {"as_of": "0001-01-01T00:00:00+14:00"}),
                        ("/v1/program", {"known_at": "9999-12-31T23:59:59-14:00"}),
                        ("/v1/history", {"since": "0001-01-01", "until": "9999-12-31"}),
                        ("/v1/recap", {"since": "0001-01-01", "until": "9999-12-31"}),
                        ("/v1/sessions", {"since": "9999-12-31T00:00:00"}),
                        ("/v1/exercises/%00/history", {}), ("/v1/exercises/%ED%A0%80/history", {}),
                        ("/v1/sync/pull", {"after": "\u0000"}), ("/v1/sync/pull", {"limit": "9" * 40})]:
        r = sam.get(path, **query)
        assert r.status_code < 500, (path, query, r.status_code)
        if r.status_code >= 400:
            assert r.mimetype == PROBLEM
    assert max(p["lag"] for p in api.extensions["backstory"].projections.status()) == 0  # nothing above stopped them
    assert sam.push(sam.m("break", kind="walk")).json["last_seq"] == 7
    # a name must not hold control or bidi characters (they make look-alike or backwards names)
    result = sam.push(sam.m("add", 1, name=odd[:60], position="1:supine", sets=1, reps=1)).json["results"][0]
    assert result["status"] == "rejected" and result["reason"] == "name: U+001B ESCAPE is not allowed", result
