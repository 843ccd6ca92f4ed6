"""The one command path against a real store (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.errors import DomainError, InvalidValue, Refused
from service import queries
from service.application import Ledger
from tests.conftest import open_ledger
from service.exchange import export_lines, import_mutations, read_export
from service.handling import handle
from service.mutation import Mutation

NOW = datetime.now(timezone.utc)


def mut(mutation_type: str, days_ago: float, device: str = "dev-a", **args) -> Mutation:
    return Mutation(str(uuid.uuid4()), mutation_type, NOW - timedelta(days=days_ago), device, args)


def stored_count(ledger: Ledger) -> int:
    return ledger.app.recorder.max_notification_id() or 0


def seed(ledger: Ledger) -> None:
    handle(ledger, mut("init", 100, name="Sam", timezone="UTC"))
    handle(ledger, mut("add", 95, name="Dead bug", position="1:supine", sets=3, reps=8))
    handle(ledger, mut("add", 95, name="Bird dog", position="kneeling:quadruped", sets=3, reps=6, per_side=True))


def test_a_mutation_is_applied_once(ledger):
    seed(ledger)
    m = mut("log", 10, exercise="dead bug", pain_before=4, pain_after=2)
    first = handle(ledger, m)
    before = stored_count(ledger)
    again = handle(ledger, m)
    assert first["status"] == "applied" and again["status"] == "duplicate"
    assert again["result"] == first["result"]
    assert stored_count(ledger) == before
    assert queries.recap(ledger, NOW - timedelta(days=30), NOW, ZoneInfo("UTC"))["sessions"] == 1


def test_refused_mutation_stores_nothing(ledger):
    seed(ledger)
    before = stored_count(ledger)
    with pytest.raises(Refused) as refused:
        handle(ledger, mut("regress", 5, exercise="Dead bug", sets=4, reason="x"))
    assert refused.value.rule == "regression_lowers_only"
    with pytest.raises(InvalidValue) as invalid:
        handle(ledger, mut("log", 5, exercise="Dead bug", pain_during=11))
    assert invalid.value.field == "pain_during"
    assert stored_count(ledger) == before


def test_same_mutation_from_two_processes_applies_once(store_url):
    ledgers = [open_ledger(store_url) for _ in range(2)]
    seed(ledgers[0])
    m = mut("progress", 3, exercise="Dead bug", sets=4, reason="easy")
    results, barrier = [], threading.Barrier(2)

    def run(a):
        barrier.wait()
        results.append(handle(a, m)["status"])

    threads = [threading.Thread(target=run, args=(a,)) for a in ledgers]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == ["applied", "duplicate"]
    fresh = open_ledger(store_url)
    assert [e["type"] for e in queries.history(fresh, "Dead bug")["entries"]] == ["add", "progress"]


def test_concurrent_decisions_both_land(store_url):
    ledgers = [open_ledger(store_url) for _ in range(2)]
    seed(ledgers[0])
    muts = [mut("progress", 2, exercise="Dead bug", sets=4, reason="a"),
            mut("regress", 2, exercise="Bird dog", sets=2, reason="b")]
    barrier = threading.Barrier(2)

    def run(a, m):
        barrier.wait()
        handle(a, m)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(ledgers, muts)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    view = {e["name"]: e for e in queries.show(open_ledger(store_url), NOW)["exercises"]}
    assert view["Dead bug"]["prescription"]["sets"] == 4
    assert view["Bird dog"]["prescription"]["sets"] == 2


def test_snapshots_keep_the_same_program(store_url):
    ledger = open_ledger(store_url)
    seed(ledger)
    for i in range(130):  # crosses the snapshot interval
        kind, sets = ("progress", 4) if i % 2 == 0 else ("regress", 3)
        handle(ledger, mut(kind, 90 - i * 0.5, exercise="Dead bug", sets=sets, reason=f"step {i}"))
    assert ledger.app.snapshots is not None
    assert list(ledger.app.snapshots.get(ledger.program_id)), "a snapshot was taken"
    fresh = open_ledger(store_url)
    for days in (96, 80, 50, 30, 0):
        at = NOW - timedelta(days=days)
        assert queries.show(fresh, at) == queries.show(ledger, at)


def test_backdated_decision_lands_at_its_date(ledger):
    seed(ledger)
    handle(ledger, mut("progress", 10, exercise="Dead bug", sets=4, reason="later"))
    handle(ledger, mut("regress", 50, exercise="Dead bug", reps=6, reason="earlier, recorded late"))
    def rx(days):
        ex = queries.show(ledger, NOW - timedelta(days=days))["exercises"]
        return {e["name"]: e["prescription"] for e in ex}["Dead bug"]
    assert (rx(60)["sets"], rx(60)["reps"]) == (3, 8)
    assert (rx(40)["sets"], rx(40)["reps"]) == (3, 6)
    assert (rx(5)["sets"], rx(5)["reps"]) == (4, 6)
    entries = queries.history(ledger, "Dead bug")["entries"]
    assert [e["reason"] for e in entries] == [None, "earlier, recorded late", "later"]


def random_history(ledger: Ledger, rng: random.Random) -> None:
    seed(ledger)
    names = ["Dead bug", "Bird dog"]
    for day in range(90, 0, -1):
        for name in names:
            if rng.random() < 0.5:
                before = rng.randint(2, 7)
                handle(ledger, mut("log", day, exercise=name, pain_before=before, pain_after=max(0, before - rng.randint(0, 3)),
                                tension=[f"paraspinals:{rng.choice(['left', 'right'])}:overactive:{rng.randint(1, 8)}"]))
        if rng.random() < 0.3:
            handle(ledger, mut("break", day, kind="walk", seconds=45))
        if day % 15 == 0:
            try:
                handle(ledger, mut(rng.choice(["progress", "regress"]), day, exercise=rng.choice(names),
                                sets=rng.randint(1, 5), reason="fitting"))
            except DomainError:
                pass
    handle(ledger, mut("deconstruct", 0.1, exercise="Bird dog", into=["Arm reach", "Leg reach"], reason="aggravates"))


def test_export_then_import_reproduces_everything(store_url, tmp_path):
    source = open_ledger(store_url)
    random_history(source, random.Random(7))
    lines = list(export_lines(source, NOW))
    target = open_ledger(f"sqlite:///{tmp_path / 'restored.sqlite'}")
    counts = import_mutations(target, read_export(lines))
    assert counts["refused"] == [] and counts["applied"] == len(lines) - 1
    rng = random.Random(3)
    utc = ZoneInfo("UTC")
    for _ in range(10):
        a = NOW - timedelta(days=rng.uniform(0, 100))
        b = a + timedelta(days=rng.uniform(0, 30))
        k = a + timedelta(minutes=rng.uniform(0, 60 * 24))
        assert queries.show(target, a, k) == queries.show(source, a, k)
        assert queries.history(target, since=a - timedelta(days=20), until=b) == \
            queries.history(source, since=a - timedelta(days=20), until=b)
        assert queries.recap(target, a, b, utc) == queries.recap(source, a, b, utc)
    again = import_mutations(target, read_export(lines))
    assert again["applied"] == 0 and again["duplicate"] == len(lines) - 1


def test_malformed_export_is_refused_whole(ledger):
    seed(ledger)
    before = stored_count(ledger)
    lines = list(export_lines(ledger, NOW))
    with pytest.raises(InvalidValue) as e:
        read_export(lines + ['{"mutation_id": "x"}'])
    assert e.value.field == f"line {len(lines) + 1}"
    with pytest.raises(InvalidValue):
        read_export(['{"format": "something-else"}'])
    assert stored_count(ledger) == before


def test_a_fact_names_the_exercise_that_had_the_name_on_its_date(ledger):
    """Issue 9 item 5: a name taken again later does not pull earlier facts to the new exercise."""
    handle(ledger, mut("init", 90, name="Sam", timezone="UTC"))
    old = handle(ledger, mut("add", 80, name="Bridge", position="1:supine", sets=3, reps=10))["result"]
    handle(ledger, mut("retire", 50, exercise="Bridge", reason="done"))
    new = handle(ledger, mut("add", 35, name="Bridge", position="1:supine", sets=3, reps=10))["result"]
    logs = [handle(ledger, mut("log", 65 - d, exercise="bridge", pain_before=4, pain_during=1, pain_after=2))
            for d in range(5)]
    assert {r["result"]["exercise_id"] for r in logs} == {old["exercise_id"]}
    before = stored_count(ledger)
    with pytest.raises(Refused) as info:  # the new Bridge has no session of its own
        handle(ledger, mut("promote", 34, exercise="bridge"))
    assert "0 logged exposures" in str(info.value)
    with pytest.raises(DomainError) as info:  # no exercise had the name then: refused, naming why
        handle(ledger, mut("log", 85, exercise="Bridge", pain_before=3))
    assert "no exercise was named 'Bridge' on" in str(info.value) and "was added on" in str(info.value)
    assert stored_count(ledger) == before
    today = handle(ledger, mut("log", 1, exercise="bridge", pain_before=4))
    assert today["result"]["exercise_id"] == new["exercise_id"]
    decided = handle(ledger, mut("regress", 64, exercise="Bridge", reps=8, reason="sore"))  # the old one, then
    assert decided["result"]["exercise_id"] == old["exercise_id"]


def _colliding_mutation_ids(what: str, chars: int = 6) -> tuple[str, str]:
    """Two mutation ids whose derived ``what`` ids share their first ``chars`` characters."""
    from service.mutation import derived_id

    seen: dict[str, str] = {}
    while True:
        mid = str(uuid.uuid4())
        prefix = derived_id(mid, what)[:chars]
        if prefix in seen:
            return seen[prefix], mid
        seen[prefix] = mid


def test_an_ambiguous_fact_prefix_names_its_matches_and_voids_nothing(ledger):
    """Issue 9 item 14 for facts: a prefix two facts share (in different months) was taken as the newer month's."""
    from service.mutation import derived_id

    seed(ledger)
    first, second = _colliding_mutation_ids("fact")
    handle(ledger, Mutation(first, "log", NOW - timedelta(days=60), "dev-a", {"exercise": "Dead bug", "pain_before": 3}))
    handle(ledger, Mutation(second, "log", NOW - timedelta(days=5), "dev-a", {"exercise": "Dead bug", "pain_before": 4}))
    prefix = derived_id(first, "fact")[:6]
    before = stored_count(ledger)
    with pytest.raises(DomainError) as e:
        handle(ledger, mut("void", 1, fact=prefix, reason="typo"))
    assert f"the prefix {prefix} matches 2 facts" in str(e.value) and "give more of the id" in str(e.value)
    assert stored_count(ledger) == before
    assert handle(ledger, mut("void", 1, fact=derived_id(first, "fact")[:12], reason="typo"))["status"] == "applied"
