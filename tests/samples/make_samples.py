"""Add stored samples of event classes to ``tests/samples/events_v*.jsonl``; never rewrite a line.

Run from the repository root: ``python tests/samples/make_samples.py``. Every event is made by the
real aggregate methods (nothing is built by hand) and encoded by the application's own mapper, so
each line is exactly what the event store holds. ``tests/unit/test_event_samples.py`` decodes the
lines with a fresh application: once an event class changes, the old samples must still load
(through an upcaster), so the files are append-only.

The script makes every sample stream below at the classes' current versions and appends a stream
when it holds an event whose (topic, class_version) has no sample yet in any file; streams already
covered are left out, old lines stay byte-identical. New lines go to the newest file;
``--new-file`` starts the next one (``events_v3.jsonl`` after ``events_v2.jsonl``), which is how
each change of the event schema gets a file of its own. ``--check`` only lists what is missing.

- ``events_v1.jsonl``: the first event schema (Program, FactLog, MutationRecord.Processed v1). Its
  MutationRecord line was made by an earlier version of this script and cannot be made again.
- ``events_v2.jsonl``: MutationRecord.Processed v2 (program_id, seq, base_version), and the
  ConflictLog, Account, Device and (a device's own store) Outbox aggregates.
- ``events_v3.jsonl``: Program.ExerciseRetired and ExerciseDeconstructed v2 (``restored``: what a late
  retire or deconstruct gives back from the edits it won over in sync).
- ``events_v4.jsonl``: FactLog.OutcomeAssessed v1 (April's log: a PSFS, an ODI and its correction).
- ``events_v5.jsonl``: Account.DeviceAdded v2 (paired_by) and DeviceRevoked v2 (revoked_by, names), in a
  second account's stream.
- ``events_v6.jsonl``: Program.StartMovedBack v1 (a backfill: a decision or fact dated before the
  program's start moved the start back to it).
- ``events_v7.jsonl``: Program.PolicyChanged v1 (``policy set``: a rule's parameters from a valid time on).
- ``events_v8.jsonl``: FactLog.SleepRecorded v1 (May's log: a night's sleep, recorded the morning after, and its
  correction).
- ``events_v9.jsonl``: Program.ExerciseProgressed v2 (``override``: a progression forced past the
  pain-monitoring guard keeps the evidence it overrode).

Each line: ``{"topic", "originator_id", "originator_version", "state", "class_version"}`` where
``state`` is the stored state as a (UTF-8 JSON) string.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock
from uuid import NAMESPACE_URL, UUID, uuid5

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from domain.accounts import OPERATOR, Account, Device  # noqa: E402
from domain.conflicts import ConflictLog  # noqa: E402
from domain.evidence import Exposure, SignatureRule  # noqa: E402
from domain import outcomes  # noqa: E402
from domain.facts import FactLog, validate  # noqa: E402
from domain.mutations import MutationRecord  # noqa: E402
from domain.outbox import Outbox  # noqa: E402
from domain.decision_context import Context  # noqa: E402
from domain.program import Program  # noqa: E402
from service.application import BackstoryApp, program_id_for  # noqa: E402
from service.config import parse_store  # noqa: E402

HERE = Path(__file__).resolve().parent
FILE_NAME = re.compile(r"^events_v(\d+)\.jsonl$")
ACCOUNT = "samples"  # the samples' program is this account's program
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
PARIS = timezone(timedelta(hours=1))  # what a device in Paris writes in March
SAMPLE_IDS = uuid5(NAMESPACE_URL, "https://backstory.invalid/samples")

# what replaying the program samples must show (checked by tests/unit/test_event_samples.py)
BRIDGE, DEAD_BUG, DEADLIFT = "Glute bridge", "Dead bug", "Deadlift"
COMPONENTS = ["Hip hinge drill", "Brace"]

# the account, its two devices and the laptop's stale decision that became a conflict (events_v2)
ACCOUNT_ID = UUID(str(uuid5(SAMPLE_IDS, "account")))
ACCOUNT_V2_ID = UUID(str(uuid5(SAMPLE_IDS, "account:v2")))
PHONE_ID = UUID(str(uuid5(SAMPLE_IDS, "device:phone")))
LAPTOP_ID = UUID(str(uuid5(SAMPLE_IDS, "device:laptop")))
STALE_SEQ, STALE_BASE = 7, 5


def sid(what: str) -> str:
    return str(uuid5(SAMPLE_IDS, what))


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def ctx(n: float, reason: str | None = None, code: str = "unspecified", recorded: float | None = None) -> Context:
    return Context(occurred_at=day(n).astimezone(PARIS), device_id="phone-1", mutation_id=sid(f"mutation:{n}"),
                   recorded_at=day(recorded if recorded is not None else n) + timedelta(minutes=1),
                   reason=reason, reason_code=code)


def program_events(program_id) -> list:
    p = Program.start(program_id, "Sample program", "Europe/Paris", ctx(0))
    bridge, dead_bug, deadlift = sid("bridge"), sid("dead-bug"), sid("deadlift")
    p.add_exercise(bridge, BRIDGE, "strength", {
        "position": {"stage": 1, "posture": "supine"}, "load": {"type": "free_weight", "magnitude": 5, "unit": "kg"},
        "direction": {"pattern": "hinge", "plane": "sagittal"}, "sets": 3, "reps": 10, "range": "mid",
        "target": ["glutes"], "protect": ["paraspinals"], "cues": ["ribs down"]}, ctx(1, "first fitting"))
    p.add_exercise(dead_bug, DEAD_BUG, "segmental_control", {
        "position": {"stage": 1, "posture": "supine"}, "direction": {"pattern": "anti_extension"},
        "sets": 2, "hold_s": 20, "per_side": True, "target": ["deep_abdominals"]}, ctx(1.01))
    p.add_exercise(deadlift, DEADLIFT, "strength", {
        "position": {"stage": 4}, "load": {"type": "free_weight", "magnitude": 20, "unit": "kg"},
        "direction": {"pattern": "hinge"}, "sets": 3, "reps": 5}, ctx(1.02))
    p.fitting("open", "fitting one", ctx(2))
    p.change_prescription("progress", bridge, {"sets": 4}, ctx(3, "too easy", "too_easy"))
    # backdated: happened on day 3.5, recorded on day 4.5
    p.change_prescription("regress", bridge, {"load": {"type": "free_weight", "magnitude": 2.5, "unit": "kg"}},
                          ctx(3.5, "sore next day", "pain", recorded=4.5))
    p.change_prescription("adapt", dead_bug, {"direction": {"pattern": "anti_rotation", "plane": "transverse"}},
                          ctx(5, "therapist's idea", "therapist"))
    p.change_status("pause", dead_bug, ctx(6, "flare", "flare"))
    p.change_status("resume", dead_bug, ctx(7, "calm again"))
    p.deconstruct(deadlift, COMPONENTS, [sid("hinge-drill"), sid("brace")], ctx(8, "aggravates", "pain"))
    p.change_status("rebuild", deadlift, ctx(9, "components are fine"))
    p.promote(bridge, SignatureRule(), [Exposure(day(2), 4, 3, 2)], [], True,
              ctx(10, "calms my back every time", "evidence"))
    p.demote(bridge, ctx(11, "not any more"))
    p.change_status("retire", dead_bug, ctx(12, "replaced", "plateau"))
    p.fitting("close", "done", ctx(13))
    # a backfill recorded last: a fact dated before the start moved the start back to it (events_v6)
    p.cover("checkin", ctx(-2, recorded=14))
    # a person tuned the pain-monitoring lights (events_v7)
    p.set_policy("pain-monitoring", {"green_max": 3}, ctx(14.5, "physio's advice", "therapist"))
    # a progression forced past the pain-monitoring guard, with the evidence it overrode (events_v9)
    p.change_prescription("progress", deadlift, {"reps": 6}, ctx(15, "physio says go on", "therapist"),
                          premature={"session_id": sid("fact:deadlift-session"), "exercise": DEADLIFT,
                                     "occurred_at": day(14.8).astimezone(PARIS).isoformat(), "light": "red",
                                     "light_reasons": ["pain during 6: above 5"], "awaiting_next_day": True,
                                     "policy": {"id": "pain-monitoring", "version": 1}}, force=True)
    return list(p.pending_events)


def fact_events(program_id) -> list:
    opened_at = day(1)
    with mock.patch.object(FactLog.Opened, "create_timestamp", classmethod(lambda cls: opened_at)):
        log = FactLog.open(program_id, "2024-03")
    at = lambda n: day(n).astimezone(PARIS)  # noqa: E731
    rec = lambda n: day(n) + timedelta(minutes=2)  # noqa: E731
    session = sid("fact:session")
    log.record("log", session, at(2), rec(2), "phone-1", sid("m:log"), exercise_id=sid("bridge"),
               exercise_name=BRIDGE, session=validate("log", {
                   "sets": 3, "reps": 10, "pain_before": 4, "pain_during": 3, "pain_after": 3, "effort": 5,
                   "tension": [{"muscle": "paraspinals", "side": "left", "kind": "overactive", "intensity": 6}],
                   "note": "felt the glutes"}))
    log.record("next-day", sid("fact:next-day"), at(3), rec(3), "phone-1", sid("m:next-day"),
               exercise_id=sid("bridge"), exercise_name=BRIDGE, session_id=session,
               response=validate("next-day", {"verdict": "better", "pain": 2}))
    breaks = sid("fact:break")
    log.record("break", breaks, at(3.2), rec(3.2), "laptop-1", sid("m:break"),
               details=validate("break", {"kind": "extend", "seconds": 45}))
    log.record("checkin", sid("fact:checkin"), at(3.3), rec(3.3), "laptop-1", sid("m:checkin"),
               details=validate("checkin", {"pain": 3, "starts": "low_back", "travels": ["left_buttock"],
                                            "note": "after sitting"}))
    log.record("flare-start", sid("fact:flare-start"), at(6), rec(6), "phone-1", sid("m:flare-start"),
               details=validate("flare-start", {"pain": 7, "note": "lifted a box"}))
    log.record("flare-end", sid("fact:flare-end"), at(7), rec(7), "phone-1", sid("m:flare-end"),
               details=validate("flare-end", {"pain": 2}))
    log.correct(session, {"pain_after": 2}, "misread", sid("fact:correct"), at(8), rec(8), "phone-1",
                sid("m:correct"))
    log.void(breaks, "logged twice", sid("fact:void"), at(8.1), rec(8.1), "laptop-1", sid("m:void"))
    return list(log.pending_events)


def assessment_events(program_id) -> list:
    """April's log (events_v4): a PSFS with named activities, an ODI with a section unanswered, corrected."""
    with mock.patch.object(FactLog.Opened, "create_timestamp", classmethod(lambda cls: day(31))):
        log = FactLog.open(program_id, "2024-04")
    at = lambda n: day(n).astimezone(PARIS)  # noqa: E731
    rec = lambda n: day(n) + timedelta(minutes=2)  # noqa: E731
    psfs, odi = {"lift-child": 4, "sit-1h": 6, "walk-30min": 3}, [3, 2, 1, None, 0, 2, 1, 1, 2, 0]
    log.record("assess", sid("fact:psfs"), at(32), rec(32), "phone-1", sid("m:psfs"), instrument="psfs",
               instrument_version=outcomes.VERSIONS["psfs"], answers=psfs,
               activity_names={"lift-child": "Lift my child"}, score=outcomes.score("psfs", psfs))
    log.record("assess", sid("fact:odi"), at(32.1), rec(32.1), "phone-1", sid("m:odi"), instrument="odi",
               instrument_version=outcomes.VERSIONS["odi"], answers=odi, activity_names={},
               score=outcomes.score("odi", odi))
    log.correct(sid("fact:odi"), {"answers": "3,2,1,-,0,2,1,1,2,1"}, "section 10 misread", sid("fact:correct-odi"),
                at(33), rec(33), "phone-1", sid("m:correct-odi"))
    return list(log.pending_events)


