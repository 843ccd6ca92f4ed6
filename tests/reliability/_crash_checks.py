"""What must hold after a server was killed during pushes: the checks of ``test_crash``.

Read straight from the event store (one scan of the notification log), from
the feed as the API serves it from position 1, and from the read models:

- every mutation a device sent is stored exactly once (one MutationRecord
  event), with the status every 200 reply gave it; nothing else is stored;
- no mutation is half-applied: an applied fact has exactly one fact event, an
  applied decision its program events, a conflict one conflict record, a
  rejected mutation nothing; no event carries a mutation id without a record;
- each device's stored seqs are 1..last_seq, and its Device aggregate says last_seq;
- each account's feed has positions 1..n with no hole or repeat, and is every
  event of the account's streams once, in the store's order;
- the read models, caught up, equal a rebuild from scratch.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from uuid import UUID

from bench.exactly_once import effects_ok, overridden_edits
from tests.reliability._crash_support import Connection, Fleet

# Streams of a program's feed besides the program itself; their first event names the program.
FEED_STREAMS = ("domain.facts:FactLog.Opened", "domain.conflicts:ConflictLog.Opened",
                "domain.mutations:MutationRecord.Processed")


@dataclass
class Scan:
    """The notification log, read once: who owns each stream, and each mutation's record and effects."""

    streams: dict[UUID, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))
    records: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    facts: Counter = field(default_factory=Counter)
    decisions: Counter = field(default_factory=Counter)
    conflicts: Counter = field(default_factory=Counter)


def _notifications(app) -> list:
    out, start = [], 1
    while True:
        notes = app.recorder.select_notifications(start, 1000)
        out.extend(notes)
        if len(notes) < 1000:
            return out
        start = notes[-1].id + 1


def _owner(note, event) -> UUID | None:
    """The program whose feed a stream belongs to (None: an account's or a device's stream)."""
    if note.topic == "domain.program:Program.Started":
        return note.originator_id
    if note.topic.startswith(FEED_STREAMS) or note.topic == "domain.accounts:Account.Opened":
        return UUID(str(event.program_id))  # an account's stream: its device pairings and revocations
    return None


def scan(app) -> Scan:
    s = Scan()
    owners: dict[UUID, UUID] = {}
    for note in _notifications(app):
        if note.topic.startswith("eventsourcing."):
            continue  # snapshots
        event = app.mapper.to_domain_event(note)
        if note.originator_version == 1:
            owner = _owner(note, event)
            if owner is not None:
                owners[note.originator_id] = owner
        program = owners.get(note.originator_id)
        if program is not None and note.topic != "domain.accounts:Account.Opened":
            s.streams[program].append((str(note.originator_id), note.originator_version))
        mutation_id = getattr(event, "mutation_id", None)
        if mutation_id is None:
            continue
        if note.topic.startswith("domain.mutations:MutationRecord."):
            s.records[mutation_id].append(event)
        elif note.topic.startswith("domain.facts:FactLog."):
            s.facts[mutation_id] += 1
        elif note.topic.startswith("domain.program:Program."):
            s.decisions[mutation_id] += 1
        elif note.topic.startswith("domain.conflicts:ConflictLog."):
            s.conflicts[mutation_id] += 1
    return s


def check_replies(fleet: Fleet) -> None:
    assert not fleet.failures, f"{len(fleet.failures)} 5xx replies: {fleet.failures[:5]}"
    assert not fleet.problems, fleet.problems[:10]
    for d in fleet.devices:
        assert not d.pending and d.acked == d.seq, f"device {d.device_id}: acked {d.acked} of {d.seq}"


def check_exactly_once(fleet: Fleet, s: Scan, programs: dict[int, UUID]) -> None:
    """Every sent mutation stored once with the status its replies gave; each effect once; nothing half-applied."""
    assert set(s.records) == set(fleet.sent), (
        f"stored records differ from the mutations sent: missing {len(set(fleet.sent) - set(s.records))}, "
        f"unknown {len(set(s.records) - set(fleet.sent))}")
    account_of = {d.device_id: d.account for d in fleet.devices}
    for mutation_id, (device_id, m) in fleet.sent.items():
        records = s.records[mutation_id]
        assert len(records) == 1, f"mutation {mutation_id} is stored {len(records)} times"
        r = records[0]
        assert (r.device_id, r.seq, UUID(r.program_id)) == (device_id, m["seq"], programs[account_of[device_id]]), r
        first = fleet.first(mutation_id)
        if first is not None:
            assert (first.status, first.result) == (r.status, r.result), (mutation_id, first, r.status)
        for a in fleet.answers.get(mutation_id, []):
            if a.status == "duplicate":
                assert (a.original_status, a.result) == (r.status, r.result), (mutation_id, a, r.status)
        check_effects(mutation_id, m["type"], r.status, s)
    orphans = (set(s.facts) | set(s.decisions) | set(s.conflicts)) - set(s.records)
    assert not orphans, f"events of mutations without an outcome record: {sorted(orphans)[:5]}"


