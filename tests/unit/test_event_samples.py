"""Stored samples of every event class version still decode (SPEC 8, upcasting).

``tests/samples/events_v*.jsonl`` hold events exactly as the event store keeps them (added, never
rewritten, by ``tests/samples/make_samples.py``). A fresh application's mapper must turn each back
into an event of its class (through the class's upcasts when the sample is of an older version),
every concrete event class must have a sample at its current ``class_version`` and at every earlier
one, and replaying the samples must rebuild the aggregates they came from.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import pkgutil
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import StoredEvent

import domain
from domain.accounts import Account, Device
from domain.conflicts import ConflictLog, conflict_log_id
from domain.facts import FactLog, fact_log_id
from domain.mutations import MutationRecord, mutation_record_id
from domain.outbox import OUTBOX_ID, Outbox
from domain.program import Program
from service.application import BackstoryApp, program_id_for
from service.config import parse_store

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
FILE_NAME = re.compile(r"^events_v(\d+)\.jsonl$")
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
SAMPLES_PROGRAM = program_id_for("samples")  # the account tests/samples/make_samples.py writes for

# Lines once written never change: each file's first lines, pinned (count and digest). Appending to
# a file is fine; once the classes of the new lines are committed, extend the pin over them.
PINNED = {
    "events_v1.jsonl": (26, "6b538677c51fffb9f842547e5da5ee1510e44c83377f36e4b69b8f7d92f6762c"),
    "events_v2.jsonl": (16, "605b840fe9e9c7a588e4cdc1a4ee3ef79beeec072dd95ec8f479e3c61e14810d"),
    "events_v3.jsonl": (16, "c741419ec39c02b1d4888cc41d828d35fb609ec5b7e6e14d2471fb3c938de75c"),
    "events_v4.jsonl": (4, "ab198b38fddd8b23bad6fccab7e006d5a6b25ea7a9a160fe0ef0d2e68dedefe0"),
    "events_v5.jsonl": (4, "e9ffdb04940614dc2e507e4b81d55c9cd83ddeaf4d3413e6a720f0071eb1380b"),
    "events_v6.jsonl": (17, "b180c272a41418ac3a95217dd8d385f0ab0c08bd9543d55811499a7e8a7b5d0e"),
    "events_v7.jsonl": (18, "4c73848fbf22ce0659cbed9ac31bda4201d586e0a8232f541520dfc0b13331fb"),
    "events_v8.jsonl": (3, "42052177d1c528235dabfb41ad9c599e4b2a59a14fa2049ad6539a7d657bc940"),
    "events_v9.jsonl": (19, "83891ed635636a3007ac2ced1c3102d1e54632f3f3ae875a74e5d949f22132c8"),
}


SECOND = timedelta(seconds=1)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def sample_files() -> list[Path]:
    found = [(int(m.group(1)), p) for p in SAMPLES.iterdir() if (m := FILE_NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def load_lines() -> list[dict]:
    lines = []
    for path in sample_files():
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if text.strip():
                lines.append({**json.loads(text), "_where": f"{path.name}:{n}"})
    return lines


LINES = load_lines()


def topic_of(cls: type) -> str:
    # spelled out rather than eventsourcing.utils.get_topic, which caches a class per topic process-wide
    return f"{cls.__module__}:{cls.__qualname__}"


def version_of(cls: type) -> int:
    return getattr(cls, "class_version", 1)


def aggregate_classes() -> list[type]:
    """Every aggregate class defined in the ``domain`` package (a new one is found without editing this)."""
    found = []
    for info in pkgutil.iter_modules(domain.__path__):
        module = importlib.import_module(f"domain.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Aggregate) and value.__module__ == module.__name__:
                found.append(value)
    return found


def concrete_event_classes() -> list[type]:
    """Every event class the domain can store.

    The nested DomainEvent classes of the aggregates, minus the abstract bases (those another of the
    aggregate's events derives from, such as ``Program.Decision`` or ``FactLog.Fact``) and minus the
    ``Event``/``Created`` classes the eventsourcing metaclass adds to every aggregate (ours use their
    own named creation events).
    """
    found = []
    for aggregate in aggregate_classes():
        nested = [cls for name, cls in vars(aggregate).items()
                  if isinstance(cls, type) and issubclass(cls, DomainEvent) and name not in ("Event", "Created")]
        for cls in nested:
            if not any(other is not cls and issubclass(other, cls) for other in nested):
                found.append(cls)
    return found


def class_of(topic: str) -> type:
    return {topic_of(c): c for c in concrete_event_classes()}[topic]


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
    application = BackstoryApp(parse_store("sqlite:///" + str(tmp_path / "fresh.sqlite")).env)
    yield application
    application.close()


def stored(line: dict) -> StoredEvent:
    return StoredEvent(originator_id=UUID(line["originator_id"]), originator_version=line["originator_version"],
                       topic=line["topic"], state=line["state"].encode("utf-8"))


def _storable(lines: list[dict]) -> list[dict]:
    seen, out = set(), []
    for line in lines:
        if (line["originator_id"], line["originator_version"]) not in seen:
            seen.add((line["originator_id"], line["originator_version"]))
            out.append(line)
    return out


# What one store can hold: a later file makes a stream again at new class versions (events_v3, the
# program's stream), whose events take the places of the first ones; those stay the stored ones.
STORABLE = _storable(LINES)


def decode_all(app, lines: list[dict] = LINES) -> list:
    return [app.mapper.to_domain_event(stored(line)) for line in lines]


def upcast_state(line: dict) -> dict:
    """The sample's stored state as the current class would write it: its upcasts applied, in order."""
    cls = class_of(line["topic"])
    state = json.loads(line["state"])
    version = state.pop("class_version", 1)
    while version < version_of(cls):
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
    if version_of(cls) > 1:
        state["class_version"] = version_of(cls)
    return state


# ----- the samples files themselves ----------------------------------------------------------


def test_samples_exist_and_are_well_formed():
    assert [p.name for p in sample_files()][:2] == ["events_v1.jsonl", "events_v2.jsonl"]
    assert len(LINES) >= 42
    for line in LINES:
        assert set(line) == {"topic", "originator_id", "originator_version", "state", "class_version", "_where"}
        assert isinstance(line["originator_version"], int) and line["originator_version"] >= 1
        assert isinstance(line["class_version"], int) and line["class_version"] >= 1
        state = json.loads(line["state"])
        assert isinstance(state, dict), line["_where"]
        # the class_version said of a line is the one its stored state carries (the mapper omits 1)
        assert state.get("class_version", 1) == line["class_version"], line["_where"]


def test_stored_samples_are_never_rewritten():
    for name, (count, digest) in PINNED.items():
        data = (SAMPLES / name).read_bytes()
        head = b"".join(data.splitlines(keepends=True)[:count])
        assert head.count(b"\n") == count, f"{name} lost lines"
        assert hashlib.sha256(head).hexdigest() == digest, f"{name}: a stored sample was changed"


def test_every_concrete_event_class_has_a_sample_at_its_current_version():
    classes = concrete_event_classes()
    assert len(classes) >= 37
    # the walk really finds every aggregate and separates the abstract bases from the concrete events
    for cls in (Program.Started, FactLog.Opened, MutationRecord.Processed, ConflictLog.Opened, ConflictLog.Recorded,
                ConflictLog.Resolved, Account.Opened, Account.DeviceAdded, Account.DeviceRevoked, Device.Paired,
                Device.Revoked, Device.BatchAccepted, Outbox.Started, Outbox.Queued, Outbox.Acknowledged,
                Outbox.Pulled):
        assert cls in classes
    for abstract in (Program.Decision, Program.PrescriptionChanged, Program.StatusChanged, FactLog.Fact):
        assert abstract not in classes
    sampled = {(line["topic"], line["class_version"]) for line in LINES}
    missing = sorted(f"{topic_of(c)} v{version_of(c)}" for c in classes if (topic_of(c), version_of(c)) not in sampled)
    assert missing == [], f"no stored sample for {missing}: run tests/samples/make_samples.py"


def test_every_earlier_class_version_keeps_a_sample_and_an_upcast():
    assert version_of(MutationRecord.Processed) >= 2  # the first class with an older version
    sampled = {(line["topic"], line["class_version"]) for line in LINES}
    for cls in concrete_event_classes():
        for version in range(1, version_of(cls)):
            assert (topic_of(cls), version) in sampled, f"the v{version} sample of {topic_of(cls)} is gone"
            assert callable(getattr(cls, f"upcast_v{version}_v{version + 1}", None)), topic_of(cls)


def test_every_sample_names_a_known_event_class_at_a_version_it_had():
    known = {topic_of(c): version_of(c) for c in concrete_event_classes()}
    assert sorted({line["topic"] for line in LINES} - set(known)) == []
    assert [line["_where"] for line in LINES if line["class_version"] > known[line["topic"]]] == []


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
    # every field the class declares is there after decoding (an older sample gets them from its upcasts)
    declared = {n for k in type(event).__mro__ if k.__module__.startswith("domain.")
                for n in vars(k).get("__annotations__", {})}
    assert declared - set(vars(event)) == set(), line["_where"]
    # written back, it is the same stored state, upcast to the current version (nothing lost or renamed)
    again = app.mapper.to_stored_event(event)
    assert again.topic == line["topic"]
    if line["class_version"] == version_of(type(event)):
        assert json.loads(again.state) == json.loads(line["state"])
    assert json.loads(again.state) == upcast_state(line)


def test_the_v1_mutation_record_decodes_through_the_upcast(app):
    [line] = [line for line in LINES if line["topic"] == "domain.mutations:MutationRecord.Processed"
              and line["class_version"] == 1]
    assert line["_where"].startswith("events_v1.jsonl:")
    assert {"program_id", "seq", "base_version", "class_version"}.isdisjoint(json.loads(line["state"]))
    event = app.mapper.to_domain_event(stored(line))
    assert (event.program_id, event.seq, event.base_version) == (None, None, None)
    assert (event.mutation_type, event.status, event.device_id) == ("checkin", "applied", "laptop-1")
    record = event.mutate(None)
    assert isinstance(record, MutationRecord)
    assert (record.program_id, record.seq, record.base_version) == (None, None, None)
    assert record.result["month"] == "2024-03"
    assert record.id == mutation_record_id(SAMPLES_PROGRAM, record.mutation_id)
    # stored again it is an event of the current version
    assert json.loads(app.mapper.to_stored_event(event).state)["class_version"] == version_of(MutationRecord.Processed)


def test_v2_mutation_records_carry_program_seq_and_base_version(app):
    lines = [line for line in LINES if line["topic"] == "domain.mutations:MutationRecord.Processed"
             and line["class_version"] == 2]
    by_type = {e.mutation_type: e for e in decode_all(app, lines)}
    assert sorted(by_type) == ["log", "progress"]
    assert all(e.program_id == str(SAMPLES_PROGRAM) for e in by_type.values())
    # one the CLI applied (no sequence, no base version) and one a device pushed
    assert (by_type["log"].seq, by_type["log"].base_version, by_type["log"].status) == (None, None, "applied")
    pushed = by_type["progress"]
    assert (pushed.seq, pushed.base_version, pushed.status) == (7, 5, "conflict")
    assert pushed.result["conflict"]["exercise"] == "Glute bridge"


def test_decoded_decisions_keep_their_meaning(app):
    events: dict = {}
    for e in decode_all(app):
        events.setdefault(type(e).__qualname__, e)  # each class's first sample
    started = events["Program.Started"]
    assert (started.name, started.timezone, started.occurred_at) == ("Sample program", "Europe/Paris", T0)
    assert started.occurred_at.utcoffset() == timedelta(hours=1)  # written by a device in Paris
    progressed = events["Program.ExerciseProgressed"]
    assert (progressed.changes, progressed.raised, progressed.lowered) == (
        {"sets": {"from": 3, "to": 4}}, ["volume"], [])
    assert (progressed.reason, progressed.reason_code) == ("too easy", "too_easy")
    promoted = events["Program.ExercisePromoted"]
    assert promoted.forced is True
    assert (promoted.evidence["rule"]["rule_id"], promoted.evidence["rule"]["version"]) == ("signature-evidence", 1)
    deconstructed = events["Program.ExerciseDeconstructed"]
    assert [c["name"] for c in deconstructed.components] == ["Hip hinge drill", "Brace"]
    moved = events["Program.StartMovedBack"]
    assert (moved.from_start, moved.occurred_at, moved.cause) == (T0, day(-2), "checkin")
    assert (moved.name, moved.timezone) == ("Sample program", "Europe/Paris")
    if "Program.PolicyChanged" in events:  # events_v7 on
        policy = events["Program.PolicyChanged"]
        assert (policy.policy, policy.version, policy.params["green_max"], policy.previous["green_max"]) == (
            "pain-monitoring", 1, 3, 2)
    assert progressed.override is None  # a v1 sample, through the upcast


def test_a_forced_progression_keeps_the_evidence_it_overrode(app):
    """events_v9: Program.ExerciseProgressed v2 carries ``override``; v1 ones read it as None."""
    progressions = [e for e in decode_all(app) if type(e) is Program.ExerciseProgressed]
    forced = [e for e in progressions if e.override is not None]
    assert len(forced) == 1 and all(e.override is None for e in progressions if e is not forced[0])
    override = forced[0].override
    assert (override["light"], override["awaiting_next_day"], override["policy"]) == (
        "red", True, {"id": "pain-monitoring", "version": 1})
    assert forced[0].changes == {"reps": {"from": 5, "to": 6}}
    assert forced[0].change()[1] == {"reps": 6, "forced": True, "override": override}


# ----- replay --------------------------------------------------------------------------------


def replay(events):
    aggregate = None
    for event in sorted(events, key=lambda e: e.originator_version):
        aggregate = event.mutate(aggregate)
    return aggregate


def replay_streams(events) -> list:
    """Each aggregate the events rebuild, one per originator, in order of first appearance."""
    streams: dict = {}
    for event in events:
        streams.setdefault(event.originator_id, []).append(event)
    return [replay(stream) for stream in streams.values()]


PROGRAM_FILES = sorted({line["_where"].split(":")[0] for line in LINES if line["topic"].startswith("domain.program:")})


@pytest.mark.parametrize("sample_file", PROGRAM_FILES)
def test_replaying_program_samples_rebuilds_the_program(app, sample_file):
    """Each file holding the program's stream (made again at each change of its event classes)."""
    lines = [line for line in LINES if line["_where"].startswith(f"{sample_file}:")]
    program_events = [e for e in decode_all(app, lines) if topic_of(type(e)).startswith("domain.program:")]
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
    # the backfill (events_v6 on): the program starts two days before its init
    start = day(-2) if int(FILE_NAME.match(sample_file).group(1)) >= 6 else T0
    assert program.started_at() == start and program.view(start).exists and not program.view(start - SECOND).exists
    if int(FILE_NAME.match(sample_file).group(1)) >= 7:  # the policy change holds from its valid time on
        book = program.policy_book()
        assert book.at("pain-monitoring", day(14)).params["green_max"] == 2
        assert book.at("pain-monitoring", day(15)).params["green_max"] == 3


def _fact_log(app, month: str) -> FactLog:
    wanted = fact_log_id(SAMPLES_PROGRAM, month)
    return replay([e for e in decode_all(app) if topic_of(type(e)).startswith("domain.facts:")
                   and e.originator_id == wanted])


def test_replaying_fact_samples_rebuilds_the_month(app):
    log = _fact_log(app, "2024-03")
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


def test_replaying_assessment_samples_recomputes_their_scores(app):
    """events_v4: a PSFS (mean 4.33) and an ODI corrected from 12/45 (26.7) to 13/45 (28.9)."""
    log = _fact_log(app, "2024-04")
    psfs, odi = log.facts.values()
    assert (psfs["instrument"], psfs["instrument_version"], psfs["score"]) == ("psfs", "1", 4.33)
    assert psfs["activity_names"] == {"lift-child": "Lift my child"}
    assert (odi["instrument_version"], odi["score"], odi["corrections"]) == ("2.1a", 28.9, 1)
    assert odi["answers"] == [3, 2, 1, None, 0, 2, 1, 1, 2, 1]


def test_replaying_sleep_samples_applies_the_correction(app):
    """events_v8: a night's sleep (6.5 h, corrected to 7) recorded the morning after, in May's log."""
    log = _fact_log(app, "2024-05")
    [sleep] = log.facts.values()
    assert (sleep["type"], sleep["hours"], sleep["quality"], sleep["position"], sleep["pain_morning"]) == (
        "sleep", 7, 4, "side", 5)
    assert (sleep["note"], sleep["corrections"], sleep["voided"]) == ("woke at 4", 1, False)
    assert sleep["occurred_at"] == "2024-05-02T10:00:00+01:00"


def test_replaying_mutation_record_samples(app):
    events = [e for e in decode_all(app) if topic_of(type(e)).startswith("domain.mutations:")]
    records = {r.mutation_type: r for r in replay_streams(events)}
    assert sorted(records) == ["checkin", "log", "progress"]
    assert all(isinstance(r, MutationRecord) and r.version == 1 for r in records.values())
    checkin = records["checkin"]  # the v1 sample
    assert (checkin.status, checkin.device_id, checkin.program_id) == ("applied", "laptop-1", None)
    assert checkin.result["month"] == "2024-03"
    pushed = records["progress"]
    assert (pushed.program_id, pushed.seq, pushed.base_version) == (str(SAMPLES_PROGRAM), 7, 5)


def test_replaying_conflict_samples_rebuilds_the_log(app):
    [log] = replay_streams([e for e in decode_all(app) if topic_of(type(e)).startswith("domain.conflicts:")])
    assert isinstance(log, ConflictLog)
    assert log.id == conflict_log_id(SAMPLES_PROGRAM) and log.program_id == str(SAMPLES_PROGRAM)
    [conflict] = log.conflicts.values()
    assert (conflict["type"], conflict["exercise"], conflict["base_version"], conflict["program_version"]) == (
        "progress", "Glute bridge", 5, 7)
    assert [t["type"] for t in conflict["theirs"]] == ["progress", "regress"]
    assert conflict["kept"]["prescription"]["load"]["magnitude"] == 2.5
    assert (conflict["resolution"], conflict["resolved_at"]) == ("keep-current", "2024-03-06T09:01:00+00:00")
    assert log.find(conflict["id"][:8]) is conflict


def test_replaying_account_and_device_samples(app):
    events = [e for e in decode_all(app) if topic_of(type(e)).startswith("domain.accounts:")]
    rebuilt = replay_streams(events)
    [device] = [a for a in rebuilt if isinstance(a, Device)]
    account, account_v2 = [a for a in rebuilt if isinstance(a, Account)]
    assert (account.name, account.program_id) == ("Sample account", str(SAMPLES_PROGRAM))
    for each in (account, account_v2):
        assert [d["name"] for d in each.devices.values()] == ["phone", "laptop"]
        assert [d["revoked_at"] is not None for d in each.devices.values()] == [False, True]
    assert str(device.id) in account.devices and device.account_id == str(account.id)
    # v1 events (upcast) do not say who paired or revoked; v2 events do
    assert [(d["paired_by"], d["revoked_by"]) for d in account.devices.values()] == [(None, None), (None, None)]
    phone, laptop = account_v2.devices
    assert [(d["paired_by"], d["revoked_by"]) for d in account_v2.devices.values()] == [
        ("operator", None), (phone, phone)]
    assert (device.name, device.last_seq, device.revoked) == ("laptop", 7, True)
    assert len(device.token_hash) == 64


def test_replaying_outbox_samples(app):
    [outbox] = replay_streams([e for e in decode_all(app) if topic_of(type(e)).startswith("domain.outbox:")])
    assert isinstance(outbox, Outbox) and outbox.id == OUTBOX_ID
    assert (outbox.next_seq, outbox.acked_seq, outbox.pending()) == (3, 2, [])
    assert (outbox.linked, outbox.cursor, outbox.program_id) == (True, "41", str(SAMPLES_PROGRAM))


def test_samples_load_from_a_store(ledger):
    """Written into a real store (each backend), the samples load through the ledger of their program."""
    app = ledger.app
    app.recorder.insert_events([stored(line) for line in STORABLE])
    samples = app.ledger(SAMPLES_PROGRAM)
    program = samples.program()
    assert program.view().name == "Sample program" and program.version == 19
    assert [type(e).__name__ for e in samples.decisions_after(14)] == ["ExerciseRetired", "FittingClosed",
                                                                        "StartMovedBack", "PolicyChanged",
                                                                        "ExerciseProgressed"]
    assert len(samples.fact_log("2024-03").facts) == 6
    [conflict] = samples.conflict_log().conflicts.values()
    assert conflict["resolution"] == "keep-current"
    [old] = [line for line in LINES
             if line["topic"].endswith(":MutationRecord.Processed") and line["class_version"] == 1]
    record = samples.mutation_record(json.loads(old["state"])["mutation_id"])
    assert (record.mutation_type, record.program_id, record.seq, record.base_version) == (
        "checkin", None, None, None)
    assert sorted(e.mutation_type for e in samples.mutation_records()) == ["checkin", "log", "progress"]
    [opened, _v2] = [line for line in LINES if line["topic"] == "domain.accounts:Account.Opened"]
    account = app.find(UUID(opened["originator_id"]))
    [laptop] = [UUID(d) for d, v in account.devices.items() if v["name"] == "laptop"]
    device = app.find(laptop)
    assert isinstance(device, Device) and (device.last_seq, device.revoked) == (7, True)
    # the ledger of another account's program sees none of it
    assert ledger.program() is None and ledger.conflict_log() is None and ledger.fact_log("2024-03") is None
