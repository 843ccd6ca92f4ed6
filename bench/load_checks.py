"""What must hold after a load run (``bench/load.py``): nothing acknowledged lost or stored twice.

Each check returns ``(figures, problems)``: a few counts for the report and a
list of what did not hold (empty when all is well).

- ``check_feeds`` (server still up): each account's feed, pulled from the
  start, has positions 1..n, and one outcome entry for each mutation the
  account's devices had acknowledged, and no other;
- ``check_store`` (server stopped): straight from the event store's
  notification log, every acknowledged mutation has exactly one
  MutationRecord, with the device, seq and status its replies gave (one
  fresh outcome at most, every other reply a ``duplicate`` naming it); an applied fact is one fact
  event, a conflict one conflict record, a rejected mutation nothing; no record
  of a mutation no device sent; each device's stored seqs are 1..its last seq;
- ``check_log``: the server's log has no traceback, no worker timeout, no
  "store busy", no failed projections catch-up, no "database is locked" and
  no unavailable pool connection.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from urllib.parse import quote

from bench.exactly_once import effects_ok, overridden_edits

BAD_LOG_LINES = ("Traceback", "WORKER TIMEOUT", "store busy", "catch-up failed", "database is locked",
                 "OperationalError", "ConnectionUnavailable")


def _feed(device) -> list[dict]:
    entries, cursor = [], ""
    for _ in range(100_000):
        path = "/v1/sync/pull?limit=1000" + (f"&after={quote(cursor)}" if cursor else "")
        status, page = device.call("check", "GET", path)
        if status != 200:
            raise AssertionError(f"pulling the whole feed answered {status}: {page}")
        entries.extend(page["entries"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return entries
    raise AssertionError("the feed never ended")


def check_feeds(devices: list, tally) -> tuple[dict, list[str]]:
    account_of = {d.device_id: d.account for d in devices}
    acked: dict[int, set[str]] = defaultdict(set)
    for mutation_id, acks in tally.acks.items():
        acked[account_of[acks[0].device_id]].add(mutation_id)
    problems, total = [], 0
    for first in {d.account: d for d in reversed(devices)}.values():
        feed = _feed(first)
        total += len(feed)
        if [e["position"] for e in feed] != list(range(1, len(feed) + 1)):
            problems.append(f"account {first.account}: the feed's positions have holes or repeats")
        outcomes = Counter(e["mutation_id"] for e in feed if e["kind"] == "outcome")
        twice = [m for m, n in outcomes.items() if n > 1]
        missing, unknown = acked[first.account] - set(outcomes), set(outcomes) - acked[first.account]
        if twice or missing or unknown:
            problems.append(f"account {first.account}: outcomes in the feed: {len(twice)} repeated, "
                            f"{len(missing)} acknowledged but missing, {len(unknown)} never acknowledged")
    return {"feed_entries": total}, problems


def _scan(app):
    records, facts, conflicts = defaultdict(list), Counter(), Counter()
    start = 1
    while True:
        notes = app.recorder.select_notifications(start, 1000)
        for note in notes:
            topic = note.topic
            if not topic.startswith(("domain.mutations:MutationRecord.", "domain.facts:FactLog.",
                                     "domain.conflicts:ConflictLog.")):
                continue
            event = app.mapper.to_domain_event(note)
            mutation_id = getattr(event, "mutation_id", None)
            if mutation_id is None:
                continue
            if topic.startswith("domain.mutations:"):
                records[mutation_id].append(event)
            elif topic.startswith("domain.facts:"):
                facts[mutation_id] += 1
            else:
                conflicts[mutation_id] += 1
        if len(notes) < 1000:
            return records, facts, conflicts
        start = notes[-1].id + 1


def check_store(store, devices: list, tally) -> tuple[dict, list[str]]:
    app = store.open()
    try:
        records, facts, conflicts = _scan(app)
    finally:
        app.close()
    sent = {mid: m for d in devices for mid, m in d.sent.items()}
    problems: list[str] = []
    unknown = set(records) - set(tally.acks)
    if unknown:
        problems.append(f"{len(unknown)} stored records of mutations never acknowledged, e.g. {sorted(unknown)[:3]}")
    statuses: Counter = Counter()
    overridden = overridden_edits(r for found in records.values() for r in found)
    for mutation_id, acks in tally.acks.items():
        found = records.get(mutation_id, [])
        if len(found) != 1:
            problems.append(f"acknowledged mutation {mutation_id} is stored {len(found)} times")
            continue
        r = found[0]
        statuses[r.status] += 1
        # One reply at most gives the fresh outcome (none when that reply was lost); every other is a duplicate
        # naming it, from the same device and seq.
        fresh = [a for a in acks if a.status != "duplicate"]
        told = {(a.device_id, a.seq, a.original_status if a.status == "duplicate" else a.status) for a in acks}
        if len(fresh) > 1 or told != {(r.device_id, r.seq, r.status)}:
            problems.append(f"mutation {mutation_id}: stored as {(r.device_id, r.seq, r.status)}, the replies said "
                            f"{[(a.seq, a.status, a.original_status) for a in acks]}")
        m = sent.get(mutation_id)
        if m and not effects_ok(m["type"], r.status, facts[mutation_id], conflicts[mutation_id],
                                overridden=mutation_id in overridden):
            problems.append(f"mutation {mutation_id} ({m['type']}, {r.status}): {facts[mutation_id]} fact events, "
                            f"{conflicts[mutation_id]} conflict records")
    seqs: dict[str, list[int]] = defaultdict(list)
    for found in records.values():
        seqs[found[0].device_id].append(found[0].seq)
    for d in devices:
        if sorted(seqs[d.device_id]) != list(range(1, d.seq + 1)):
            problems.append(f"device {d.device_id}: stored seqs are not 1..{d.seq}")
    return {"acknowledged": len(tally.acks), "stored_records": sum(map(len, records.values())),
            "outcomes": dict(sorted(statuses.items()))}, problems


def check_log(text: str) -> tuple[dict, list[str]]:
    bad = [line for line in text.splitlines() if any(word in line for word in BAD_LOG_LINES)]
    pushes = text.count("POST /v1/sync/push 200")
    return {"logged_pushes": pushes}, [f"server log: {line[:300]}" for line in bad[:10]]