def sleep_events(program_id) -> list:
    """May's log (events_v8): a night's sleep recorded the morning after, then its hours corrected."""
    with mock.patch.object(FactLog.Opened, "create_timestamp", classmethod(lambda cls: day(61))):
        log = FactLog.open(program_id, "2024-05")
    at = lambda n: day(n).astimezone(PARIS)  # noqa: E731
    rec = lambda n: day(n) + timedelta(minutes=2)  # noqa: E731
    log.record("sleep", sid("fact:sleep"), at(62), rec(62), "phone-1", sid("m:sleep"),
               details=validate("sleep", {"hours": 6.5, "quality": 4, "position": "side", "pain_morning": 5,
                                          "note": "woke at 4"}))
    log.correct(sid("fact:sleep"), {"hours": 7}, "misread the tracker", sid("fact:correct-sleep"), at(62.1),
                rec(62.1), "phone-1", sid("m:correct-sleep"))
    return list(log.pending_events)


def frozen_clock(when: datetime, *event_classes: type) -> ExitStack:
    """Events of these classes made inside the block get ``when`` as their timestamp."""
    stack = ExitStack()
    for cls in event_classes:
        stack.enter_context(mock.patch.object(cls, "create_timestamp", classmethod(lambda c: when)))
    return stack


def stale_progress() -> dict:
    """The laptop's progression of the bridge, decided against version 5 and pushed when the program was at 7."""
    return {"mutation_id": sid("m:stale-progress"), "type": "progress", "device_id": str(LAPTOP_ID),
            "occurred_at": day(3.2).astimezone(PARIS), "args": {"exercise": BRIDGE, "reps": 12},
            "pushed_at": day(4.6)}


