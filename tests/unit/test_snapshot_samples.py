"""Stored snapshots of every earlier aggregate state version still load (SPEC 8, upcasting).

A snapshot holds an aggregate's whole state, so when the state's layout changes (the aggregate's
``class_version``), old snapshots in people's stores must still load through ``upcast_vN_vM``.
``tests/samples/snapshots_v*.jsonl`` keep snapshots exactly as the store holds them, written by
the code of that version (``snapshots_v1.jsonl``: the Program of ``tests/samples/make_samples.py``
when its index kept a list of entries per field). Never rewrite a line; add a file for each new
state version.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import StoredEvent

from domain.timeline import fold
from domain.view import materialize
from service.application import BackstoryApp, program_id_for
from service.config import parse_store
from tests.unit.test_event_samples import aggregate_classes, topic_of

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
sys.path.insert(0, str(SAMPLES))
import make_samples  # noqa: E402  (the sample program, made by the real aggregate methods)


def snapshot_lines() -> list[dict]:
    lines = []
    for path in sorted(SAMPLES.glob("snapshots_v*.jsonl")):
        lines += [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines() if text.strip()]
    return lines


@pytest.fixture
def app(tmp_path):
    app = BackstoryApp(parse_store(f"sqlite:///{tmp_path / 'store.sqlite'}").env)
    yield app
    app.close()


def decode(app: BackstoryApp, line: dict):
    stored = StoredEvent(originator_id=UUID(line["originator_id"]), originator_version=line["originator_version"],
                         topic=line["topic"], state=line["state"].encode("utf-8"))
    return app.mapper.to_domain_event(stored).mutate(None)


def test_every_earlier_state_version_has_a_stored_snapshot():
    have = {(json.loads(line["state"])["topic"], line["class_version"]) for line in snapshot_lines()}
    for cls in aggregate_classes():
        for version in range(1, getattr(cls, "class_version", 1)):
            assert (topic_of(cls), version) in have, f"no stored snapshot of {topic_of(cls)} state v{version}"


@pytest.mark.parametrize("line", snapshot_lines(), ids=lambda line: f"v{line['class_version']}")
def test_an_old_program_snapshot_loads_and_answers_like_the_replay(app, line):
    program = decode(app, line)
    # the sample program as it was when the snapshot was taken (later samples add to its stream)
    events = make_samples.program_events(program_id_for(make_samples.ACCOUNT))[:line["originator_version"]]
    assert program.version == len(events) == line["originator_version"]
    for n in range(-1, 16):
        as_of = make_samples.day(n) + timedelta(hours=12)
        for known_at in (None, make_samples.day(4), make_samples.day(9)):
            assert program.view(as_of, known_at) == materialize(fold(events, as_of, known_at)), (n, known_at)


def test_an_upcast_program_takes_new_decisions_and_snapshots_in_the_new_layout(app):
    line = snapshot_lines()[0]
    program = decode(app, line)
    ctx = make_samples.ctx(20, "new cycle")
    program.fitting("open", "after the upgrade", ctx)
    assert program.view(make_samples.day(21)).fitting["number"] == 2
    state = json.loads(app.mapper.to_stored_event(Snapshot.take(program)).state)["state"]
    assert state["class_version"] == 2
    assert decode(app, {**line, "state": json.dumps({**json.loads(line["state"]), "state": state}),
                        "originator_version": program.version}).timeline == program.timeline
