"""The shelf of saved aggregates a server keeps between pushes: never stale, never polluted.

A second application on the same store plays another server process: what it
writes must be seen by the first one's next push (the lent aggregate is brought
up to date), and a refused or failed unit must leave nothing in memory.
"""

from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError

from domain.facts import fact_log_id, month_of
from service.application import BackstoryApp, Shelf
from service.config import parse_store
from tests.integration.test_sync_push import NOW, Device, server, two_devices  # noqa: F401 (fixtures)


def fresh(store_url: str, aggregate_id):
    app = BackstoryApp(parse_store(store_url).env)
    try:
        return app.find(aggregate_id)
    finally:
        app.close()


def state(aggregate) -> dict:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def test_a_push_sees_what_another_process_wrote_meanwhile(store_url, server, two_devices):
    a, _ = two_devices
    assert a.push(a.mutation("log", 1, exercise="Bridge", pain_before=3))["results"][0]["status"] == "applied"
    a.push(a.mutation("log", 1, exercise="Bridge", pain_before=3))

    other = BackstoryApp(parse_store(store_url).env)
    try:
        b = Device(other, a.token)
        b.seq = a.seq
        added = b.push(b.mutation("add", 0.5, name="Dead bug", position="1:supine", sets=2, reps=8))
        assert added["results"][0]["status"] == "applied"
        a.seq = b.seq
    finally:
        other.close()

    logged = a.push(a.mutation("log", 0.1, exercise="Dead bug", pain_before=2))
    assert logged["results"][0]["status"] == "applied", logged
    program = server.shelf.take(a.who.program_id)
    assert program is not None and state(program) == state(fresh(store_url, a.who.program_id))


def _record(uow, month_log, n: int) -> None:
    month_log.record("break", f"fact-{n}", NOW, NOW, "device", f"mutation-{n}", details={"kind": "walk"})
    uow.add(month_log)


def test_a_unit_that_fails_puts_nothing_back(store_url, server, two_devices):
    a, _ = two_devices
    a.push(a.mutation("log", 0, exercise="Bridge", pain_before=3))
    month = month_of(NOW)
    ledger = a.who.ledger(server)

    dropped = ledger.unit_of_work()  # changes in memory, then abandoned (a refused mutation)
    _record(dropped, dropped.fact_log(month), 1)
    assert server.shelf.take(fact_log_id(a.who.program_id, month)) is None

    first, second = ledger.unit_of_work(), ledger.unit_of_work()
    _record(first, first.fact_log(month), 2)
    _record(second, second.fact_log(month), 3)  # not on the shelf (lent to first): loaded from the store
    first.save()
    with pytest.raises(IntegrityError):
        second.save()  # a concurrent writer: the caller retries with a new unit
    kept = server.shelf.take(fact_log_id(a.who.program_id, month))
    assert kept is not None and "fact-1" not in kept.facts and "fact-3" not in kept.facts
    assert state(kept) == state(fresh(store_url, fact_log_id(a.who.program_id, month)))


def test_the_shelf_keeps_at_most_its_size():
    shelf = Shelf(size=2)

    class Fake:
        pending_events = ()

    from domain.conflicts import ConflictLog

    logs = [ConflictLog.open(f"00000000-0000-0000-0000-00000000000{i}") for i in range(3)]
    for log in logs:
        log.collect_events()
    shelf.put(logs + [Fake()])
    assert shelf.take(logs[0].id) is None
    assert shelf.take(logs[2].id) is logs[2]