def mutation_events(program_id) -> list:
    """A mutation the CLI applied (no seq, no base version) and one a device pushed that met a conflict."""
    log = MutationRecord.processed(
        program_id, sid("m:log"), "log", "phone-1", day(2).astimezone(PARIS),
        {"exercise": BRIDGE, "sets": 3, "reps": 10, "pain_before": 4, "pain_during": 3, "pain_after": 3},
        "applied", {"fact_id": sid("fact:session"), "month": "2024-03", "exercise_id": sid("bridge"),
                    "exercise": BRIDGE}, day(2) + timedelta(minutes=2),
    )
    m = stale_progress()
    pushed = MutationRecord.processed(
        program_id, m["mutation_id"], m["type"], m["device_id"], m["occurred_at"], m["args"], "conflict",
        {"conflict": {"id": sid("conflict"), "exercise": BRIDGE, "reason": "changed since version 5"}},
        m["pushed_at"], seq=STALE_SEQ, base_version=STALE_BASE,
    )
    return list(log.pending_events) + list(pushed.pending_events)


def conflict_events(program_id, decisions: list) -> list:
    """The program's conflict log: the laptop's stale progression, recorded and then resolved."""
    m = stale_progress()
    program = None
    for event in decisions[:7]:
        program = event.mutate(program)
    bridge = program.view().exercises[sid("bridge")]
    theirs = [{"type": e.command, "version": e.originator_version, "device_id": e.device_id,
               "mutation_id": e.mutation_id, "occurred_at": e.occurred_at.isoformat(),
               "from": e.change()[0], "to": e.change()[1]}
              for e in decisions[STALE_BASE:7] if bridge.id in e.exercise_ids]
    with frozen_clock(m["pushed_at"], ConflictLog.Opened):
        log = ConflictLog.open(program_id)
    log.record(sid("conflict"), m["pushed_at"], mutation_id=m["mutation_id"], mutation_type=m["type"],
               device_id=m["device_id"], occurred_at=m["occurred_at"], args=m["args"], base_version=STALE_BASE,
               program_version=program.version, exercise_id=bridge.id, exercise_name=bridge.name,
               reason=f"{BRIDGE!r} changed since version {STALE_BASE}; a stale progress is not applied, "
                      "the current prescription is kept",
               theirs=theirs, kept={"status": bridge.status, "prescription": bridge.prescription})
    log.resolve(sid("conflict"), "keep-current", "phone-1", sid("m:resolve"), day(5).astimezone(PARIS),
                day(5) + timedelta(minutes=1))
    return list(log.pending_events)


