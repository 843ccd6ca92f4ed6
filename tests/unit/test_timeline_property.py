"""SPEC 4: the bitemporal index and a plain replay agree for every as-of and known-at, also after storage.

Random histories of decisions are driven through the real Program methods, with backdated valid
times arriving out of recorded order, some before the program's start (a backfill moves the start
back: ``Program.StartMovedBack``, also for a fact, ``cover``); commands the domain refuses are skipped. For random
``as_of``/``known_at`` the indexed query (``state_at`` on the program's timeline) must equal the
plain replay (``fold``) of the program's events, in memory and after a round trip through a real
SQLite event store (with snapshots).
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.evidence import SignatureRule
from domain.decision_context import Context
from domain.program import Program
from domain.timeline import fold, state_at
from domain.view import materialize
from service.application import BackstoryApp, Ledger, program_id_for
from service.config import parse_store

T0 = datetime(2024, 1, 1, 8, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
NAMES = ["Bridge", "Dead bug", "Bird dog", "Clam", "Plank", "Cat camel", "Side plank", "Squat"]
ZONES = [timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)),
         timezone(timedelta(hours=5, minutes=30))]
PROGRAM_ZONES = ["UTC", "Europe/Paris", "America/New_York"]
OPS = ["add", "add", "progress", "progress", "regress", "regress", "adapt", "pause", "resume", "retire",
       "rebuild", "deconstruct", "promote", "demote", "fitting-open", "fitting-close", "cover"]
BACKFILL = timedelta(days=21)  # how far before the program's init a backdated command may lie


def kg(m):
    return {"type": "free_weight", "magnitude": m, "unit": "kg"}


CHANGES = [
    {"sets": 1}, {"sets": 2}, {"sets": 3}, {"sets": 4}, {"sets": 6}, {"reps": 8}, {"reps": 12}, {"hold_s": 30},
    {"position": {"stage": 1}}, {"position": {"stage": 2}}, {"position": {"stage": 3, "posture": "wall"}},
    {"load": kg(2)}, {"load": kg(5)}, {"load": {"type": "bodyweight"}},
    {"direction": {"pattern": "hinge"}}, {"direction": {"pattern": "anti_rotation", "plane": "transverse"}},
    {"range": "partial"}, {"range": "full"}, {"sets": 4, "load": kg(1)},
]


@dataclass(frozen=True)
class Command:
    op: str
    pick: int            # which exercise
    variant: int         # which name / change / prescription
    back_hours: int      # how far before its recorded time it happened (0: now or slightly ahead)
    ahead_minutes: int   # with back_hours == 0: occurred this far after the recorded time (clock skew)
    step_hours: int      # recorded-time gap since the previous command
    zone: int            # offset the device wrote occurred_at in
    flush: bool          # save to the store after this command (storage round trip)


@dataclass
class History:
    program: Program
    recorded: datetime = T0
    exercise_ids: list[str] = field(default_factory=list)
    counter: int = 0
    applied: int = 0
    refused: int = 0


def start(program_id, tz: str) -> History:
    ctx = Context(occurred_at=T0, device_id="d0", mutation_id="m-start", recorded_at=T0)
    return History(Program.start(program_id, "Back program", tz, ctx))


def prescription(variant: int) -> dict:
    rx = {"position": {"stage": 1 + variant % 4}, "sets": 1 + variant % 5, "range": ["partial", "mid", "full"][variant % 3]}
    if variant % 2:
        rx["hold_s"] = 10 + variant
    else:
        rx["reps"] = 5 + variant
    rx["load"] = kg(variant % 7) if variant % 3 == 0 else {"type": "bodyweight"}
    return rx


PATTERNS = ["hinge", "squat", "anti_rotation", "anti_extension", "rotation", "isometric"]
WANTS = {  # the statuses an exercise should have for a command to be likely to apply
    "progress": ("active", "paused"), "regress": ("active", "paused"), "adapt": ("active", "paused"),
    "pause": ("active",), "resume": ("paused",), "retire": ("active", "paused", "deconstructed"),
    "rebuild": ("deconstructed",), "deconstruct": ("active", "paused"), "promote": ("active", "paused"),
    "demote": ("active", "paused", "deconstructed"),
}


def ordered_change(kind: str, rx: dict, variant: int) -> dict:
    """A change that really raises (progress) or lowers (regress) one dimension, when there is one."""
    up = kind == "progress"
    step = 1 if up else -1
    options = []
    if 1 <= rx["sets"] + step <= 20:
        options.append({"sets": rx["sets"] + step})
    if rx["reps"] is not None and rx["reps"] + 2 * step >= 1:
        options.append({"reps": rx["reps"] + 2 * step})
    if rx["hold_s"] is not None and rx["hold_s"] + 5 * step >= 1:
        options.append({"hold_s": rx["hold_s"] + 5 * step})
    if 1 <= rx["position"]["stage"] + step <= 4:
        options.append({"position": {"stage": rx["position"]["stage"] + step}})
    load = rx["load"]
    if load["unit"] == "kg" and load["magnitude"] + step >= 0:
        options.append({"load": kg(load["magnitude"] + step)})
    ranges = ["partial", "mid", "full"]
    if rx["range"] in ranges and 0 <= ranges.index(rx["range"]) + step <= 2:
        options.append({"range": ranges[ranges.index(rx["range"]) + step]})
    return options[variant % len(options)] if options else {"sets": rx["sets"]}


def unordered_change(rx: dict, variant: int) -> dict:
    if variant % 3 == 0:
        return {"hold_s": 20} if rx["reps"] is not None else {"reps": 10}
    pattern = PATTERNS[variant % len(PATTERNS)]
    if pattern == rx["direction"]["pattern"]:
        pattern = PATTERNS[(variant + 1) % len(PATTERNS)]
    return {"direction": {"pattern": pattern}}


def apply(h: History, c: Command) -> bool:
    """Run one command on the program, steered towards valid moves; False when the domain refused it.

    Every seventh variant sends an arbitrary change or exercise instead, so refusals stay in the mix.
    """
    h.recorded += c.step_hours * HOUR
    h.counter += 1
    occurred = h.recorded - c.back_hours * HOUR if c.back_hours else h.recorded + timedelta(minutes=c.ahead_minutes)
    occurred = max(occurred, T0 - BACKFILL).astimezone(ZONES[c.zone])
    ctx = Context(occurred_at=occurred, device_id=f"d{c.zone}", mutation_id=f"m{h.counter}",
                  recorded_at=h.recorded, reason=f"reason {h.counter}", reason_code="other")
    p, ids = h.program, h.exercise_ids
    wild = c.variant % 7 == 0
    then = p.view(occurred).exercises
    fitting = [e for e in then.values() if e.status in WANTS.get(c.op, ())]
    if c.op == "promote":
        fitting = [e for e in fitting if not e.signature]
    elif c.op == "demote":
        fitting = [e for e in fitting if e.signature]
    if fitting and not wild:
        ex = fitting[c.pick % len(fitting)].id
    else:
        ex = ids[c.pick % len(ids)] if ids else "missing"
    op = "add" if not ids and c.op not in ("fitting-open", "fitting-close", "cover") else c.op
    try:
        if op == "cover":  # a fact dated then: the start moves back to it if it lies before
            p.cover("checkin", ctx)
        elif op == "add":
            eid = f"e{h.counter}"
            p.add_exercise(eid, NAMES[c.variant % len(NAMES)], None, prescription(c.variant), ctx)
            ids.append(eid)
        elif op in ("progress", "regress", "adapt"):
            rx = then[ex].prescription if ex in then else None
            if wild or rx is None:
                change = CHANGES[c.pick % len(CHANGES)]
            elif op == "adapt":
                change = unordered_change(rx, c.variant)
            else:
                change = ordered_change(op, rx, c.variant)
            p.change_prescription(op, ex, change, ctx)
        elif op in ("pause", "resume", "retire", "rebuild"):
            p.change_status(op, ex, ctx)
        elif op == "deconstruct":
            into = [NAMES[c.variant % len(NAMES)], f"Part {c.variant % 5}"]
            if c.variant % 4 == 0:
                into.append(f"Piece {h.counter}")
            p.deconstruct(ex, into, [f"c{h.counter}-{i}" for i in range(len(into))], ctx)
            ids.extend(comp["id"] for comp in p.pending_events[-1].components if comp["new"])
        elif op == "promote":
            p.promote(ex, SignatureRule(), [], [], True, ctx)
        elif op == "demote":
            p.demote(ex, ctx)
        elif op == "fitting-open":
            p.fitting("open", f"notes {h.counter}", ctx)
        elif op == "fitting-close":
            p.fitting("close", None, ctx)
        else:  # pragma: no cover
            raise AssertionError(op)
    except DomainError:
        h.refused += 1
        return False
    h.applied += 1
    return True


commands = st.builds(
    Command,
    op=st.sampled_from(OPS),
    pick=st.integers(0, 40),
    variant=st.integers(0, 40),
    back_hours=st.one_of(st.just(0), st.integers(0, 48), st.integers(0, 24 * 21)),
    ahead_minutes=st.sampled_from([0, 0, 5, 10, 11]),
    step_hours=st.integers(0, 72),
    zone=st.integers(0, len(ZONES) - 1),
    flush=st.booleans(),
)


def instants(h: History, events) -> st.SearchStrategy[datetime]:
    """Query times: any hour around the history, or exactly an event's valid or recorded time."""
    span = int((h.recorded - T0) / HOUR) + 48
    around = st.integers(-int(BACKFILL / HOUR) - 24, span).map(lambda n: T0 + n * HOUR)
    exact = st.sampled_from([e.occurred_at for e in events] + [e.timestamp for e in events])
    nudged = st.tuples(exact, st.sampled_from([-1, 1])).map(lambda t: t[0] + t[1] * timedelta(microseconds=1))
    return st.one_of(around, exact, nudged)


