"""Projections caught up by several threads and processes at once, while devices keep pushing.

Every notification must be applied exactly once in total: the counts that the
concurrent ``catch_up`` calls return add up to the head of the log, the feed
positions stay contiguous, and the tables equal a rebuild from scratch.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from projections import Projections
from service.application import BackstoryApp
from service.config import parse_store
from tests.integration.test_projections import World, build_store, check_program, dump, head

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(store_url):
    opened = BackstoryApp(parse_store(store_url).env)
    yield opened
    opened.close()


def _race(workers: list, rounds: int = 1) -> list[int]:
    counts: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(workers))

    def work(p: Projections) -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                counts.append(p.catch_up())
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(p,)) for p in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    return counts


def test_two_threads_catching_up_apply_each_event_once(app, store_url):
    build_store(app, steps=60)
    own = [Projections(app, store_url, batch=25) for _ in range(2)]
    shared = Projections(app, store_url, batch=25)
    try:
        counts = _race([own[0], own[1], shared, shared], rounds=2)
        assert sum(counts) == head(app)
        assert {s["lag"] for s in shared.status()} == {0}
        together = dump(shared)
        shared.rebuild()
        assert dump(shared) == together
    finally:
        for p in own + [shared]:
            p.close()


def test_catching_up_while_devices_push(app, store_url):
    readers = [Projections(app, store_url, batch=7) for _ in range(2)]
    counts: list[int] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def follow(p: Projections) -> None:
        try:
            while not stop.is_set():
                counts.append(p.catch_up())
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=follow, args=(p,)) for p in readers]
    for t in threads:
        t.start()
    try:
        a = World(app, "sam", seed=31)
        b = World(app, "alex", seed=32)
        a.run(40)
        b.run(20)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=300)
    assert not errors, errors
    counts.append(readers[0].catch_up())
    assert sum(counts) == head(app)
    p = readers[0]
    try:
        for world in (a, b):
            entries, more = p.feed(world.program_id, 0, 100_000)
            assert not more and [e["position"] for e in entries] == list(range(1, len(entries) + 1))
            check_program(p, world.ledger, random.Random(1), count=40)
        live = dump(p)
        p.rebuild()
        assert dump(p) == live
    finally:
        for r in readers:
            r.close()


SCRIPT = """
import json, sys
from service.application import BackstoryApp
from service.config import parse_store
from projections import Projections
url = sys.argv[1]
app = BackstoryApp(parse_store(url).env)
p = Projections(app, url, batch=20)
print(json.dumps(p.catch_up()))
p.close(); app.close()
"""


def test_two_processes_catching_up_apply_each_event_once(app, store_url):
    build_store(app, steps=40)
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, store_url], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    assert sum(json.loads(out) for out, _ in outs) == head(app)
    p = Projections(app, store_url)
    try:
        assert p.catch_up() == 0
        together = dump(p)
        p.rebuild()
        assert dump(p) == together
    finally:
        p.close()
