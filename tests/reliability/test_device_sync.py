"""Device-side sync defects of issue 9 (items 1, 3, 16), against a real server process on each backend.

- A home restored from a copy of itself hands out seqs the server already holds
  from other mutations: its new changes were dropped (``pushed 1: applied 1``).
  Now the server lists the reused seqs in its 409 and the device sends the
  unanswered changes again under new seqs; nothing is lost.
- Two homes sharing one token, syncing at the same time: each used to keep only
  its last change. Now both end with every change on the server, once; and a
  batch of duplicates answered with a ``last_seq`` past it (the other home's
  seqs) acknowledges only itself, not the changes queued after it.
- A mutation dated more than 10 minutes after the server's clock made every
  push a 400 for good; now it alone is rejected, the queue and the pull go on,
  and ``conflicts`` lists it (also as JSON) for the person to record again.
- Pending changes are marked in ``history`` and keep the time they were queued.
- ``remote set`` refuses a well-formed token the server refuses (401).
"""

from __future__ import annotations

import shutil
import threading
from datetime import datetime, timedelta, timezone

import pytest

from domain.accounts import device_of_token
from service.accounts import create_account
from service.application import open_app
from service.device import DeviceStore, new_mutation
from service.remote import HttpRemote, RemoteError
from tests import server_process
from tests.conftest import BACKENDS, PG_URL, Cli, _pg_drop, _pg_schema


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    """``backstory serve`` on each backend, once for the module (every test makes its own account).

    Yields (url, an application on the server's store).
    """
    tmp = tmp_path_factory.mktemp(f"device-sync-{request.param}")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'server.sqlite'}"
    else:
        schema = _pg_schema()
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={schema}"
    (tmp / "home").mkdir()
    port = server_process.free_port()
    env = server_process.server_env(tmp / "home", {"BACKSTORY_RATE_LIMIT": "0"})
    proc = server_process.ServerProcess(server_process.serve_command(url, port), port, env, tmp / "server.log")
    app = open_app(url)
    yield proc.url, app
    app.close()
    log = proc.stop()
    if schema:
        _pg_drop(schema)
    assert "Traceback" not in log, log[-3000:]


def records(app, token: str) -> list:
    from service.accounts import authenticate

    who = authenticate(app, f"Bearer {token}")
    return list(app.ledger(who.program_id).mutation_records())


def test_a_home_restored_from_an_earlier_copy_loses_no_change(server, tmp_path):
    url, app = server
    token = create_account(app, "sam")["token"]
    home, backup = tmp_path / "home", tmp_path / "backup"
    home.mkdir()
    h = Cli(home, None)
    h.ok("remote", "set", url, "--token", token)
    h.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", "3 days ago")
    h.ok("sync")
    shutil.copytree(home, backup)
    h.ok("checkin", "--pain", "3")
    h.ok("sync")
    shutil.rmtree(home)
    shutil.copytree(backup, home)  # the backup is restored: its outbox hands out seq 2 again
    h.ok("checkin", "--pain", "4")
    h.ok("checkin", "--pain", "5")
    report = h.ok("sync", "--json").json()
    assert (report["applied"], report["renumbered"]) == (2, 2), report
    assert len(report["reused"]) == 1  # the server held seq 2 from the first check-in
    checkins = [r for r in records(app, token) if r.mutation_type == "checkin"]
    assert sorted(r.args["pain"] for r in checkins) == [3, 4, 5]
    assert all(r.status == "applied" for r in checkins) and len({r.seq for r in checkins}) == 3
    recap = h.ok("recap", "--since", "4 days ago", "--json").json()
    assert (recap["checkins"], recap["checkin_pain_avg"]) == (3, 4), recap
    again = h.ok("sync", "--json").json()
    assert (again["pushed"], again["renumbered"]) == (0, 0)


def test_remote_set_refuses_a_token_the_server_refuses(server, tmp_path):
    """Issue 9, item 12: a well-formed token the server does not know is refused before it is kept."""
    url, _ = server
    home = tmp_path / "home"
    home.mkdir()
    r = Cli(home, None)("remote", "set", url, "--token", "bs1_" + "ab" * 16 + "_" + "s" * 43)
    assert r.code == 1 and "refuses this token (401" in r.err and "Traceback" not in r.err, r
    assert not (home / "remote.json").exists()


def _home(tmp_path, name: str, url: str, token: str) -> tuple[DeviceStore, HttpRemote]:
    app = open_app(f"sqlite:///{tmp_path / f'{name}.sqlite'}")
    return DeviceStore(app, str(device_of_token(token))), HttpRemote(url, token)


def test_two_homes_sharing_one_token_both_keep_every_change(server, tmp_path):
    url, app = server
    token = create_account(app, "twins")["token"]
    homes = [_home(tmp_path, f"home{i}", url, token) for i in range(2)]
    now = datetime.now(timezone.utc)
    first, remote = homes[0]
    first.mutate(new_mutation("init", {"name": "Twins", "timezone": "UTC"}, now - timedelta(days=2), first.device_id))
    for store, remote in homes:
        store.sync(remote)
    made: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        store, remote = homes[i]
        try:
            for n in range(12):
                m = new_mutation("checkin", {"pain": n % 11, "note": f"home {i} #{n}"},
                                 now - timedelta(hours=20 - n, minutes=i), store.device_id)
                store.mutate(m)
                made[i].append(m.mutation_id)
                if n % 3 == 2:
                    try:
                        store.sync(remote)
                    except RemoteError:
                        pass  # racing the other home; what is pending stays pending
        except BaseException as e:  # reported below, in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for _ in range(3):
        reports = [store.sync(remote) for store, remote in homes]
    assert all(r["pushed"] == 0 for r in reports), reports
    held = [r for r in records(app, token) if r.mutation_type == "checkin"]
    assert sorted(r.mutation_id for r in held) == sorted(made[0] + made[1])  # every change, once
    assert all(r.status == "applied" for r in held)
    assert len({r.seq for r in held}) == len(held)
    for store, _ in homes:
        assert store.outbox().pending() == []
        replica = store.replica(store.outbox()).mutation_records()
        assert len({r.mutation_id for r in replica} & set(made[0] + made[1])) == 24
    for store, _ in homes:
        store.app.close()


