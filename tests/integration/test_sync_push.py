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
from service.mutation import IDS, Mutation

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


def _bridge(a, server):
    return {e["name"]: e for e in queries.show(a.who.ledger(server), NOW)["exercises"]}["Bird dog"]


def _open_conflicts(a, server):
    log = a.who.ledger(server).conflict_log()
    return {c["mutation_id"]: c for c in (log.conflicts.values() if log else []) if c["resolution"] is None}


@pytest.mark.parametrize("order", ["regress_first", "progress_first"])
@pytest.mark.parametrize("dims", ["same", "other"])
def test_concurrent_regress_wins_over_progress_in_either_order(server, two_devices, order, dims):
    """Issue 9 item 4: B regresses (earlier), A progresses (later); 3x4 and A's progression kept as a
    conflict, whoever syncs first; the regression is in force after the progression in valid time."""
    a, b = two_devices
    base = a.version()
    reg = b.mutation("regress", 0.2, base_version=base, exercise="Bird dog", reps=4, reason="flare")
    up = {"reps": 8} if dims == "same" else {"sets": 4}
    prog = a.mutation("progress", 0.1, base_version=base, exercise="Bird dog", reason="easy", **up)
    first, second = ((b, reg), (a, prog)) if order == "regress_first" else ((a, prog), (b, reg))
    assert first[0].push(first[1])["results"][0]["status"] == "applied"
    out = second[0].push(second[1])["results"][0]
    assert out["status"] == ("conflict" if order == "regress_first" else "applied"), out
    ex = _bridge(a, server)
    assert (ex["prescription"]["sets"], ex["prescription"]["reps"]) == (3, 4)
    conflicts = _open_conflicts(a, server)
    assert list(conflicts) == [prog.mutation_id]
    assert conflicts[prog.mutation_id]["id"] == str(uuid.uuid5(uuid.UUID(str(IDS)), f"{prog.mutation_id}:conflict"))
    history = [(h["type"], h["occurred_at"]) for h in queries.history(a.who.ledger(server), "Bird dog")["entries"]
               if h["type"] in ("progress", "regress")]
    if order == "progress_first":  # both are in the history, the regression last, at the progression's time
        assert history == [("progress", prog.occurred_at.isoformat()), ("regress", prog.occurred_at.isoformat())]
        assert out["result"]["overrides"] == [prog.mutation_id]
        assert out["result"]["effective_at"] == prog.occurred_at.isoformat()
        # the overridden progression is resolved like any conflict: applying it puts it back in force
        cid = conflicts[prog.mutation_id]["id"]
        assert a.push(a.mutation("resolve", 0, conflict=cid[:8], apply_mine=True))["results"][0]["status"] == "applied"
        ex = _bridge(a, server)
        assert (ex["prescription"]["sets"], ex["prescription"]["reps"]) == ((3, 8) if dims == "same" else (4, 4))
    else:
        assert history == [("regress", reg.occurred_at.isoformat())]


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


@pytest.mark.parametrize("order", ["winner_first", "edit_first"])
@pytest.mark.parametrize("winner", ["retire", "deconstruct"])
def test_retire_and_deconstruct_win_over_a_concurrent_edit_in_either_order(server, two_devices, order, winner):
    """Issue 9 item 8: D retires (or deconstructs) while B, offline, edits a second later: whoever syncs
    first, the exercise ends retired (deconstructed) after every edit, and the edit is a kept conflict."""
    a, b = two_devices
    base = a.version()
    args = {"into": ["Arm reach", "Leg reach"]} if winner == "deconstruct" else {}
    win = a.mutation(winner, 0.5, base_version=base, exercise="Bird dog", reason="aggravates", **args)
    edit_type, edit_args = ("regress", {"reps": 4}) if winner == "retire" else ("progress", {"reps": 10})
    edit = b.mutation(edit_type, 0.5 - 1 / 86400, base_version=base, exercise="Bird dog", reason="x", **edit_args)
    first, second = ((a, win), (b, edit)) if order == "winner_first" else ((b, edit), (a, win))
    assert first[0].push(first[1])["results"][0]["status"] == "applied"
    out = second[0].push(second[1])["results"][0]
    assert out["status"] == ("conflict" if order == "winner_first" else "applied"), out
    status = "retired" if winner == "retire" else "deconstructed"
    ex = _bridge(a, server)
    assert (ex["status"], ex["prescription"]["reps"]) == (status, 6)  # the edit is not in force, in either order
    assert list(_open_conflicts(a, server)) == [edit.mutation_id]
    history = [h["type"] for h in queries.history(a.who.ledger(server), "Bird dog")["entries"]]
    assert history[-1] == winner, history  # nothing after the retire / deconstruct
    if winner == "deconstruct":  # the components start from the prescription before the overridden edit
        arm = {e["name"]: e for e in queries.show(a.who.ledger(server), NOW)["exercises"]}["Arm reach"]
        assert arm["prescription"]["reps"] == 6


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


def test_a_pushed_fact_dated_before_its_exercise_is_kept_unlinked(server, two_devices):
    """Issue 9 item 5 over sync: the device took the fact, so it is kept, but not given to an exercise
    that did not exist on its date."""
    a, _ = two_devices
    out = a.push(a.mutation("log", 29.5, exercise="Bird dog", pain_before=4),
                 a.mutation("log", 1, exercise="Bird dog", pain_before=4))["results"]
    assert [r["status"] for r in out] == ["applied", "applied"]
    assert out[0]["result"]["exercise_id"] is None and out[0]["result"]["exercise"] == "Bird dog"
    assert out[1]["result"]["exercise_id"] == _bridge(a, server)["id"]
    unknown = a.push(a.mutation("log", 1, exercise="Nothing like it", pain_before=4))["results"][0]
    assert unknown["status"] == "rejected" and "Nothing like it" in unknown["reason"]
