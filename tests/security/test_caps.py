"""The size caps of ``api.limits`` hold on a real server: 413, 414 or 400 as problem+json, never a 5xx, nothing stored.

Bodies over 1 MiB (with a Content-Length, and chunked without one), pushes of
more than 500 mutations, ``args`` over 64 KiB, query strings over 4 KiB,
JSON nested deeper than 32 levels, and every endpoint taking a body is tried.
After each, the store's rows are counted: a refused request stored nothing,
and the next normal push still works.
"""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import pytest

from api import limits
from tests.security._support import Device, Reply, assert_problem, call, operations, row_counts

pytestmark = pytest.mark.timeout(600)
MiB = 1024 * 1024


@pytest.fixture
def device(server) -> Device:
    device = Device.new_account(server, "capped")
    assert {r["status"] for r in device.push_ok(device.m("init", 2, name="Capped"))} == {"applied"}
    return device


def settled(server, device) -> dict[str, int]:
    assert device.get("/v1/conflicts").status == 200  # a read catches the projections up
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.lag():
        time.sleep(0.2)
    return row_counts(server.db_url)


def chunked(base: str, target: str, token: str, chunks, content_type: str = "application/json") -> Reply:
    """A POST with ``Transfer-Encoding: chunked``: the server cannot know the size before it reads."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest("POST", target)
        for key, value in (("Authorization", f"Bearer {token}"), ("Content-Type", content_type),
                           ("Transfer-Encoding", "chunked"), ("Connection", "close")):
            conn.putheader(key, value)
        conn.endheaders()
        try:
            for chunk in chunks:
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    except (OSError, http.client.HTTPException) as e:
        return Reply(0, {}, b"", f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def body_targets(spec) -> list[str]:
    targets = [op.path for op in operations(spec) if op.body_schema is not None and op.secured]
    assert "/v1/sync/push" in targets and "/v1/devices" in targets
    return targets


def test_bodies_over_1_mib_are_413_on_every_endpoint_with_a_body(server, spec, device):
    before = settled(server, device)
    pad = b'{"mutations": [], "name": "' + b"x" * (MiB + 10) + b'"}'
    for target in body_targets(spec):
        reply = device.call("POST", target, raw=pad)
        if reply.status == 0:  # the server answered 413 and closed before the whole body was sent
            continue
        problem = assert_problem(reply, 413, field="body")
        assert problem["max_bytes"] == limits.MAX_BODY_BYTES
        streamed = chunked(server.url, target, device.token, [pad[i:i + 65536] for i in range(0, len(pad), 65536)])
        assert streamed.status in (413, 0), (target, streamed)
        if streamed.status:
            assert_problem(streamed, 413)
    assert settled(server, device) == before
    assert device.push_ok(device.m("break", kind="walk"))[0]["status"] == "applied"


def test_a_chunked_body_under_the_cap_is_read_whole(server, device):
    raw = b'{"mutations": [%s]}' % (
        b'{"mutation_id": "%s", "seq": %d, "type": "break", "occurred_at": "%s", "args": {"kind": "walk"}}' % (
            device.m("break")["mutation_id"].encode(), device.seq, device.sent[-1]["occurred_at"].encode()))
    reply = chunked(server.url, "/v1/sync/push", device.token, [raw[:10], raw[10:]])
    assert reply.status == 200 and reply.json()["results"][0]["status"] == "applied", reply


def test_more_than_500_mutations_is_413_naming_mutations(server, device):
    before = settled(server, device)
    batch = [device.m("break", kind="walk") for _ in range(limits.MAX_BATCH + 1)]
    problem = assert_problem(device.push(*batch), 413, field="mutations")
    assert problem["max_items"] == limits.MAX_BATCH
    assert settled(server, device) == before
    device.seq -= len(batch)
    results = device.push_ok(*[device.m("break", kind="walk") for _ in range(limits.MAX_BATCH)])
    assert {r["status"] for r in results} == {"applied"}  # exactly the cap is fine


def test_args_over_64_kib_are_413_naming_the_mutation(server, device):
    before = settled(server, device)
    fine = device.m("checkin", pain=1, note="ok")
    big = device.m("checkin", pain=1, note="n" * (limits.MAX_ARGS_BYTES + 1))
    problem = assert_problem(device.push(fine, big), 413, field="mutations.1.args")
    assert problem["max_bytes"] == limits.MAX_ARGS_BYTES
    wide = device.m("checkin", pain=1, **{f"k{i}": i for i in range(9000)})  # many keys, not one long value
    device.seq -= 1
    wide["seq"] = fine["seq"]
    assert_problem(device.push(wide), 413, field="mutations.0.args")
    assert settled(server, device) == before


def test_query_strings_over_4_kib_are_414_on_every_get(server, spec, device):
    before = settled(server, device)
    gets = [op for op in operations(spec) if op.method == "GET" and not op.path_params]
    assert len(gets) >= 8
    for op in gets:
        for query in ("since=" + "1" * (limits.MAX_QUERY_BYTES + 1), "&".join(["a=1"] * 1100),
                      "x=" + "%41" * 2000):
            reply = call(server.url, "GET", f"{op.path}?{query}", token=device.token)
            assert_problem(reply, 414, field="query")
        over = call(server.url, "GET", f"{op.path}?q={'z' * 9000}", token=device.token)
        assert over.status == 414, (op.path, over)  # over gunicorn's request line cap: gunicorn says so itself
    assert settled(server, device) == before


def test_deep_nesting_is_refused_without_a_5xx(server, spec, device):
    before = settled(server, device)
    deep = "[" * (limits.MAX_JSON_DEPTH + 8) + "]" * (limits.MAX_JSON_DEPTH + 8)
    deepest = "[" * 200_000 + "]" * 200_000  # deeper than Python's recursion limit
    device.m("checkin", pain=1)
    mutation = ('{"mutation_id": "%s", "seq": %d, "type": "checkin", "occurred_at": "%s", "args": {"pain": 1, '
                '"travels": %%s}}' % (device.sent[-1]["mutation_id"], device.seq, device.sent[-1]["occurred_at"]))
    for nested in (deep, deepest, '{"a":' * 50 + "1" + "}" * 50):
        reply = device.call("POST", "/v1/sync/push", raw=('{"mutations": [%s]}' % (mutation % nested)).encode())
        problem = assert_problem(reply, 400)
        assert problem["errors"], problem
    for target in body_targets(spec):
        reply = device.call("POST", target, raw=deepest.encode())
        assert_problem(reply, 400)
    assert settled(server, device) == before
    device.seq -= 1
    assert device.push_ok(device.m("checkin", pain=1, travels=["left_leg"]))[0]["status"] == "applied"
