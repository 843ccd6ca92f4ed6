"""Limits per account, not only per device (issue 10, item 4).

Devices were free: one token paired 300 devices in 7.5 s, and 50 paired
tokens made 1,000 fast reads without a 429. Now an account has at most
``MAX_ACTIVE_DEVICES`` unrevoked devices (403 ``device-limit``) and pairs at
most ``PAIRINGS_PER_HOUR`` in any hour (429 ``pairing-rate`` with
``Retry-After``), both counted on the account in the store, so a second
server process on the same store refuses as well; and all of an account's
devices together share a request budget (``ACCOUNT_RATE_FACTOR`` times a
device's). Expensive reads take more of both budgets. The request budgets are
per process; the real server's are tested in ``test_ratelimit``.
"""

from __future__ import annotations

import pytest

from tests.integration.test_api import assert_problem
from tests.integration.test_api_support import Client, fresh_app

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def two_servers(store_url):
    """Two apps on one store, each with its own memory: two server processes as far as the caps can tell."""
    caps = {"MAX_ACTIVE_DEVICES": 10, "PAIRINGS_PER_HOUR": 3}
    first, second = fresh_app(store_url, **caps), fresh_app(store_url, **caps)
    yield first, second
    for app in (first, second):
        app.extensions["backstory"].close()


def devices_of(client: Client) -> list[dict]:
    reply = client.get("/v1/devices")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.json["devices"]


def test_pairings_beyond_the_hourly_cap_are_429_on_every_server_and_store_nothing(two_servers):
    first, second = two_servers
    phone = Client.new_account(first, "pairer")
    for i in range(3):
        phone.pair(f"device {i}")
    refused = phone.post("/v1/devices", {"name": "one too many"})
    problem = assert_problem(refused, 429)
    assert problem["type"].endswith("/pairing-rate") and problem["rule"] == "pairing_rate"
    assert "last hour" in problem["detail"]
    assert 3000 < int(refused.headers["Retry-After"]) <= 3600
    same_phone_elsewhere = Client(second, phone.token, phone.device_id, phone.account_id)
    assert_problem(same_phone_elsewhere.post("/v1/devices", {"name": "other process"}), 429)
    assert len(devices_of(phone)) == 4  # the account's first device and three pairings; nothing more
    other = Client.new_account(first, "someone else")
    other.pair("their tablet")  # another account's pairings are its own


def test_active_devices_beyond_the_cap_are_403_until_one_is_revoked(store_url):
    flask_app = fresh_app(store_url, MAX_ACTIVE_DEVICES=3, PAIRINGS_PER_HOUR=100)
    other_process = fresh_app(store_url, MAX_ACTIVE_DEVICES=3, PAIRINGS_PER_HOUR=100)
    try:
        phone = Client.new_account(flask_app, "collector")
        tablet = phone.pair("tablet")
        phone.pair("laptop")
        problem = assert_problem(phone.post("/v1/devices", {"name": "fourth"}), 403)
        assert problem["type"].endswith("/device-limit") and "revoke one" in problem["detail"]
        remote = Client(other_process, tablet.token, tablet.device_id, tablet.account_id)
        assert_problem(remote.post("/v1/devices", {"name": "fourth, elsewhere"}), 403)
        assert len(devices_of(phone)) == 3
        assert phone.client.delete(f"/v1/devices/{tablet.device_id}", headers=phone.headers).status_code == 200
        phone.pair("fourth")  # a revoked device no longer counts
        assert_problem(phone.post("/v1/devices", {"name": "fifth"}), 403)
    finally:
        for app in (flask_app, other_process):
            app.extensions["backstory"].close()


def test_an_accounts_devices_share_one_request_budget(store_url):
    # A device: 1 request/s, bursts of 6; the account: twice that (12).
    flask_app = fresh_app(store_url, RATE_LIMIT=1, RATE_BURST=6, PAIRINGS_PER_HOUR=10)
    try:
        phone = Client.new_account(flask_app, "many devices")
        devices = [phone] + [phone.pair(f"token {i}") for i in range(3)]  # 3 of the account's 12 tokens
        answers = []
        for _ in range(4):
            for device in devices:
                answers.append(device.get("/v1/devices"))
        statuses = [a.status_code for a in answers]
        assert statuses[:9] == [200] * 9 and 429 in statuses, statuses
        problem = assert_problem(answers[statuses.index(429)], 429)
        assert "account" in problem["detail"] and answers[statuses.index(429)].headers["Retry-After"].isdigit()
        stranger = Client.new_account(flask_app, "stranger")
        assert stranger.get("/v1/devices").status_code == 200  # other accounts are not slowed
    finally:
        flask_app.extensions["backstory"].close()


def test_a_large_page_or_a_recap_takes_more_of_the_budget(store_url):
    flask_app = fresh_app(store_url, RATE_LIMIT=0.01, RATE_BURST=10)
    try:
        reader = Client.new_account(flask_app, "reader")
        assert reader.push(reader.m("init", name="Reader", days_ago=2)).status_code == 200
        assert reader.get("/v1/sessions", limit=500).status_code == 200  # 5 tokens (and 1 for the push)
        assert reader.get("/v1/sessions", limit=300).status_code == 200  # 3 more
        assert_problem(reader.get("/v1/sessions", limit=200), 429)  # 2 more: only 1 left
        assert reader.get("/v1/sessions", limit=100).status_code == 200  # 1: the last one
        fresh = Client.new_account(flask_app, "recapper")
        assert fresh.get("/v1/recap").status_code == 404  # no program yet, but charged: all 10 tokens
        assert_problem(fresh.get("/v1/devices"), 429)
    finally:
        flask_app.extensions["backstory"].close()

