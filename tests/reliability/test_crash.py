"""Crash safety (issue 5, item 3): SIGKILL the server during pushes, and a CLI during sync and import.

Server kills, on SQLite and PostgreSQL: a real ``backstory serve`` (gunicorn
master and worker) is killed with SIGKILL at seeded random moments, some at a
random delay into a push (so before, during and after its batch commits),
while four devices of two accounts push in threads; it is restarted on the
same store each time and the devices retry as real devices do (see
``_crash_support``). Then ``_crash_checks`` holds the store, the feed and the
read models to "every acknowledged mutation exactly once, nothing half-applied,
no hole".

CLI kills: ``backstory sync`` with many pending changes, and ``backstory
import`` of a large export, killed with SIGKILL mid-way several times and run
again: the result equals an uninterrupted run.

Sizes: ``BACKSTORY_TEST_CRASH_KILLS`` (server kill points per backend, default
22), ``BACKSTORY_TEST_CRASH_CLI_KILLS`` (CLI kill points per test, default 4);
``BACKSTORY_TEST_SEED`` replays a run's random choices (thread timing still differs).
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from tests.integration.pg_load import EXERCISES, mutation
from tests.reliability import _crash_checks as checks
from tests.reliability._crash_support import Cluster, Connection, Fleet

KILLS = int(os.environ.get("BACKSTORY_TEST_CRASH_KILLS") or 22)
MIN_KILLS = 20
SEED = int(os.environ.get("BACKSTORY_TEST_SEED") or random.randrange(10**6))
START = datetime.now(UTC) - timedelta(days=40)


def _store(url: str):
    from service.application import open_app

    return open_app(url)


def _accounts(url: str) -> list[dict]:
    from service.accounts import create_account

    app = _store(url)
    try:
        return [create_account(app, name) for name in ("sam", "alex")]
    finally:
        app.close()


def _pair(cluster: Cluster, token: str, name: str) -> dict:
    conn = Connection()
    try:
        status, body, _ = conn.request(cluster.url, "POST", "/v1/devices", {"name": name}, token)
    finally:
        conn.close()
    assert status == 201, (status, body)
    return body


def _set_up(fleet: Fleet, cluster: Cluster, accounts: list[dict]) -> None:
    """Account 0 has three devices, account 1 one; each account's first device starts its program."""
    sam, alex = accounts
    firsts = [fleet.add_device(0, sam["device_id"], sam["token"])]
    for name in ("tablet", "laptop"):
        paired = _pair(cluster, sam["token"], name)
        fleet.add_device(0, paired["device_id"], paired["token"])
    firsts.append(fleet.add_device(1, alex["device_id"], alex["token"]))
    for d in firsts:
        d.seq += 1
        d.add(mutation(d.seq, "init", START, name=f"person {d.account}", timezone="UTC"))
        for name in EXERCISES:
            d.seq += 1
            d.add(mutation(d.seq, "add", START, name=name, position="1:supine", sets=3, reps=10))
        d.send(d.pending)
        assert not d.pending, fleet.problems
        d.look()


def _check_logs(logs: list[str]) -> None:
    for text in logs:
        for bad in ("Traceback", " 500 ", " 503 ", "catch-up failed", "store busy"):
            assert bad not in text, f"server log has {bad!r}:\n{text[-3000:]}"


@pytest.mark.timeout(900)
def test_server_killed_during_pushes_loses_nothing(store_url, tmp_path):
    from service.application import program_id_for

    rng = random.Random(SEED)
    accounts = _accounts(store_url)
    programs = {i: program_id_for(a["account_id"]) for i, a in enumerate(accounts)}
    cluster = Cluster(store_url, tmp_path)
    fleet = Fleet(cluster, SEED)
    started = time.perf_counter()
    try:
        cluster.start()
        _set_up(fleet, cluster, accounts)
        fleet.run(KILLS, rng)
        fleet.flush()
        checks.check_replies(fleet)
        feeds = [checks.pull_feed(cluster.url, a["token"]) for a in accounts]
    finally:
        cluster.stop()
    _check_logs(cluster.logs)
    app = _store(store_url)
    try:
        s = checks.scan(app)
        checks.check_exactly_once(fleet, s, programs)
        checks.check_seqs(fleet, s, app)
        for i, feed in enumerate(feeds):
            mine = {mid for mid, (device_id, _) in fleet.sent.items()
                    if next(d for d in fleet.devices if d.device_id == device_id).account == i}
            checks.check_feed(feed, s, programs[i], mine)
        checks.check_projections(app, store_url)
    finally:
        app.close()
    c = fleet.counts
    statuses = {f"{m} {r} {st}": n for (m, r, st), n in sorted(fleet.statuses.items())}
    print(f"\nserver kills on {store_url.split(':')[0]} (seed {SEED}): {c['kills']} kill points "
          f"({c['kills with a push in flight']} with a push in flight), {len(fleet.sent)} mutations sent, "
          f"{c['lost replies']} lost replies, {len(fleet.unanswered)} mutations committed whose reply was lost "
          f"and acknowledged only by a later last_seq or 409, "
          f"{sum(1 for a in fleet.answers.values() if a[0].status == 'duplicate')} first answered 'duplicate' "
          f"(committed before the kill), {c['409s followed']} 409s followed; requests {statuses}; "
          f"{time.perf_counter() - started:.0f}s")
    assert c["kills"] >= MIN_KILLS
    assert c["kills with a push in flight"] >= c["kills"] // 3, "too few kills landed during a push"
