"""A request never pays for the read models' whole backlog (issue 10 item 6).

A real server (``backstory serve``, no projections follower, so only requests move the read models)
with ``BACKSTORY_REQUEST_CATCH_UP=100``: after a push of hundreds of facts, each pull applies exactly
100 notifications, serves what is projected and says in ``behind`` how many are not yet. A CLI device
whose sync meets a feed that is behind keeps its pushed change in the outbox (reads still show it,
the next sync sends it again as a duplicate) and says so, instead of dropping it from sight.
"""

from __future__ import annotations

import pytest

from tests.conftest import Cli
from tests.security._support import Device, Server

pytestmark = pytest.mark.timeout(600)
BOUND = 100


@pytest.fixture(params=["sqlite", "postgres"])
def bounded(request, tmp_path):
    from tests.conftest import BACKENDS, _pg_drop
    from tests.security.conftest import fresh_store

    if request.param not in BACKENDS:
        pytest.skip("BACKSTORY_TEST_POSTGRES_URL is not set")
    url, schema = fresh_store(request.param, tmp_path)
    server = Server(url, tmp_path, env={"BACKSTORY_REQUEST_CATCH_UP": str(BOUND), "BACKSTORY_FOLLOW": "0",
                                        "BACKSTORY_RATE_LIMIT": "0"})
    yield server
    server.stop()
    if schema:
        _pg_drop(schema)


def behind(device: Device) -> tuple[int, bool]:
    reply = device.get("/v1/sync/pull", limit=1000)
    assert reply.status == 200, reply
    return reply.json()["behind"], reply.json()["has_more"]


def drain(device: Device) -> list[int]:
    seen = [behind(device)[0]]
    while seen[-1]:
        seen.append(behind(device)[0])
    return seen


def test_each_request_applies_a_bounded_catch_up_and_a_pull_says_how_far_behind(bounded, tmp_path):
    phone = Device.new_account(bounded, "bounded")
    assert phone.push_ok(phone.m("init", 2, name="Sam", timezone="UTC"))[0]["status"] == "applied"
    results = phone.push_ok(*[phone.m("checkin", 1, pain=n % 10) for n in range(300)])
    assert {r["status"] for r in results} == {"applied"}
    seen = drain(phone)
    assert seen[0] > 3 * BOUND and seen[-1] == 0, seen
    assert all(a - b == BOUND for a, b in zip(seen, seen[1:-1])), seen  # exactly the bound per request
    entries, _ = phone.pull_all()
    assert sum(e["kind"] == "outcome" for e in entries) == 301

    tablet = phone.pair("tablet")
    home = tmp_path / "tablet"
    home.mkdir(mode=0o700)
    cli = Cli(home, None)
    cli.ok("remote", "set", bounded.url, "--token", tablet.token)
    assert cli.ok("sync", "--json").json()["behind"] == 0
    phone.push_ok(*[phone.m("checkin", 40, pain=3) for _ in range(150)])  # before the recap's month
    cli.ok("checkin", "--pain", "7", "--note", "kept while the feed is behind")
    first = cli.ok("sync")
    assert "pushed 1: applied 1" in first.out and "run `backstory sync` again" in first.out, first.out
    assert cli.ok("recap", "--json").json()["checkins"] == 301  # the phone's 300 and its own, from the outbox
    assert drain(phone)[-1] == 0
    second = cli.ok("sync", "--json").json()
    assert (second["pushed"], second["duplicate"], second["behind"]) == (1, 1, 0), second
    third = cli.ok("sync", "--json").json()
    assert (third["pushed"], third["behind"]) == (0, 0), third