def assert_agree(timeline, events, as_of, known_at) -> None:
    indexed = state_at(timeline, as_of, known_at)
    replayed = fold(events, as_of, known_at)
    assert indexed == replayed, (as_of, known_at)
    assert materialize(indexed) == materialize(replayed), (as_of, known_at)


def open_ledger(directory: str, account: str = "local") -> Ledger:
    """A fresh application on the store in ``directory`` and the ledger of one account's program in it."""
    app = BackstoryApp(parse_store("sqlite:///" + str(Path(directory) / "store.sqlite")).env)
    return app.ledger(program_id_for(account))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tz=st.sampled_from(PROGRAM_ZONES), cmds=st.lists(commands, min_size=8, max_size=50), data=st.data())
def test_index_equals_replay_in_memory_and_after_storage(tz, cmds, data):
    with tempfile.TemporaryDirectory() as directory:
        ledger = open_ledger(directory)
        try:
            h = start(ledger.program_id, tz)
            program = h.program
            all_events = []  # the program's pending events, the Started event included, gathered before each save
            for c in cmds:
                apply(h, c)
                if c.flush:
                    all_events += program.pending_events
                    ledger.save(program)
            all_events += program.pending_events
            in_memory = program.timeline
            assert isinstance(all_events[0], Program.Started)
            assert len(all_events) == program.version
            moves = [e for e in all_events if isinstance(e, Program.StartMovedBack)]
            assert [m.from_start for m in moves] == ([T0] + [m.occurred_at for m in moves])[:len(moves)]
            assert program.started_at() == min([T0] + [e.occurred_at for e in all_events])
            assert len(all_events) - len(moves) - 1 <= h.applied
            for _ in range(6):
                as_of = data.draw(instants(h, all_events), label="as_of")
                known_at = data.draw(st.one_of(st.none(), instants(h, all_events)), label="known_at")
                assert_agree(in_memory, all_events, as_of, known_at)

            ledger.save(program)
            stored = ledger.decisions()
            assert [type(e).__name__ for e in stored] == [type(e).__name__ for e in all_events]
            assert [e.originator_version for e in stored] == list(range(1, program.version + 1))
            reloaded = ledger.program()
            assert reloaded is not None and reloaded.version == program.version
            assert reloaded.timeline == in_memory
            for _ in range(6):
                as_of = data.draw(instants(h, stored), label="stored as_of")
                known_at = data.draw(st.one_of(st.none(), instants(h, stored)), label="stored known_at")
                assert_agree(reloaded.timeline, stored, as_of, known_at)
                assert reloaded.view(as_of, known_at) == program.view(as_of, known_at)
        finally:
            ledger.app.close()