def account_events(program_id) -> list:
    """An account with a phone (paired by the operator) and a laptop it paired and later revoked, confirmed.

    Its id is ``ACCOUNT_V2_ID``: the v1 samples (``events_v2.jsonl``) hold ``ACCOUNT_ID``'s stream,
    made when ``DeviceAdded`` and ``DeviceRevoked`` did not yet say who paired and who revoked.
    """
    with frozen_clock(day(0), Account.Opened, Account.DeviceAdded):
        account = Account.open(ACCOUNT_V2_ID, "Sample account v2", program_id)
        account.add_device(str(PHONE_ID), "phone", OPERATOR)
    with frozen_clock(day(1.5), Account.DeviceAdded):
        account.add_device(str(LAPTOP_ID), "laptop", str(PHONE_ID))
    with frozen_clock(day(14), Account.DeviceRevoked):
        account.revoke_device(str(LAPTOP_ID), str(PHONE_ID), confirmed=True)
    return list(account.pending_events)


def device_events() -> list:
    """The laptop: paired, its push accepted up to the stale progression's seq, then revoked."""
    with frozen_clock(day(1.5), Device.Paired):
        device = Device.pair(LAPTOP_ID, ACCOUNT_ID, "laptop",
                             hashlib.sha256(b"bs1_sample_token_not_a_secret").hexdigest())
    with frozen_clock(stale_progress()["pushed_at"], Device.BatchAccepted):
        device.accept(STALE_SEQ)
    with frozen_clock(day(14), Device.Revoked):
        device.revoke()
    return list(device.pending_events)


