"""Stored samples of every event class version still decode (SPEC 8, upcasting).

``tests/samples/events_v*.jsonl`` hold events exactly as the event store keeps them (written once
by ``tests/samples/make_samples.py``). A fresh application's mapper must turn each back into an
event of its class, every concrete event class must have a sample, and replaying the samples must
rebuild the aggregates they came from.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import StoredEvent

from domain.facts import FactLog
from domain.mutations import MutationRecord
from domain.program import Program
from service.application import BackstoryApp
from service.config import parse_store

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def load_lines() -> list[dict]:
    lines = []
    for path in sorted(SAMPLES.glob("events_v*.jsonl")):
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if text.strip():
                lines.append({**json.loads(text), "_where": f"{path.name}:{n}"})
    return lines


LINES = load_lines()


def topic_of(cls: type) -> str:
    # spelled out rather than eventsourcing.utils.get_topic, which caches a class per topic process-wide
    return f"{cls.__module__}:{cls.__qualname__}"


def concrete_event_classes() -> list[type]:
    """Every event class the domain can store.

    The nested DomainEvent classes of the aggregates, minus the abstract bases (``command`` of
    "decision" or "fact", or no command at all) and minus the ``Event``/``Created`` classes the
    eventsourcing metaclass adds to every aggregate (ours use their own named creation events).
    """
    found = []
    for aggregate in (Program, FactLog, MutationRecord):
        for name, cls in vars(aggregate).items():
            if not (isinstance(cls, type) and issubclass(cls, DomainEvent)) or name in ("Event", "Created"):
                continue
            created = issubclass(cls, Aggregate.Created)
            if created or getattr(cls, "command", None) not in (None, "decision", "fact"):
                found.append(cls)
    return found


@pytest.fixture(autouse=True)
def keep_topic_cache():
    """Decoding caches topic->class in eventsourcing.utils for the whole process; leave it as found."""
    from eventsourcing import utils

    caches = [c for c in (getattr(utils, "_topic_cache", None), getattr(utils, "_type_cache", None))
              if isinstance(c, dict)]
    saved = [dict(c) for c in caches]
    yield
    for cache, before in zip(caches, saved):
        cache.clear()
        cache.update(before)


@pytest.fixture
def app(tmp_path):
    application = BackstoryApp(parse_store("sqlite:///" + str(tmp_path / "fresh.sqlite")).env, account="samples")
    yield application
    application.close()


def stored(line: dict) -> StoredEvent:
    return StoredEvent(originator_id=UUID(line["originator_id"]), originator_version=line["originator_version"],
                       topic=line["topic"], state=line["state"].encode("utf-8"))


def decode_all(app) -> list:
    return [app.mapper.to_domain_event(stored(line)) for line in LINES]


# ----- the samples file itself ---------------------------------------------------------------


def test_samples_exist_and_are_well_formed():
    assert len(LINES) >= 24
    for line in LINES:
        assert set(line) == {"topic", "originator_id", "originator_version", "state", "class_version", "_where"}
        assert isinstance(line["originator_version"], int) and line["originator_version"] >= 1
        assert isinstance(line["class_version"], int) and line["class_version"] >= 1
        assert isinstance(json.loads(line["state"]), dict), line["_where"]


def test_every_concrete_event_class_has_a_sample():
    classes = concrete_event_classes()
    assert len(classes) >= 24
    # the walk really separates the abstract bases from the concrete events
    assert Program.Started in classes and MutationRecord.Processed in classes and FactLog.Opened in classes
    for abstract in (Program.Decision, Program.PrescriptionChanged, Program.StatusChanged, FactLog.Fact):
        assert abstract not in classes
    sampled = {line["topic"] for line in LINES}
    missing = sorted(topic_of(c) for c in classes if topic_of(c) not in sampled)
    assert missing == [], f"no stored sample for {missing}: add one in tests/samples/make_samples.py"


def test_every_sample_names_a_known_event_class():
    known = {topic_of(c) for c in concrete_event_classes()}
    assert sorted({line["topic"] for line in LINES} - known) == []


# ----- decoding ------------------------------------------------------------------------------


@pytest.mark.parametrize("line", LINES, ids=[f"{line['_where']}:{line['topic'].split(':')[1]}" for line in LINES])
def test_each_sample_decodes_to_its_class(app, line):
    event = app.mapper.to_domain_event(stored(line))
    assert topic_of(type(event)) == line["topic"]
    assert isinstance(event, DomainEvent)
    assert str(event.originator_id) == line["originator_id"]
    assert event.originator_version == line["originator_version"]
    assert event.timestamp.tzinfo is not None
    occurred = getattr(event, "occurred_at", None)
    assert occurred is None or (isinstance(occurred, datetime) and occurred.utcoffset() is not None)
    # written back, it is the same stored state (nothing lost or renamed on the way)
    again = app.mapper.to_stored_event(event)
    assert again.topic == line["topic"]
    assert json.loads(again.state) == json.loads(line["state"])


def test_decoded_decisions_keep_their_meaning(app):
    events = {type(e).__qualname__: e for e in decode_all(app)}
    started = events["Program.Started"]
    assert (started.name, started.timezone, started.occurred_at) == ("Sample program", "Europe/Paris", T0)
    assert started.occurred_at.utcoffset() == timedelta(hours=1)  # written by a device in Paris
    progressed = events["Program.ExerciseProgressed"]
    assert (progressed.changes, progressed.raised, progressed.lowered) == ({"sets": {"from": 3, "to": 4}}, ["volume"], [])
    assert (progressed.reason, progressed.reason_code) == ("too easy", "too_easy")
    promoted = events["Program.ExercisePromoted"]
    assert promoted.forced is True
    assert (promoted.evidence["rule"]["rule_id"], promoted.evidence["rule"]["version"]) == ("signature-evidence", 1)
    deconstructed = events["Program.ExerciseDeconstructed"]
    assert [c["name"] for c in deconstructed.components] == ["Hip hinge drill", "Brace"]


# ----- replay --------------------------------------------------------------------------------


def replay(events):
    aggregate = None
    for event in sorted(events, key=lambda e: e.originator_version):
        aggregate = event.mutate(aggregate)
    return aggregate


def test_replaying_program_samples_rebuilds_the_program(app):
    program_events = [e for e in decode_all(app) if topic_of(type(e)).startswith("domain.program:")]
    assert len({e.originator_id for e in program_events}) == 1
    program = replay(program_events)
    assert isinstance(program, Program)
    assert program.version == len(program_events)

    view = program.view()
    assert view.name == "Sample program" and view.timezone == "Europe/Paris" and view.fitting is None
    by_name = {e.name: e for e in view.exercises.values()}
    assert sorted(by_name) == sorted(["Glute bridge", "Dead bug", "Deadlift", "Hip hinge drill", "Brace"])
    assert {n: e.status for n, e in by_name.items()} == {
        "Glute bridge": "active", "Dead bug": "retired", "Deadlift": "active",
        "Hip hinge drill": "active", "Brace": "active"}
    bridge, deadlift = by_name["Glute bridge"], by_name["Deadlift"]
    assert bridge.prescription["sets"] == 4
    assert bridge.prescription["load"] == {"type": "free_weight", "magnitude": 2.5, "unit": "kg"}
    assert bridge.signature is False
    assert deadlift.components == [by_name["Hip hinge drill"].id, by_name["Brace"].id]
    assert by_name["Brace"].parent == deadlift.id
    assert by_name["Dead bug"].prescription["direction"] == {"pattern": "anti_rotation", "plane": "transverse"}

    # and it still travels in time
    assert [e.name for e in program.view(day(1.005)).exercises.values()] == ["Glute bridge"]
    assert program.view(day(5)).fitting["number"] == 1
    assert program.view(day(8)).exercises[deadlift.id].status == "deconstructed"
    assert program.view(day(10.5)).exercises[bridge.id].signature is True
    # the backdated regression (happened on day 3.5, recorded on day 4.5)
    assert program.view(day(4), known_at=day(4)).exercises[bridge.id].prescription["load"]["magnitude"] == 5
    assert program.view(day(4)).exercises[bridge.id].prescription["load"]["magnitude"] == 2.5


def test_replaying_fact_samples_rebuilds_the_month(app):
    log = replay([e for e in decode_all(app) if topic_of(type(e)).startswith("domain.facts:")])
    assert isinstance(log, FactLog)
    assert log.month == "2024-03"
    facts = list(log.facts.values())
    assert [f["type"] for f in facts] == ["log", "next-day", "break", "checkin", "flare-start", "flare-end"]
    session = facts[0]
    assert (session["pain_before"], session["pain_after"], session["corrections"]) == (4, 2, 1)
    assert session["tension"] == [{"muscle": "paraspinals", "side": "left", "kind": "overactive", "intensity": 6}]
    assert facts[1]["session_id"] == session["id"] and facts[1]["verdict"] == "better"
    assert facts[2]["voided"] is True
    assert [f["voided"] for f in facts].count(True) == 1


def test_replaying_mutation_record_sample(app):
    record = replay([e for e in decode_all(app) if topic_of(type(e)).startswith("domain.mutations:")])
    assert isinstance(record, MutationRecord)
    assert (record.mutation_type, record.status, record.device_id) == ("checkin", "applied", "laptop-1")
    assert record.result["month"] == "2024-03"