# ----- a long history that crosses snapshots -------------------------------------------------


def long_history_commands(rng: random.Random):
    while True:
        yield Command(
            op=rng.choice(OPS + ["progress", "regress", "adapt", "add"]),
            pick=rng.randrange(40), variant=rng.randrange(40),
            back_hours=rng.choice([0, 0, rng.randrange(1, 24 * 30)]),
            ahead_minutes=rng.choice([0, 5, 10]), step_hours=rng.randrange(0, 12),
            zone=rng.randrange(len(ZONES)), flush=True,
        )


def test_long_history_across_snapshots_loads_and_replays_identically(tmp_path):
    rng = random.Random(20240301)
    ledger = open_ledger(str(tmp_path))
    try:
        # the twin lives only in memory; the stored one is loaded fresh (snapshot + tail) for every command
        twin = start(ledger.program_id, "Europe/Paris")
        ledger.save(twin.program)
        stored_history = History(ledger.program())
        gen = long_history_commands(rng)
        while twin.program.version < 340:
            c = next(gen)
            stored_history.program = ledger.program()
            ok_twin = apply(twin, c)
            ok_stored = apply(stored_history, c)
            assert ok_twin == ok_stored, c
            ledger.save(stored_history.program)
            twin.program.collect_events()
            assert stored_history.exercise_ids == twin.exercise_ids
        assert twin.refused > 0 and twin.applied >= 339

        snapshots = [s.originator_version for s in ledger.app.snapshots.get(ledger.program_id)]
        assert snapshots[:3] == [100, 200, 300]

        final = ledger.program()
        assert final.version == twin.program.version
        assert final.timeline == twin.program.timeline
        decisions = ledger.decisions()
        assert len(decisions) == final.version

        # a separate application on the same file sees the same program
        other = open_ledger(str(tmp_path))
        try:
            assert other.program().timeline == final.timeline
            # and another account's program in the same store is a different stream
            assert other.app.ledger(program_id_for("someone-else")).program() is None
        finally:
            other.app.close()

        times = sorted({e.occurred_at for e in decisions} | {e.timestamp for e in decisions})
        for _ in range(150):
            as_of = rng.choice(times) + rng.choice([-1, 0, 1]) * timedelta(seconds=1)
            known_at = rng.choice([None, rng.choice(times)])
            assert_agree(final.timeline, decisions, as_of, known_at)

        # an older version is rebuilt from a snapshot and the events after it
        for version in (150, 250, 301):
            old = ledger.app.repository.get(ledger.program_id, version=version)
            assert old.version == version
            for as_of in rng.sample(times, 20):
                assert state_at(old.timeline, as_of) == fold(decisions[:version], as_of)
    finally:
        ledger.app.close()
