"""Sync push in process, against a real store: seqs, duplicates, the conflict policy, accounts."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from service import queries
from service.accounts import AuthError, authenticate, create_account, list_devices, pair_device, revoke_device
from service.application import BackstoryApp
from service.config import parse_store
from service.sync import SeqError, push
from service.handling import Mutation

NOW = datetime.now(timezone.utc)


@pytest.fixture
def server(store_url):
    app = BackstoryApp(parse_store(store_url).env)
    yield app
    app.close()


class Device:
    """A device's side of the protocol: its own seq counter and what it last saw."""

    def __init__(self, app, token):
        self.app, self.token, self.seq = app, token, 0
        self.who = authenticate(app, f"Bearer {token}")

    def mutation(self, mutation_type, days_ago=0.0, base_version=None, **args):
        self.seq += 1
        return Mutation(str(uuid.uuid4()), mutation_type, NOW - timedelta(days=days_ago), "ignored", args,
                        base_version=base_version, seq=self.seq)

    def push(self, *mutations):
        return push(self.app, self.who, list(mutations))

    def version(self):
        return self.who.ledger(self.app).program().version


@pytest.fixture
def two_devices(server):
    first = create_account(server, "sam")
    a = Device(server, first["token"])
    b = Device(server, pair_device(server, a.who, "tablet")["token"])
    out = a.push(a.mutation("init", 30, name="Sam", timezone="UTC"),
                 a.mutation("add", 29, name="Bridge", position="1:supine", sets=3, reps=10),
                 a.mutation("add", 29, name="Bird dog", position="2:quadruped", sets=3, reps=6))
    assert [r["status"] for r in out["results"]] == ["applied"] * 3
    return a, b


def test_duplicate_push_applies_once(server, two_devices):
    a, _ = two_devices
    m = a.mutation("log", 1, exercise="Bridge", pain_before=4, pain_after=2)
    first = a.push(m)
    again = a.push(m)
    assert first["results"][0]["status"] == "applied"
    assert again["results"][0]["status"] == "duplicate"
    assert again["results"][0]["result"] == first["results"][0]["result"]
    assert again["last_seq"] == first["last_seq"] == m.seq


def test_seq_gap_is_refused_and_changes_nothing(server, two_devices):
    a, _ = two_devices
    a.seq += 5
    before = server.recorder.max_notification_id()
    with pytest.raises(SeqError) as e:
        a.push(a.mutation("break", kind="walk", seconds=40))
    assert e.value.expected_seq == 4
    assert server.recorder.max_notification_id() == before


def test_rejected_mutation_does_not_block_the_queue(server, two_devices):
    a, _ = two_devices
    out = a.push(a.mutation("log", 1, exercise="Bridge", pain_before=11),
                 a.mutation("log", 1, exercise="Bridge", pain_before=3))
    assert [r["status"] for r in out["results"]] == ["rejected", "applied"]
    assert "pain_before" in out["results"][0]["reason"]


@pytest.mark.parametrize("order", ["regress_first", "progress_first"])
def test_progress_and_regress_of_the_same_exercise(server, two_devices, order):
    a, b = two_devices
    base = a.version()
    prog = a.mutation("progress", 1, base_version=base, exercise="Bridge", sets=4, reason="easy")
    reg = b.mutation("regress", 1, base_version=base, exercise="Bridge", reps=8, reason="sore")
    if order == "regress_first":
        assert b.push(reg)["results"][0]["status"] == "applied"
        out = a.push(prog)["results"][0]
        assert out["status"] == "conflict" and out["conflict"]["exercise"] == "Bridge"
        expected = (3, 8)
    else:
        assert a.push(prog)["results"][0]["status"] == "applied"
        assert b.push(reg)["results"][0]["status"] == "applied"  # still lowers the current prescription
        expected = (4, 8)
    ex = {e["name"]: e for e in queries.show(a.who.ledger(server), NOW)["exercises"]}["Bridge"]
    assert (ex["prescription"]["sets"], ex["prescription"]["reps"]) == expected