def overridden(s: Scan) -> set[str]:
    """Edits a later-arriving winner overrode (its result names them): applied, then kept as a conflict."""
    if getattr(s, "_overridden", None) is None:
        s._overridden = overridden_edits(r for records in s.records.values() for r in records)
    return s._overridden


def check_effects(mutation_id: str, mutation_type: str, status: str, s: Scan) -> None:
    """A mutation's events match its outcome: all of its effect, once, or nothing."""
    effects = (s.facts[mutation_id], s.decisions[mutation_id], s.conflicts[mutation_id])
    assert effects_ok(mutation_type, status, effects[0], effects[2], effects[1], mutation_id in overridden(s)), f"mutation {mutation_id} ({mutation_type}, {status}) has effects (facts, decisions, " \
                        f"conflicts) {effects}: half-applied or applied twice"


def check_seqs(fleet: Fleet, s: Scan, app) -> None:
    from domain.accounts import Device as DeviceAggregate

    stored: dict[str, list[int]] = defaultdict(list)
    for [r] in s.records.values():
        stored[r.device_id].append(r.seq)
    for d in fleet.devices:
        assert sorted(stored[d.device_id]) == list(range(1, d.seq + 1)), f"device {d.device_id}: seqs have holes"
        aggregate = app.find(UUID(d.device_id))
        assert isinstance(aggregate, DeviceAggregate) and aggregate.last_seq == d.seq, d.device_id
        accepted = [e.last_seq for e in app.events.get(UUID(d.device_id)) if hasattr(e, "last_seq")]
        assert accepted == sorted(set(accepted)), f"device {d.device_id}: last_seq went back: {accepted}"


def pull_feed(url: str, token: str, limit: int = 97) -> list[dict]:
    """The whole feed of the token's account, through the API, from the start."""
    conn, entries, cursor = Connection(), [], ""
    try:
        for _ in range(100_000):
            path = f"/v1/sync/pull?limit={limit}" + (f"&after={cursor}" if cursor else "")
            status, page, _ = conn.request(url, "GET", path, None, token)
            assert status == 200, f"pull answered {status}: {page}"
            entries.extend(page["entries"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return entries
    finally:
        conn.close()
    raise AssertionError("the feed never ended")


def check_feed(feed: list[dict], s: Scan, program_id: UUID, mutation_ids: set[str]) -> None:
    positions = [e["position"] for e in feed]
    assert positions == list(range(1, len(feed) + 1)), "the feed's positions have holes or repeats"
    stored = [(e["data"]["stored"]["originator_id"], e["data"]["stored"]["originator_version"]) for e in feed]
    assert stored == s.streams[program_id], "the feed is not every event of the account's streams, in store order"
    outcomes = Counter(e["mutation_id"] for e in feed if e["kind"] == "outcome")
    assert set(outcomes) == mutation_ids and set(outcomes.values()) == {1}, \
        "the feed's outcomes are not the account's mutations, once each"


def _tables(p) -> dict[str, list]:
    from sqlalchemy import select

    from projections.tables import metadata

    def cell(v):
        return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v

    with p.engine.connect() as conn:
        return {t.name: sorted((tuple(cell(v) for v in row) for row in conn.execute(select(t))), key=repr)
                for t in metadata.sorted_tables if t.name.startswith("proj_")}


def check_projections(app, url: str) -> None:
    """The read models the killed and restarted servers kept up equal a rebuild from the events."""
    from projections import Projections

    view = Projections(app, url)
    try:
        lagging = [s for s in view.status() if s["lag"]]
        assert not lagging, f"the projections lag after the servers' own reads caught them up: {lagging}"
        live = _tables(view)
        assert live["proj_feed"] and live["proj_facts"]
        view.rebuild()
        rebuilt = _tables(view)
        for name in live:
            assert rebuilt[name] == live[name], f"{name}: the projection kept through the kills differs from a rebuild"
    finally:
        view.close()