class PullLost(HttpRemote):
    """The device's client, with the reply of its next pull lost (the push before it was applied)."""

    lose_pull = False

    def pull(self, after, limit=1000):
        page = super().pull(after, limit)
        if self.lose_pull:
            self.lose_pull = False
            raise RemoteError("the pull reply was lost")
        return page


def test_a_push_answered_in_part_acknowledges_only_what_it_answered(server, tmp_path, monkeypatch):
    """A batch of duplicates answered with a last_seq past it (another home's seqs) must not acknowledge the
    device's later changes: they were never sent."""
    url, app = server
    token = create_account(app, "partial")["token"]
    now = datetime.now(timezone.utc)
    (a, _), (b, b_remote) = _home(tmp_path, "a", url, token), _home(tmp_path, "b", url, token)
    a_remote = PullLost(url, token)
    a.mutate(new_mutation("init", {"name": "Partial", "timezone": "UTC"}, now - timedelta(days=1), a.device_id))
    a.sync(a_remote)
    b.sync(b_remote)
    x = new_mutation("checkin", {"pain": 1}, now - timedelta(hours=3), a.device_id)
    a.mutate(x)
    a_remote.lose_pull = True
    with pytest.raises(RemoteError):
        a.sync(a_remote)  # x is on the server (seq 2) but still pending here
    z = new_mutation("checkin", {"pain": 2}, now - timedelta(hours=2), a.device_id)
    a.mutate(z)  # seq 3 here
    y = new_mutation("checkin", {"pain": 3}, now - timedelta(hours=1), b.device_id)
    b.mutate(y)
    b.sync(b_remote)  # the server now holds seq 3 from y
    monkeypatch.setattr("service.device.BATCH", 1)  # x alone: all duplicates, last_seq 3
    report = a.sync(a_remote)
    assert report["renumbered"] >= 1, report
    held = {r.mutation_id: r.status for r in records(app, token) if r.mutation_type == "checkin"}
    assert held == {x.mutation_id: "applied", y.mutation_id: "applied", z.mutation_id: "applied"}
    assert a.outbox().pending() == []
    for store in (a, b):
        store.app.close()


def test_a_change_dated_in_the_servers_future_is_rejected_alone_and_listed(server, tmp_path):
    url, app = server
    token = create_account(app, "fast")["token"]
    home = tmp_path / "home"
    home.mkdir()
    h = Cli(home, None)
    h.ok("remote", "set", url, "--token", token)
    h.ok("init", "--name", "Fast", "--timezone", "UTC", "--at", "2 days ago")
    h.ok("sync")
    # A pending change is marked in history and keeps the time it was queued (it changed on every read).
    h.ok("add", "Bridge", "--position", "1:supine", "--sets", "3", "--reps", "8", "--at", "1 day ago")
    first = h.ok("history", "--json").json()["entries"]
    assert [e["pending"] for e in first] == [False, True]
    assert h.ok("history", "--json").json()["entries"] == first
    assert "pending: not synced yet" in h.ok("history").out
    assert [d["pending"] for d in h.ok("recap", "--json").json()["decisions"]] == [False, True]  # and in recap
    assert h.ok("recap").out.count("(pending: not synced yet)") == 1
    # While its clock ran an hour fast, the device queued a check-in (its own clock found it fine).
    device = DeviceStore(open_app(f"sqlite:///{home / 'backstory.sqlite'}"), str(device_of_token(token)))
    ahead = datetime.now(timezone.utc) + timedelta(hours=1)
    outbox = device.outbox()
    future = new_mutation("checkin", {"pain": 6}, ahead, device.device_id)
    outbox.queue([{"mutation_id": future.mutation_id, "type": "checkin", "occurred_at": ahead.isoformat(),
                   "base_version": None, "args": {"pain": 6}}])
    device.app.save(outbox)
    device.app.close()
    h.ok("checkin", "--pain", "2")
    out = h.ok("sync")
    assert "applied 2" in out.out and "rejected 1" in out.out and "occurred_at" in out.out, out.out
    assert "backstory conflicts" in out.out
    listed = h.ok("conflicts", "--json").json()
    [rejected] = listed["rejected"]
    assert rejected["mutation_id"] == future.mutation_id and rejected["type"] == "checkin"
    assert "occurred_at" in rejected["reason"] and "10 minutes" in rejected["reason"]
    assert rejected["args"] == {"pain": 6}
    text = h.ok("conflicts").out
    assert "rejected by the server" in text and "checkin (program)" in text and "10 minutes" in text
    # the queue moved on: later changes sync, and the pull goes on
    h.ok("checkin", "--pain", "1")
    report = h.ok("sync", "--json").json()
    assert (report["applied"], report["rejected"]) == (1, 0), report
    synced = h.ok("history", "--json").json()["entries"]
    assert [(e["mutation_id"], e["pending"]) for e in synced] == [(e["mutation_id"], False) for e in first]
    assert "pending" not in h.ok("recap").out


