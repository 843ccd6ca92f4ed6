"""Every endpoint of the live OpenAPI document refuses a request without a valid token, and leaks nothing.

The operations come from the running server's ``/openapi.json``, so an
endpoint added later is covered without being named here. Each one gets no
token, malformed tokens of many shapes, tokens that look right but are not,
and a revoked device's token: 401 (403 for the revoked device), as
problem+json, with no data of the account the ids in the URL belong to, and
nothing stored.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.security._support import (
    assert_problem,
    Device,
    call,
    leaks,
    operations,
    request_parts,
    row_counts,
    token_secret,
)

pytestmark = pytest.mark.timeout(600)


def victim_values(victim) -> dict[str, str]:
    """A path parameter of the victim's for every name the API uses (an unknown name gets an account id)."""
    return {"device_id": victim.tablet.device_id, "exercise": victim.exercise_ids[0],
            "conflict": victim.conflict_ids[0], "conflict_id": victim.conflict_ids[0]}


def values_for(op, victim) -> dict[str, str]:
    known = victim_values(victim)
    return {name: known.get(name, victim.phone.account_id) for name in op.path_params}


def bad_authorizations(victim) -> dict[str, str | bytes | None]:
    token = victim.phone.token
    device_hex = victim.phone.device_id.replace("-", "")
    secret = token_secret(token)
    from service.application import program_id_for

    return {
        "no header": None,
        "empty header": "",
        "scheme only": "Bearer",
        "scheme and blank": "Bearer    ",
        "basic auth": "Basic dXNlcjpwYXNzd29yZA==",
        "valid token, not bearer": f"Token {token}",
        "valid token, no scheme": token,
        "wrong prefix": f"Bearer bs2_{device_hex}_{secret}",
        "right prefix, garbage": "Bearer bs1_garbage",
        "right prefix, garbage device": f"Bearer bs1_nothex_{secret}",
        "real device, wrong secret": f"Bearer bs1_{device_hex}_{'B' * 43}",
        "real device, short secret": f"Bearer bs1_{device_hex}_{secret[:8]}",
        "truncated token": f"Bearer {token[:-1]}",
        "token with a suffix": f"Bearer {token}x",
        "token and more words": f"Bearer {token} {token}",
        "unknown device": f"Bearer bs1_{uuid.uuid4().hex}_{secret}",
        "an account, not a device": f"Bearer bs1_{victim.phone.account_id.replace('-', '')}_{secret}",
        "a program, not a device": f"Bearer bs1_{program_id_for(victim.phone.account_id).hex}_{secret}",
        "very long": "Bearer bs1_" + "A" * 7900,
        "not latin-1 text": "Bearer bs1_".encode() + bytes(range(0x80, 0xff)),
    }


def settled(server, victim) -> dict[str, int]:
    """The store's row counts once the projections have caught up (so a background catch-up adds nothing)."""
    assert victim.phone.get("/v1/conflicts").status == 200  # a read catches the projections up
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not server.lag():
            break
        time.sleep(0.2)
    return row_counts(server.db_url)


def test_the_live_document_lists_the_endpoints_and_every_v1_one_needs_a_token(spec):
    ops = operations(spec)
    secured = {str(op) for op in ops if op.secured}
    assert len(secured) >= 12, secured  # push, pull, three device operations, seven reads at least
    assert {"POST /v1/sync/push", "GET /v1/sync/pull", "DELETE /v1/devices/{device_id}",
            "GET /v1/exercises/{exercise}/history"} <= secured
    assert [str(op) for op in ops if op.path.startswith("/v1/") and not op.secured] == []
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_public_endpoints_hold_no_account_data(server, spec, victim):
    public = [op for op in operations(spec) if not op.secured]
    assert {str(op) for op in public} >= {"GET /healthz", "GET /readyz"}
    for op in public:
        for authorization in (None, f"Bearer {victim.phone.token}"):
            reply = call(server.url, op.method, op.path, authorization=authorization)
            assert reply.status == 200, (str(op), reply)
            assert leaks(reply, victim.secrets) == [], (str(op), reply)
    assert leaks(call(server.url, "GET", "/openapi.json"), victim.secrets) == []