def test_stale_regress_that_no_longer_lowers_is_a_conflict(server, two_devices):
    a, b = two_devices
    base = a.version()
    assert a.push(a.mutation("regress", 2, base_version=base, exercise="Bridge", reps=6, reason="x"))["results"][0]["status"] == "applied"
    out = b.push(b.mutation("regress", 1, base_version=base, exercise="Bridge", reps=8, reason="y"))["results"][0]
    assert out["status"] == "conflict"


def test_deconstruct_wins_over_a_concurrent_edit(server, two_devices):
    a, b = two_devices
    base = a.version()
    assert a.push(a.mutation("progress", 1, base_version=base, exercise="Bird dog", sets=4, reason="x"))["results"][0]["status"] == "applied"
    out = b.push(b.mutation("deconstruct", 2, base_version=base, exercise="Bird dog", into=["Arm", "Leg"],
                            reason="aggravates"))["results"][0]
    assert out["status"] == "applied"
    view = {e["name"]: e for e in queries.show(a.who.ledger(server), NOW)["exercises"]}
    assert view["Bird dog"]["status"] == "deconstructed" and view["Arm"]["parent"] == view["Bird dog"]["id"]
    late = a.push(a.mutation("progress", 0.5, base_version=base, exercise="Bird dog", sets=5, reason="z"))
    assert late["results"][0]["status"] == "conflict"


def test_edits_to_other_exercises_rebase_and_apply(server, two_devices):
    a, b = two_devices
    base = a.version()
    assert a.push(a.mutation("progress", 1, base_version=base, exercise="Bridge", sets=4, reason="x"))["results"][0]["status"] == "applied"
    assert b.push(b.mutation("progress", 1, base_version=base, exercise="Bird dog", sets=4, reason="y"))["results"][0]["status"] == "applied"


def test_conflict_is_resolved_by_a_new_decision(server, two_devices):
    a, b = two_devices
    base = a.version()
    a.push(a.mutation("regress", 1, base_version=base, exercise="Bridge", reps=8, reason="sore"))
    out = b.push(b.mutation("progress", 1, base_version=base, exercise="Bridge", sets=4, reason="easy"))["results"][0]
    cid = out["conflict"]["id"]
    res = b.push(b.mutation("resolve", 0, conflict=cid[:8], apply_mine=True))["results"][0]
    assert res["status"] == "applied", res
    ex = {e["name"]: e for e in queries.show(a.who.ledger(server), NOW)["exercises"]}["Bridge"]
    assert (ex["prescription"]["sets"], ex["prescription"]["reps"]) == (4, 8)
    again = a.push(a.mutation("resolve", 0, conflict=cid, keep_current=True))["results"][0]
    assert again["status"] == "rejected" and "already resolved" in again["reason"]


def test_tokens_reach_only_their_account(server, two_devices):
    a, _ = two_devices
    other = Device(server, create_account(server, "alex")["token"])
    assert other.who.program_id != a.who.program_id
    other.push(other.mutation("init", 1, name="Alex"))
    assert queries.show(a.who.ledger(server), NOW)["program"]["name"] == "Sam"
    with pytest.raises(AuthError) as e:
        authenticate(server, "Bearer " + a.token[:-2] + "xx")
    assert e.value.status == 401
    tablet = [d for d in list_devices(server, a.who) if not d["current"]][0]
    revoke_device(server, a.who, tablet["device_id"], confirmed=True)
    with pytest.raises(AuthError) as e:
        authenticate(server, f"Bearer {pair_device(server, a.who, 'x')['token']}x")
    assert e.value.status == 401


def test_a_used_seq_with_another_mutation_is_a_seq_error(server, two_devices):
    a, _ = two_devices
    before = server.recorder.max_notification_id()
    stolen = a.mutation("break", kind="walk", seconds=40)
    stolen = Mutation(stolen.mutation_id, stolen.type, stolen.occurred_at, "x", stolen.args, seq=2)
    with pytest.raises(SeqError) as e:
        a.push(stolen)
    assert e.value.expected_seq == 4 and "already used" in str(e.value)
    assert server.recorder.max_notification_id() == before
