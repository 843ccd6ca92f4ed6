"""The sync protocol under concurrent load, through several server processes on one PostgreSQL database.

Runs only when ``BACKSTORY_TEST_POSTGRES_URL`` is set, each test in a schema of
its own. Two layouts: two ``backstory serve`` processes of one worker each
(devices alternate between their addresses) and one ``serve --workers 2``.

Eight devices of one account and eight devices of eight other accounts push
at once: batches of 1-20 mutations, mostly facts, some progressions and
regressions of a shared exercise against the program version each device last
read (so they conflict), a few invalid facts (rejected), some batches sent
again as if the reply were lost (as they are, or with the next mutations
appended), some sent twice at the same moment to both servers, some with a
seq gap (409). Devices read the program and follow their account's feed with
a cursor while all this goes on.

Afterwards, over HTTP and straight in the event store:

- no request failed (no 5xx, no dropped connection), every protocol answer was the expected one;
- every acknowledged mutation (any status in a 200 reply) has exactly one first outcome, every later
  ``duplicate`` carries it, and it is stored exactly once: one MutationRecord stream of one event,
  each fact once in its fact log and in ``/v1/sessions``, each applied decision once in the program,
  each conflict once in the conflict log; nothing of a batch refused with 409 is stored;
- each device's accepted seqs are exactly 1..last_seq, as the replies, the Device aggregate and the
  stored MutationRecords tell;
- each account's feed has positions 1..n with no gap or duplicate, holds every event of the
  account's streams exactly once in the event store's order, every acknowledged outcome exactly once,
  and what each device saw following it with its cursor during the load is that same feed (no
  late commit skipped);
- no lost update: the seven devices paired at once through both servers are all in the account, and a
  progression made against version b was applied only as version b + 1 (else it is a conflict naming
  the changes made since b);
- the projections, caught up by the servers' own reads (no lag left), equal a rebuild from scratch.

Set ``BACKSTORY_TEST_SEED`` to replay a run's random choices (the seed is printed with ``-s``; thread
timing still differs) and ``BACKSTORY_TEST_PG_BATCHES`` for a longer run.

``test_server_processes_booting_at_once_all_start``: worker processes booting at the same moment all
come up (they used to fail in the event store's DDL with "tuple concurrently updated").
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from urllib.parse import quote
from uuid import UUID

import pytest

from bench.exactly_once import effects_ok, overridden_edits
from tests.integration.pg_load import (
    EXERCISES,
    FACTS,
    START,
    Device,
    Load,
    Servers,
    mutation,
    pull_all,
)

PG_URL = os.environ.get("BACKSTORY_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="BACKSTORY_TEST_POSTGRES_URL is not set")

SHARED_DEVICES = 8
OTHER_ACCOUNTS = 8
BATCHES = int(os.environ.get("BACKSTORY_TEST_PG_BATCHES") or 20)  # per device
DECISION_SHARE = {0: 0.2}  # account 0 (eight devices) decides most; the others 10%


DEVICE_ENTRIES = ("domain.accounts:Account.DeviceAdded", "domain.accounts:Account.DeviceRevoked")


def _admin_url() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def pg_url():
    """A fresh schema of its own on the test PostgreSQL, dropped afterwards."""
    import psycopg

    schema = f"bs_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}schema={schema}"
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _store(url: str):
    from service.application import BackstoryApp
    from service.config import parse_store

    return BackstoryApp(parse_store(url).env)


# ----- setting up: accounts, paired devices, programs --------------------------------------------


def _accounts(url: str) -> list[dict]:
    from service.accounts import create_account

    app = _store(url)
    try:
        return [create_account(app, f"person {i}") for i in range(1 + OTHER_ACCOUNTS)]
    finally:
        app.close()


def _pair_at_once(load: Load, token: str, count: int) -> list[dict]:
    """``count`` devices paired by one device at the same moment, through every server."""
    paired: list[dict] = []
    barrier = threading.Barrier(count)

    def pair(i: int) -> None:
        barrier.wait()
        status, body = load.log.call("POST", load.urls[i % len(load.urls)], "/v1/devices",
                                     {"name": f"device {i + 1}"}, token)
        if status == 201:
            paired.append(body)

    threads = [threading.Thread(target=pair, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(paired) == count, [c for c in load.log.calls if c.status != 201]
    return paired


def _set_up(load: Load, accounts: list[dict]) -> None:
    shared = accounts[0]
    devices = [Device(0, shared["device_id"], shared["token"])]
    devices += [Device(0, p["device_id"], p["token"]) for p in _pair_at_once(load, shared["token"],
                                                                             SHARED_DEVICES - 1)]
    status, listed = load.log.call("GET", load.urls[1], "/v1/devices", token=shared["token"])
    assert status == 200
    assert sorted(d["device_id"] for d in listed["devices"]) == sorted(d.device_id for d in devices), \
        "a device paired concurrently went missing from the account (lost update)"
    devices += [Device(i, a["device_id"], a["token"]) for i, a in enumerate(accounts) if i > 0]
    load.devices = devices
    firsts = {a["device_id"] for a in accounts}
    for i, first in enumerate(d for d in devices if d.device_id in firsts):
        batch = [mutation(1, "init", START, name=f"person {first.account}", timezone="UTC"),
                 *(mutation(2 + k, "add", START, name=name, position="1:supine", sets=3, reps=10)
                   for k, name in enumerate(EXERCISES))]
        reply = load.push_new(first, batch, i)
        assert [r["status"] for r in reply["results"]] == ["applied"] * len(batch), reply


# ----- the checks ----------------------------------------------------------------------------------


def _check_replies(load: Load) -> None:
    failed = [c for c in load.log.calls if c.status >= 500 or c.status == 0]
    assert not failed, f"{len(failed)} requests failed: {failed[:5]}"
    by_status = Counter((c.method, c.path, c.status) for c in load.log.calls)
    expected = {("POST", "/v1/sync/push", 200), ("POST", "/v1/sync/push", 409), ("GET", "/v1/sync/pull", 200),
                ("GET", "/v1/program", 200), ("POST", "/v1/devices", 201), ("GET", "/v1/devices", 200),
                ("GET", "/v1/sessions", 200)}
    assert set(by_status) <= expected, {k: v for k, v in by_status.items() if k not in expected}
    assert not load.problems, load.problems[:10]


def _check_outcomes(load: Load) -> None:
    """One first outcome per acknowledged mutation; every duplicate answer repeats it."""
    assert not (set(load.outcomes) & load.refused), "a mutation of a batch refused with 409 was acknowledged"
    for mutation_id, replies in load.outcomes.items():
        first = [r for r in replies if r.status != "duplicate"]
        assert len(first) == 1, f"mutation {mutation_id} was applied {len(first)} times: {replies}"
        for r in replies:
            if r.status == "duplicate":
                assert (r.original_status, r.result) == (first[0].status, first[0].result), (mutation_id, replies)
        m = load.sent[mutation_id]
        if m["type"] in FACTS:
            bad = m["args"].get("pain_before") == 11
            assert first[0].status == ("rejected" if bad else "applied"), (m, first[0])
        assert first[0].status in ("applied", "conflict", "rejected"), first[0]


def _check_seqs(load: Load) -> None:
    by_device: dict[str, list[int]] = defaultdict(list)
    for mutation_id in load.outcomes:
        first = load.first(mutation_id)
        by_device[first.device_id].append(first.seq)
    for d in load.devices:
        assert sorted(by_device[d.device_id]) == list(range(1, d.seq + 1)), \
            f"device {d.device_id}: accepted seqs are not 1..{d.seq}"


def _entry_key(e: dict) -> tuple:
    s = e["data"]["stored"]
    return e["position"], e["kind"], e["type"], e["mutation_id"], s["originator_id"], s["originator_version"]


def _check_feeds(load: Load, accounts: list[dict]) -> dict[int, list[dict]]:
    feeds: dict[int, list[dict]] = {}
    for i, account in enumerate(accounts):
        feed = pull_all(load.log, load.urls, account["token"], limit=97)
        feeds[i] = feed
        positions = [e["position"] for e in feed]
        assert positions == list(range(1, len(feed) + 1)), f"account {i}: feed positions have gaps or repeats"
        stored = [(e["data"]["stored"]["originator_id"], e["data"]["stored"]["originator_version"]) for e in feed]
        assert len(set(stored)) == len(stored), f"account {i}: an event is twice in the feed"
        mine = {d.device_id for d in load.devices if d.account == i}
        acknowledged = {mid for mid, rs in load.outcomes.items() if rs[0].device_id in mine}
        outcomes = Counter(e["mutation_id"] for e in feed if e["kind"] == "outcome")
        assert set(outcomes) == acknowledged, f"account {i}: feed outcomes differ from the acknowledged mutations"
        assert set(outcomes.values()) == {1}, f"account {i}: an outcome is twice in the feed"
        for e in feed:
            if e["kind"] == "outcome":
                assert e["data"]["status"] == load.first(e["mutation_id"]).status, e
        for d in load.devices:
            if d.account == i:
                at = 0
                while load.follow(d, at, 500):  # the rest, committed after this device stopped pushing
                    at += 1
                assert [_entry_key(e) for e in d.followed] == [_entry_key(e) for e in feed], \
                    f"device {d.device_id}: following the feed with a cursor saw something else than the feed"
    return feeds


def _check_sessions(load: Load, accounts: list[dict]) -> None:
    for i, account in enumerate(accounts):
        mine = {d.device_id for d in load.devices if d.account == i}
        logged = [load.first(mid).result["fact_id"] for mid, m in load.sent.items()
                  if mid in load.outcomes and m["type"] == "log" and load.first(mid).device_id in mine
                  and load.first(mid).status == "applied"]
        ids: Counter = Counter()
        path = "/v1/sessions?limit=500"
        while True:  # every page, as a client follows them
            status, body = load.log.call("GET", load.urls[i % 2], path, token=account["token"])
            assert status == 200
            ids.update(s["id"] for s in body["sessions"])
            if not body["has_more"]:
                break
            path = f"/v1/sessions?limit=500&after={quote(body['next_cursor'])}"
        assert set(ids.values()) <= {1} and set(ids) == set(logged), f"account {i}: /v1/sessions differs"


def _check_logs(logs: list[str]) -> None:
    for text in logs:
        for bad in ("Traceback", "catch-up failed", "store busy", "WORKER TIMEOUT"):
            assert bad not in text, f"server log has {bad!r}:\n{text[-3000:]}"


def _notifications(app) -> list:
    out, start = [], 1
    while True:
        notes = app.recorder.select_notifications(start, 1000)
        out.extend(notes)
        if len(notes) < 1000:
            return out
        start = notes[-1].id + 1


def _check_store(load: Load, accounts: list[dict], feeds: dict[int, list[dict]], app) -> None:
    """The event store itself: one scan of the notification log, then the aggregates that matter."""
    from domain.accounts import Device as DeviceAggregate
    from domain.conflicts import conflict_log_id
    from domain.facts import fact_log_id
    from domain.mutations import mutation_record_id
    from service.application import program_id_for

    programs = [program_id_for(a["account_id"]) for a in accounts]
    accounts_by_id = {a["account_id"]: i for i, a in enumerate(accounts)}
    account_of = {d.device_id: d.account for d in load.devices}
    first = {mid: load.first(mid) for mid in load.outcomes}

    # Which account each stream belongs to, derived from the acknowledged replies alone.
    owner: dict[UUID, int] = {}
    months: dict[tuple[int, str], set[str]] = defaultdict(set)  # applied fact ids by account and month
    for i, program_id in enumerate(programs):
        owner[program_id] = i
        owner[conflict_log_id(program_id)] = i
    for mutation_id, f in first.items():
        i = account_of[f.device_id]
        owner[mutation_record_id(programs[i], mutation_id)] = i
        if f.status == "applied" and "month" in f.result:
            owner[fact_log_id(programs[i], f.result["month"])] = i
            months[(i, f.result["month"])].add(f.result["fact_id"])

    streams: dict[int, list[tuple[str, int]]] = defaultdict(list)
    facts, decisions, conflicts = Counter(), Counter(), Counter()
    decided_at: dict[str, int] = {}  # program version of each applied decision
    decided_by: dict[tuple[int, int], str] = {}  # (account, program version) -> the deciding device
    records: dict[str, list[tuple]] = defaultdict(list)
    for note in _notifications(app):
        if note.topic.startswith("eventsourcing."):
            continue  # snapshots
        i = owner.get(note.originator_id)
        if i is None:
            assert note.topic.startswith("domain.accounts:"), \
                f"an event of a stream no acknowledged mutation explains: {note.topic} {note.originator_id}"
            if note.topic.startswith(DEVICE_ENTRIES):  # who paired or revoked which device: in its account's feed
                streams[accounts_by_id[str(note.originator_id)]].append(
                    (str(note.originator_id), note.originator_version))
            continue
        streams[i].append((str(note.originator_id), note.originator_version))
        event = app.mapper.to_domain_event(note)
        mutation_id = getattr(event, "mutation_id", None)
        if mutation_id is None:
            continue  # a fact month's or the conflict log's opening event
        if note.topic.startswith("domain.facts:FactLog."):
            facts[mutation_id] += 1
        elif note.topic.startswith("domain.program:Program."):
            decisions[mutation_id] += 1
            decided_at[mutation_id] = note.originator_version
            decided_by[(i, note.originator_version)] = event.device_id
        elif note.topic.startswith("domain.conflicts:ConflictLog."):
            conflicts[mutation_id] += 1
        elif note.topic.startswith("domain.mutations:MutationRecord."):
            records[mutation_id].append((note.originator_version, event.status, event.seq, event.device_id))

    # The feed of each account is every event of its streams, once each, in the store's order.
    for i in range(len(accounts)):
        stored = [(e["data"]["stored"]["originator_id"], e["data"]["stored"]["originator_version"])
                  for e in feeds[i]]
        assert stored == streams[i], f"account {i}: the feed is not every event of its streams, in store order"

    # Exactly once: one MutationRecord (one event) per acknowledged mutation, with its first outcome;
    # each applied fact once in a fact log, each applied decision once in the program, each conflict once.
    assert set(records) == set(first), "MutationRecords differ from the acknowledged mutations"
    overridden = overridden_edits(first.values())
    for mutation_id, f in first.items():
        assert records[mutation_id] == [(1, f.status, f.seq, f.device_id)], (mutation_id, records[mutation_id], f)
        m = load.sent[mutation_id]
        assert effects_ok(m["type"], f.status, facts[mutation_id], conflicts[mutation_id], decisions[mutation_id],
                          mutation_id in overridden), \
            (m, f, facts[mutation_id], decisions[mutation_id], conflicts[mutation_id])
    assert not (set(facts) | set(decisions) | set(conflicts)) - set(first), \
        "an event of a mutation that was never acknowledged"
    # No lost update: every decision after the set-up is on the same exercise, so a progression made
    # against version b applies as version b + 1, or later only over the same device's own decisions
    # (it saw them); one stale against another device's change is a conflict naming the changes since b.
    for mutation_id, f in first.items():
        m = load.sent[mutation_id]
        if m["type"] != "progress" or m["base_version"] is None:
            continue
        if f.status == "applied":
            i = account_of[f.device_id]
            between = {decided_by.get((i, v)) for v in range(m["base_version"] + 1, decided_at[mutation_id])}
            assert between <= {f.device_id}, \
                f"a stale progression (seen {m['base_version']}) applied as version {decided_at[mutation_id]} " \
                f"over other devices' decisions {between}"
        elif f.status == "conflict":
            theirs = [t["version"] for t in f.result["conflict"]["theirs"]]
            assert theirs and min(theirs) > m["base_version"], (m, f.result)
    for (i, month), fact_ids in months.items():
        assert set(app.ledger(programs[i]).fact_log(month).facts) == fact_ids, (i, month)

    # Through the ledger too: a sample of acknowledged mutations, and every one refused with 409.
    for mutation_id in random.Random(load.seed).sample(sorted(first), min(200, len(first))):
        f = first[mutation_id]
        record = app.ledger(programs[account_of[f.device_id]]).mutation_record(mutation_id)
        assert record is not None and (record.status, record.seq, record.result) == (f.status, f.seq, f.result)
    for mutation_id in load.refused:
        assert all(app.ledger(p).mutation_record(mutation_id) is None for p in programs), \
            f"mutation {mutation_id} of a batch refused with 409 was stored"

    # Each device: last_seq as acknowledged, batches accepted in increasing order, stored seqs 1..last_seq.
    stored_seqs: dict[str, list[int]] = defaultdict(list)
    for mutation_id, [(_, _, seq, device_id)] in records.items():
        stored_seqs[device_id].append(seq)
    for d in load.devices:
        aggregate = app.find(UUID(d.device_id))
        assert isinstance(aggregate, DeviceAggregate) and aggregate.last_seq == d.seq, d.device_id
        accepted = [e.last_seq for e in app.events.get(UUID(d.device_id)) if hasattr(e, "last_seq")]
        assert accepted == sorted(set(accepted)) and accepted[-1] == d.seq, (d.device_id, accepted)
        assert sorted(stored_seqs[d.device_id]) == list(range(1, d.seq + 1)), d.device_id


def _snapshot(p) -> dict[str, list]:
    from sqlalchemy import select

    from projections.tables import metadata

    def cell(v):
        return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v

    with p.engine.connect() as conn:
        return {t.name: sorted((tuple(cell(v) for v in row) for row in conn.execute(select(t))), key=repr)
                for t in metadata.sorted_tables if t.name.startswith("proj_")}


def _check_projections(app, url: str) -> None:
    from projections import Projections

    view = Projections(app, url)
    try:
        lagging = [s for s in view.status() if s["lag"]]
        assert not lagging, f"the projections lag after reads through the API caught them up: {lagging}"
        view.catch_up()
        live = _snapshot(view)
        assert live["proj_feed"] and live["proj_facts"] and live["proj_conflicts"]
        view.rebuild()
        rebuilt = _snapshot(view)
        for name in live:
            assert rebuilt[name] == live[name], f"{name}: the live projection differs from a rebuild"
    finally:
        view.close()


# ----- the test ------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["two-processes", "two-workers"])
def test_devices_pushing_at_once_through_two_server_processes(pg_url, tmp_path, layout):
    timings: dict[str, float] = {}
    started = time.perf_counter()
    accounts = _accounts(pg_url)
    servers = Servers(pg_url, layout, tmp_path)
    try:
        timings["start"] = time.perf_counter() - started
        load = Load(servers.urls, seed=int(os.environ.get("BACKSTORY_TEST_SEED") or random.randrange(10**6)))
        _set_up(load, accounts)
        t = time.perf_counter()
        load.run(BATCHES, DECISION_SHARE)
        timings["load"] = time.perf_counter() - t
        t = time.perf_counter()
        _check_replies(load)
        _check_outcomes(load)
        _check_seqs(load)
        feeds = _check_feeds(load, accounts)
        _check_sessions(load, accounts)
        _check_replies(load)
    finally:
        logs = servers.stop()
    _check_logs(logs)
    app = _store(pg_url)
    try:
        _check_store(load, accounts, feeds, app)
        _check_projections(app, pg_url)
    finally:
        app.close()
    timings["checks"] = time.perf_counter() - t
    statuses = Counter(load.first(mid).status for mid in load.outcomes)
    based = Counter((m["type"], load.first(mid).status) for mid, m in load.sent.items()
                    if mid in load.outcomes and m["type"] in ("progress", "regress") and m["base_version"])
    requests = Counter(c.status for c in load.log.calls)
    print(f"\n{layout} (seed {load.seed}): {len(load.outcomes)} mutations acknowledged {dict(statuses)}, "
          f"{len(load.refused)} refused with 409, decisions with a base version {dict(based)}, "
          f"requests {dict(requests)}, "
          + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    assert statuses["conflict"] > 0 and statuses["rejected"] > 0 and len(load.refused) > 0


# ----- booting several server processes at once --------------------------------------------------


def _boot(url: str, barrier, results) -> None:
    """What each gunicorn worker does at boot (``api.serve``'s factory), in a forked process."""
    from api.app import create_app

    barrier.wait()
    try:
        app = create_app({"DATABASE_URL": url})
        app.extensions["backstory"].close()
        results.put("ok")
    except Exception as e:  # noqa: BLE001 (reported by the parent)
        results.put(f"{type(e).__name__}: {e}")


def test_server_processes_booting_at_once_all_start(pg_url):
    """Four workers booting at the same moment all come up: on an empty schema, then 5 times on existing tables."""
    import multiprocessing

    import api.app  # noqa: F401 (imported once, before forking, so the boots start together)

    context = multiprocessing.get_context("fork")
    failures: list[str] = []
    for _ in range(6):
        barrier, results = context.Barrier(4), context.Queue()
        workers = [context.Process(target=_boot, args=(pg_url, barrier, results)) for _ in range(4)]
        for w in workers:
            w.start()
        outcomes = [results.get(timeout=120) for _ in workers]
        for w in workers:
            w.join(timeout=60)
        failures += [o for o in outcomes if o != "ok"]
        if failures:
            break
    assert not failures, failures