def outbox_events(program_id) -> list:
    """The laptop's own outbox: two mutations queued, answered by the server, then the feed pulled."""
    m = stale_progress()
    with frozen_clock(day(1.5), Outbox.Started):
        outbox = Outbox.start()
    with frozen_clock(day(3.2), Outbox.Queued):
        outbox.queue([
            {"mutation_id": sid("m:laptop-checkin"), "type": "checkin", "occurred_at": day(3.1).isoformat(),
             "base_version": None, "args": {"pain": 3}},
            {"mutation_id": m["mutation_id"], "type": m["type"], "occurred_at": m["occurred_at"].isoformat(),
             "base_version": STALE_BASE, "args": m["args"]},
        ], standalone=0)
    with frozen_clock(m["pushed_at"], Outbox.Acknowledged, Outbox.Pulled):
        outbox.acknowledge(2, {"applied": 1, "conflict": 1})
        outbox.pulled("41", program_id, 40)
    return list(outbox.pending_events)


def streams(program_id) -> list[list]:
    """Every sample stream, each a list of one aggregate's events in order."""
    decisions = program_events(program_id)
    mutations = mutation_events(program_id)
    by_record: dict = {}
    for event in mutations:
        by_record.setdefault(event.originator_id, []).append(event)
    return [decisions, fact_events(program_id), assessment_events(program_id), sleep_events(program_id),
            *by_record.values(),
            conflict_events(program_id, decisions),
            account_events(program_id), device_events(), outbox_events(program_id)]


# ----- the files -------------------------------------------------------------------------------


def sample_files(directory: Path = HERE) -> list[Path]:
    """The sample files, oldest first (``events_v10`` after ``events_v9``)."""
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := FILE_NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def covered(files: list[Path]) -> set[tuple[str, int]]:
    out = set()
    for path in files:
        for text in path.read_text(encoding="utf-8").splitlines():
            if text.strip():
                line = json.loads(text)
                out.add((line["topic"], line["class_version"]))
    return out


def encode(app: BackstoryApp, event) -> dict:
    stored = app.mapper.to_stored_event(event)
    return {
        "topic": stored.topic,
        "originator_id": str(stored.originator_id),
        "originator_version": stored.originator_version,
        "state": stored.state.decode("utf-8"),
        "class_version": getattr(type(event), "class_version", 1),
    }


def missing_lines(have: set[tuple[str, int]]) -> list[dict]:
    """The lines of every stream holding an event whose (topic, class_version) has no sample yet."""
    with tempfile.TemporaryDirectory() as directory:
        app = BackstoryApp(parse_store(f"sqlite:///{directory}/samples.sqlite").env)
        try:
            out = []
            for stream in streams(program_id_for(ACCOUNT)):
                lines = [encode(app, event) for event in stream]
                if any((line["topic"], line["class_version"]) not in have for line in lines):
                    out.extend(lines)
            return out
        finally:
            app.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--new-file", action="store_true", help="start the next events_vN.jsonl for the new lines")
    parser.add_argument("--check", action="store_true", help="only list the event class versions without a sample")
    args = parser.parse_args(argv)

    files = sample_files()
    have = covered(files)
    lines = missing_lines(have)
    new = sorted({(line["topic"], line["class_version"]) for line in lines} - have)
    if args.check or not lines:
        for topic, version in new:
            print(f"no sample: {topic} v{version}")
        print("every event class version has a sample" if not new else f"{len(new)} missing")
        return 1 if new else 0
    if args.new_file or not files:
        number = int(FILE_NAME.match(files[-1].name).group(1)) + 1 if files else 1
        out = HERE / f"events_v{number}.jsonl"
    else:
        out = files[-1]
    existing = out.read_bytes() if out.exists() else b""
    with out.open("a", encoding="utf-8", newline="\n") as f:
        if existing and not existing.endswith(b"\n"):
            f.write("\n")
        for line in lines:
            f.write(json.dumps(line) + "\n")
    print(f"appended {len(lines)} samples to {out.name} for: " + ", ".join(f"{t} v{v}" for t, v in new))
    return 0


if __name__ == "__main__":
    sys.exit(main())
