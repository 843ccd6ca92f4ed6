"""Rate limiting per device and per account on a real server: 429 with an integer ``Retry-After``.

A server of its own with a low limit (one request per 2 s, bursts of 5, set
through ``BACKSTORY_RATE_LIMIT``/``BACKSTORY_RATE_BURST``); a device sends
until it is refused, so the test holds however slow the machine is. Failed
authentications are limited per client address, and never slow a valid token.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import BACKENDS, _pg_drop
from tests.security._support import Device, Server, assert_problem, call, operations
from tests.security.conftest import fresh_store

pytestmark = pytest.mark.timeout(600)
RATE, BURST = 0.5, 5


@pytest.fixture(scope="module", params=BACKENDS)
def limited(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"ratelimit-{request.param}")
    url, schema = fresh_store(request.param, tmp)
    server = Server(url, tmp, env={"BACKSTORY_RATE_LIMIT": str(RATE), "BACKSTORY_RATE_BURST": str(BURST)},
                    name="limited")
    yield server
    server.stop()
    if schema:
        _pg_drop(schema)


def until_limited(device: Device, target: str = "/v1/devices") -> list:
    """Requests until the first 429 (which must come: the device asks faster than it earns)."""
    replies = [device.get(target)]
    while replies[-1].status != 429:
        assert replies[-1].status == 200 and len(replies) < 100, replies[-1]
        replies.append(device.get(target))
    return replies


def test_a_device_over_its_rate_gets_429_with_retry_after_and_others_are_not_slowed(limited):
    phone = Device.new_account(limited, "busy")
    tablet = phone.pair("tablet")  # pairing is one of the phone's requests
    replies = until_limited(phone)
    assert len(replies) >= BURST  # the burst (less the pairing) first
    limited_reply = replies[-1]
    problem = assert_problem(limited_reply, 429)
    assert "slow down" in problem["detail"]
    wait = limited_reply.headers["retry-after"]
    assert wait.isdigit() and 1 <= int(wait) <= 1 / RATE + 1, wait
    assert tablet.get("/v1/devices").status == 200  # the same account's other device is not slowed
    other = Device.new_account(limited, "other account")
    assert other.get("/v1/devices").status == 200
    time.sleep(int(wait) + 0.5)
    assert phone.get("/v1/devices").status == 200  # after waiting, it works again


def test_an_accounts_devices_together_are_limited_too(limited):
    phone = Device.new_account(limited, "crowd")
    devices = [phone, phone.pair("a"), phone.pair("b")]  # 15 device tokens, 10 for the account
    replies: list = []
    while not replies or replies[-1].status != 429:
        assert len(replies) < 60 and (not replies or replies[-1].status == 200), replies[-1]
        replies.append(devices[len(replies) % 3].get("/v1/devices"))
    assert len(replies) <= 2 * BURST  # before any one device ran out
    problem = assert_problem(replies[-1], 429)
    assert "account" in problem["detail"] and replies[-1].headers["retry-after"].isdigit()
    assert Device.new_account(limited, "bystander").get("/v1/devices").status == 200


def test_an_expensive_read_takes_more_of_the_budget(limited):
    reader = Device.new_account(limited, "big pages")
    assert reader.get("/v1/sessions", limit=500).status == 404  # no program yet; it still took 5 tokens
    assert_problem(reader.get("/v1/devices"), 429)


def test_a_sixth_pairing_within_the_hour_is_429_from_any_device_of_the_account(limited):
    phone = Device.new_account(limited, "serial pairer")
    paired = [phone.pair(f"pairing {i}") for i in range(5)]  # the first device came with the account
    refused = paired[0].call("POST", "/v1/devices", body={"name": "sixth"})
    problem = assert_problem(refused, 429)
    assert problem["rule"] == "pairing_rate" and 3000 < int(refused.headers["retry-after"]) <= 3600
    assert len(paired[-1].get("/v1/devices").json()["devices"]) == 6


def test_every_endpoint_is_limited_and_a_limited_push_stores_nothing(limited):
    spec = call(limited.url, "GET", "/openapi.json").json()
    device = Device.new_account(limited, "pusher")
    assert device.push_ok(device.m("init", 1, name="Pusher"))[0]["status"] == "applied"
    until_limited(device)
    for op in (op for op in operations(spec) if op.secured):
        target = op.target({name: "x" for name in op.path_params})
        body = {"mutations": []} if op.body_schema is not None else None
        reply = device.call(op.method, target, body=body)
        assert_problem(reply, 429)
        assert reply.headers["retry-after"].isdigit(), str(op)
    refused = device.m("break", kind="walk")
    assert_problem(device.push(refused), 429)
    time.sleep(int(device.get("/v1/devices").headers["retry-after"]) + 0.5)
    results = device.push_ok(refused)  # the same seq: the limited push stored nothing
    assert results[0]["status"] == "applied"


def test_failed_authentications_are_limited_per_address_and_never_slow_a_valid_token(limited):
    valid = Device.new_account(limited, "valid")
    forged = f"Bearer bs1_{valid.device_id.replace('-', '')}_{'F' * 43}"
    def attempt(n: int) -> int:  # a forged X-Forwarded-For does not make a new address
        return call(limited.url, "GET", "/v1/devices", authorization=forged,
                    headers={"X-Forwarded-For": f"10.0.{n // 250}.{n % 250}", "X-Real-IP": f"10.1.0.{n % 250}"}).status

    statuses = [attempt(0)]
    while statuses[-1] != 429:
        assert statuses[-1] == 401 and len(statuses) < 100, statuses
        statuses.append(attempt(len(statuses)))
    assert len(statuses) >= BURST
    reply = call(limited.url, "GET", "/v1/devices", authorization=forged)
    assert_problem(reply, 429)
    assert reply.headers["retry-after"].isdigit()
    assert valid.get("/v1/devices").status == 200
    assert call(limited.url, "GET", "/healthz").status == 200