def test_every_endpoint_refuses_every_bad_token_with_a_401_and_no_data(server, spec, victim):
    before = settled(server, victim)
    ops = [op for op in operations(spec) if op.secured]
    checked = 0
    for what, authorization in bad_authorizations(victim).items():
        for op in ops:
            method, target, body = request_parts(spec, op, values_for(op, victim))
            reply = call(server.url, method, target, authorization=authorization, body=body)
            assert reply.status == 401, (what, str(op), reply)
            problem = assert_problem(reply, 401)
            assert reply.headers["www-authenticate"].startswith("Bearer"), (what, str(op))
            assert set(problem) <= {"type", "title", "status", "detail", "instance"}, (what, str(op), problem)
            assert leaks(reply, victim.secrets) == [], (what, str(op), reply)
            checked += 1
    assert checked >= 12 * 20
    assert settled(server, victim) == before  # nothing was stored by any refused request


@pytest.mark.parametrize("authorization", [
    "Bearer bs1_" + "A" * 9000,  # over gunicorn's limit_request_field_size (8190 bytes)
    "Bearer bs1_\x01\x02\x7fcontrol",  # characters HTTP does not allow in a header value
])
def test_headers_http_itself_refuses_are_answered_by_gunicorn_with_no_data(server, spec, victim, authorization):
    for op in operations(spec):
        method, target, body = request_parts(spec, op, values_for(op, victim))
        reply = call(server.url, method, target, authorization=authorization, body=body)
        assert reply.status in (400, 431), (str(op), reply)
        assert leaks(reply, victim.secrets) == []


def test_a_revoked_device_gets_403_on_every_endpoint_and_changes_nothing(server, spec, victim):
    before = settled(server, victim)
    for op in (op for op in operations(spec) if op.secured):
        values = values_for(op, victim)
        if "device_id" in values:
            values["device_id"] = victim.tablet.device_id  # a revoked device tries to revoke a live one
        method, target, body = request_parts(spec, op, values)
        reply = call(server.url, method, target, token=victim.revoked.token, body=body)
        problem = assert_problem(reply, 403)
        assert "revoked" in problem["detail"]
        assert leaks(reply, [s for s in victim.secrets if s != victim.revoked.device_id]) == [], (str(op), reply)
    assert settled(server, victim) == before
    devices = {d["device_id"]: d for d in victim.phone.get("/v1/devices").json()["devices"]}
    assert devices[victim.tablet.device_id]["revoked_at"] is None
    assert victim.tablet.get("/v1/program").status == 200


def test_two_authorization_headers_are_refused_whatever_they_hold(server, spec, victim, attacker):
    before = settled(server, victim)
    pairs = [(victim.phone.token, attacker.token), (attacker.token, victim.phone.token),
             (victim.phone.token, victim.phone.token), (victim.phone.token, "garbage")]
    for op in (op for op in operations(spec) if op.secured):
        method, target, body = request_parts(spec, op, values_for(op, victim))
        for pair in pairs:
            reply = call(server.url, method, target, authorization=[f"Bearer {t}" for t in pair], body=body)
            assert_problem(reply, 401)
            assert leaks(reply, victim.secrets) == [], (str(op), reply)
    assert settled(server, victim) == before


def test_a_valid_token_passes_the_same_requests(server, spec, victim):
    """The control: the requests above are refused for their token, not for their shape."""
    for op in (op for op in operations(spec) if op.secured and op.method == "GET"):
        method, target, body = request_parts(spec, op, values_for(op, victim))
        reply = call(server.url, method, target, token=victim.phone.token, body=body)
        assert reply.status == 200, (str(op), reply)


def test_a_revoked_token_stays_refused_and_a_new_pairing_does_not_revive_it(server):
    phone = Device.new_account(server, "owner")
    laptop = phone.pair("laptop")
    assert laptop.get("/v1/devices").status == 200
    assert phone.call("DELETE", f"/v1/devices/{laptop.device_id}?confirm={laptop.device_id}").status == 200
    assert_problem(laptop.get("/v1/devices"), 403)
    assert phone.call("DELETE", f"/v1/devices/{laptop.device_id}").status == 200  # again: harmless
    phone.pair("laptop")  # the same name again is a new device with a new token
    assert_problem(laptop.get("/v1/devices"), 403)
    assert_problem(laptop.push(laptop.m("break", kind="walk")), 403)
