"""Benchmark: the program as of a date, indexed (snapshot + tail + index) against a plain full replay.

    python bench/asof.py [--events N] [--db URL] [--json] [--seed S] [--repeats R] [--keep]

1. Builds a synthetic 5-year history of at least N domain events (default 50,000)
   for one program: ~40 exercises added over the years (plus the components of
   deconstructions), a few thousand decisions (progress, regress, adapt, pause,
   resume, retire, deconstruct, rebuild, promote with and without --force, demote,
   fittings), some of them backdated and so recorded out of valid-time order, and
   the rest facts (sessions with pain and tension, next-day responses,
   micro-breaks, check-ins, flares, a few corrections and voids). Each change
   also gets its MutationRecord, as the one command path stores it. The history
   is built with the domain aggregates directly (``Program`` methods,
   ``FactLog.open/record``) and saved through the ledger of the CLI's program
   (``BackstoryApp(env).ledger(program_id_for("local"))``) in batches, so the
   Program snapshots (every 100 versions) are taken exactly as in normal use.
2. At 5 dates spread over the 5 years it times ``show``'s query:
   - indexed cold: a fresh ``BackstoryApp`` and its ledger (as a CLI process opens
     them), then ``ledger.program().view(as_of)``: latest snapshot + tail + a binary
     search per field;
   - indexed warm: ``view(as_of)`` on an already loaded Program;
   - replay cold: a fresh app, ``ledger.decisions()`` (every program event) then
     ``domain.timeline.fold`` and ``domain.view.materialize``;
   - replay warm: ``fold`` + ``materialize`` over events already in memory;
   and checks that both give the same view (also as known at a recorded time).
3. Times whole processes: ``python -m cli --db URL show --as-of DATE``,
   ``python -m cli --help`` and ``python -c "import click"`` (the floor).

The default store is a SQLite file in a temporary directory. With
``--db postgresql://USER@HOST:PORT/DB?schema=NAME`` the schema is created first
and dropped at the end (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from domain.errors import DomainError  # noqa: E402
from domain.evidence import Exposure, SignatureRule  # noqa: E402
from domain.facts import FactLog, month_of, validate  # noqa: E402
from domain.mutations import MutationRecord  # noqa: E402
from domain.program import Context, Program  # noqa: E402
from domain.timeline import fold, time_key  # noqa: E402
from domain.view import materialize  # noqa: E402
from service.application import BackstoryApp, Ledger, program_id_for  # noqa: E402
from service.config import parse_store  # noqa: E402

TZ_NAME = "Europe/Paris"
ACCOUNT = "local"  # the program ``python -m cli`` shows (service.application.program_id_for)
TZ = ZoneInfo(TZ_NAME)
YEARS = 5
DEVICES = ("phone-7a1c", "laptop-03be")
RULE = SignatureRule()

CATALOGUE = [
    # name, kind, prescription
    ("Dead bug", "segmental_control", dict(position={"stage": 1, "posture": "supine"}, sets=3, reps=8,
                                           target=["deep_abdominals"], protect=["hip_flexors"])),
    ("Bird dog", "segmental_control", dict(position={"stage": 2, "posture": "quadruped"}, sets=3, reps=6,
                                           per_side=True, target=["multifidus"], protect=["paraspinals"])),
    ("Glute bridge", "strength", dict(position={"stage": 1, "posture": "supine"}, sets=2, reps=10,
                                      target=["glutes"], protect=["hamstrings"], range="mid")),
    ("Side plank", "endurance", dict(position={"stage": 1, "posture": "side_lying"}, sets=2, hold_s=20,
                                     target=["obliques"], range="partial")),
    ("McGill curl-up", "endurance", dict(position={"stage": 1, "posture": "supine"}, sets=3, hold_s=10,
                                         target=["rectus_abdominis"])),
    ("Cat-camel", "mobility", dict(position={"stage": 2, "posture": "quadruped"}, sets=1, reps=10,
                                   range="partial")),
    ("Pallof press", "strength", dict(position={"stage": 2, "posture": "half_kneeling"}, sets=3, reps=8,
                                      load={"type": "elastic", "magnitude": 1, "unit": "band"},
                                      direction={"pattern": "anti_rotation", "plane": "transverse"})),
    ("Hip hinge", "segmental_control", dict(position={"stage": 4, "posture": "standing"}, sets=3, reps=8,
                                            direction={"pattern": "hinge", "plane": "sagittal"}, range="partial")),
    ("Goblet squat", "strength", dict(position={"stage": 4, "posture": "standing"}, sets=3, reps=6,
                                      load={"type": "free_weight", "magnitude": 4, "unit": "kg"},
                                      direction={"pattern": "squat", "plane": "sagittal"}, range="mid")),
    ("Farmer carry", "endurance", dict(position={"stage": 4, "posture": "walking"}, sets=3, hold_s=30,
                                       load={"type": "free_weight", "magnitude": 6, "unit": "kg"},
                                       direction={"pattern": "carry", "plane": "sagittal"})),
    ("Diaphragmatic breathing", "breathing", dict(position={"stage": 1, "posture": "crook_lying"}, sets=1,
                                                  hold_s=60, target=["deep_abdominals"])),
    ("Prone press-up", "mobility", dict(position={"stage": 1, "posture": "prone"}, sets=2, reps=8,
                                        range="partial", direction={"pattern": "push", "plane": "sagittal"})),
    ("Hamstring stretch", "stretch", dict(position={"stage": 1, "posture": "supine"}, sets=2, hold_s=30,
                                          target=["hamstrings"])),
    ("Clamshell", "strength", dict(position={"stage": 1, "posture": "side_lying"}, sets=2, reps=12,
                                   per_side=True, target=["gluteus_medius"],
                                   load={"type": "elastic", "magnitude": 1, "unit": "band"})),
    ("Wall sit", "endurance", dict(position={"stage": 3, "posture": "wall"}, sets=3, hold_s=20, range="partial")),
    ("Stir the pot", "endurance", dict(position={"stage": 3, "posture": "ball"}, sets=2, reps=6,
                                      direction={"pattern": "anti_extension", "plane": "transverse"})),
    ("Suitcase carry", "strength", dict(position={"stage": 4, "posture": "walking"}, sets=3, hold_s=20,
                                        load={"type": "free_weight", "magnitude": 4, "unit": "kg"},
                                        direction={"pattern": "carry", "plane": "frontal"})),
    ("Hip flexor stretch", "stretch", dict(position={"stage": 2, "posture": "half_kneeling"}, sets=2,
                                           hold_s=30, target=["hip_flexors"])),
]
POSTURES = {1: "supine", 2: "quadruped", 3: "supported", 4: "standing"}
PATTERNS = ("push", "pull", "hinge", "squat", "lunge", "carry", "rotation", "anti_rotation",
            "anti_extension", "anti_flexion", "isometric")
PLANES = ("sagittal", "frontal", "transverse")
CUES = ("brace gently", "breathe out on effort", "neutral spine", "slow on the way down",
        "ribs down", "long neck", "stop before the pinch", "feel the glutes first")
MUSCLES = ("paraspinals", "multifidus", "quadratus_lumborum", "hip_flexors", "glutes", "gluteus_medius",
           "obliques", "hamstrings", "upper_trapezius")
SIDES = ("left", "right", "both")
TENSION_KINDS = ("overactive", "guarding", "underactive", "cramping")
BREAKS = ("stand", "walk", "extend", "rotate", "reset")
REGIONS = ("low_back", "left_buttock", "right_buttock", "left_thigh", "right_thigh", "left_hip", "mid_back")
REASONS = {
    "progress": [("easy for a week, no pain after", "too_easy"), ("therapist: ready for more", "therapist"),
                 ("plateau, time to load", "plateau")],
    "regress": [("pain after sessions", "pain"), ("flare: reduce volume", "flare"),
                ("technique breaks down", "technique")],
    "adapt": [("new variation to avoid the pinch", "technique"), ("equipment at the gym", "schedule"),
              ("therapist suggestion", "therapist")],
    "pause": [("travelling", "schedule"), ("flare", "flare")],
    "resume": [("back home", "schedule"), ("flare over", "flare")],
    "retire": [("no longer needed", "other"), ("replaced by a harder variant", "plateau")],
    "deconstruct": [("aggravates the right QL; work the parts", "pain"), ("too complex, split it", "technique")],
    "rebuild": [("components mastered", "evidence")],
    "promote": [("calms the back every time", "evidence"), ("therapist is confident", "therapist")],
    "demote": [("no longer reliable", "pain")],
}


# ----- building the history ------------------------------------------------------------------------


class Builder:
    """Simulates ``years`` (5 by default) of one person's program and saves it through the real application."""

    def __init__(self, ledger: Ledger, target_events: int, seed: int, end: date,
                 batch: int = 300, progress: Callable[[str], None] | None = None, years: float = YEARS):
        self.ledger = ledger
        self.rng = random.Random(seed)
        self.target = target_events
        self.end = end
        self.start = end - timedelta(days=round(365.25 * years))
        self.days = (self.end - self.start).days + 1
        self.batch = batch
        self.say = progress or (lambda s: None)
        self.clock = datetime.combine(self.start, dtime(6, 0), TZ).astimezone(timezone.utc)
        self.program: Program | None = None
        self.logs: dict[str, FactLog] = {}
        self.records: list[MutationRecord] = []
        self.pending = 0
        self.counts: dict[str, int] = {}
        self.decisions = 0
        self.facts = 0
        self.backdated = 0
        self.out_of_order = 0
        self.refused: dict[str, int] = {}
        self.name_serial = 0
        self.sessions: dict[str, list[Exposure]] = {}   # exercise id -> recent exposures
        self.worse: dict[str, list[datetime]] = {}
        self.recent_facts: list[tuple[str, str]] = []  # (month, fact id) of recent sessions
        self.flare_until: date | None = None
        self.saves = 0
        self.max_valid_seen = ""
        # The latest valid-time key in the Program's index, and the current view cached per version:
        # a view as of a time at or after every recorded effect is the current view, so the builder
        # asks the domain for a new one only when the program changed (the domain's own checks
        # still compute theirs). This keeps the history identical and the build about a third faster.
        self.max_valid_key = ""
        self._view: tuple[int, Any] | None = None

    # --- ids, clocks, saving ---

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def tick(self, natural: datetime) -> datetime:
        """The recorded time of the next change: the natural time, kept strictly increasing."""
        natural = natural.astimezone(timezone.utc)
        self.clock = max(natural, self.clock + timedelta(milliseconds=1))
        return self.clock

    def mutation(self, kind: str, mid: str, device: str, occurred_at: datetime, recorded_at: datetime,
                 args: dict, result: dict) -> None:
        self.records.append(MutationRecord.processed(self.ledger.program_id, mid, kind, device, occurred_at, args,
                                                     "applied", result, recorded_at))
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.pending += 1
        if self.pending >= self.batch:
            self.flush()

    def flush(self) -> None:
        aggregates = [self.program, *[log for log in self.logs.values() if log.pending_events], *self.records]
        self.ledger.save(*aggregates)
        self.records = []
        self.pending = 0
        self.saves += 1

    def log_for(self, occurred_at: datetime) -> FactLog:
        month = month_of(occurred_at)
        log = self.logs.get(month)
        if log is None:
            log = self.logs[month] = FactLog.open(self.ledger.program_id, month)
            self.pending += 1
        return log

    def current_view(self):
        """``self.program.view()``, computed once per program version."""
        p = self.program
        if self._view is None or self._view[0] != p.version:
            self._view = (p.version, p.view())
        return self._view[1]

    def view_at(self, occurred_at: datetime):
        """``self.program.view(occurred_at)``; the cached current view when nothing lies after that time."""
        if time_key(occurred_at) >= self.max_valid_key:
            return self.current_view()
        return self.program.view(occurred_at)

    # --- decisions ---

    def ctx(self, occurred_at: datetime, recorded_at: datetime, mid: str, device: str, kind: str) -> Context:
        reason, code = self.rng.choice(REASONS.get(kind, [(None, "unspecified")]))
        return Context(occurred_at=occurred_at, device_id=device, mutation_id=mid, recorded_at=recorded_at,
                       reason=reason, reason_code=code)

    def decide(self, kind: str, natural: datetime, backdate_days: float = 0.0) -> bool:
        """Try one decision; a refusal by the domain is counted and nothing is stored."""
        recorded_at = self.tick(natural)
        occurred_at = recorded_at.astimezone(TZ) - timedelta(days=backdate_days) if backdate_days else \
            natural.astimezone(TZ)
        start = datetime.combine(self.start, dtime(8, 0), TZ)
        occurred_at = max(occurred_at, start + timedelta(minutes=1))
        mid, device = self.uid(), self.rng.choice(DEVICES)
        ctx = self.ctx(occurred_at, recorded_at, mid, device, kind)
        p = self.program
        view = self.view_at(occurred_at)
        try:
            args, result = getattr(self, f"_{kind}")(p, view, ctx)
        except DomainError as e:
            rule = f"{kind}:{getattr(e, 'rule', None) or getattr(e, 'kind', type(e).__name__)}"
            self.refused[rule] = self.refused.get(rule, 0) + 1
            return False
        except _Skip:
            return False
        self.decisions += 1
        self.pending += 1
        key = occurred_at.astimezone(timezone.utc).isoformat()
        self.max_valid_key = max(self.max_valid_key, time_key(occurred_at))
        if backdate_days:
            self.backdated += 1
        if key < self.max_valid_seen:
            self.out_of_order += 1
        self.max_valid_seen = max(self.max_valid_seen, key)
        args.update({"reason": ctx.reason, "reason_code": ctx.reason_code})
        self.mutation(kind, mid, device, occurred_at, recorded_at, args, result)
        return True

    def _pick(self, view, statuses=("active",), signature: bool | None = None):
        pool = [e for e in view.exercises.values() if e.status in statuses
                and (signature is None or e.signature == signature)]
        if not pool:
            raise _Skip()
        return self.rng.choice(pool)

    def new_name(self, base: str) -> str:
        self.name_serial += 1
        return base if self.name_serial <= len(CATALOGUE) else f"{base} #{self.name_serial}"

    def _add(self, p, view, ctx):
        base, kind, rx = CATALOGUE[self.name_serial % len(CATALOGUE)]
        name = self.new_name(base)
        eid = self.uid()
        rx = {"load": {"type": "bodyweight", "magnitude": None, "unit": None}, **rx}
        if self.rng.random() < 0.5:
            rx["cues"] = self.rng.sample(CUES, 2)
        p.add_exercise(eid, name, kind, rx, ctx)
        return {"name": name, "kind": kind, "sets": rx["sets"]}, {"exercise_id": eid, "exercise": name}

    def _moves(self, rx: dict, up: bool) -> list[dict]:
        out = []
        sets, reps, hold = rx["sets"], rx["reps"], rx["hold_s"]
        stage = rx["position"]["stage"]
        load = rx["load"]
        if up:
            if sets < 5:
                out.append({"sets": sets + 1})
            if reps is not None and reps < 24:
                out.append({"reps": reps + 2})
            if hold is not None and hold < 120:
                out.append({"hold_s": hold + 5})
            if stage < 4:
                out.append({"position": {"stage": stage + 1, "posture": POSTURES[stage + 1]}})
            if load["magnitude"] is not None and load["magnitude"] < 40:
                out.append({"load": {**load, "magnitude": load["magnitude"] + (1 if load["unit"] == "band" else 2)}})
            if rx["range"] in ("partial", "mid"):
                out.append({"range": "mid" if rx["range"] == "partial" else "full"})
        else:
            if sets > 1:
                out.append({"sets": sets - 1})
            if reps is not None and reps > 4:
                out.append({"reps": reps - 2})
            if hold is not None and hold > 10:
                out.append({"hold_s": hold - 5})
            if stage > 1:
                out.append({"position": {"stage": stage - 1, "posture": POSTURES[stage - 1]}})
            if load["magnitude"] is not None and load["magnitude"] > 2:
                out.append({"load": {**load, "magnitude": load["magnitude"] - 1}})
            if rx["range"] in ("mid", "full"):
                out.append({"range": "mid" if rx["range"] == "full" else "partial"})
        return out

    def _change(self, kind, p, view, ctx):
        ex = self._pick(view, ("active", "paused"))
        rx = ex.prescription
        if kind == "adapt":
            choice = self.rng.random()
            if choice < 0.4:
                d = rx["direction"] or {}
                changes = {"direction": {"pattern": self.rng.choice([x for x in PATTERNS if x != d.get("pattern")]),
                                         "plane": self.rng.choice(PLANES)}}
            elif choice < 0.7:
                changes = {"cues": self.rng.sample(CUES, self.rng.randint(1, 3))}
            elif rx["reps"] is not None and rx["sets"] < 5 and rx["reps"] > 4:
                changes = {"sets": rx["sets"] + 1, "reps": rx["reps"] - 2}
            else:
                changes = {"protect": self.rng.sample(MUSCLES[:4], 1)}
        else:
            moves = self._moves(rx, kind == "progress")
            if not moves:
                raise _Skip()
            changes = self.rng.choice(moves)
        p.change_prescription(kind, ex.id, changes, ctx)
        return {"exercise": ex.name, **{k: v for k, v in changes.items()}}, {"exercise_id": ex.id,
                                                                             "exercise": ex.name}

    def _progress(self, p, view, ctx):
        return self._change("progress", p, view, ctx)

    def _regress(self, p, view, ctx):
        return self._change("regress", p, view, ctx)

    def _adapt(self, p, view, ctx):
        return self._change("adapt", p, view, ctx)

    def _status(self, command, statuses, p, view, ctx):
        ex = self._pick(view, statuses)
        p.change_status(command, ex.id, ctx)
        return {"exercise": ex.name}, {"exercise_id": ex.id, "exercise": ex.name}

    def _pause(self, p, view, ctx):
        return self._status("pause", ("active",), p, view, ctx)

    def _resume(self, p, view, ctx):
        return self._status("resume", ("paused",), p, view, ctx)

    def _retire(self, p, view, ctx):
        if len(view.in_program()) < 10:
            raise _Skip()
        return self._status("retire", ("active", "paused"), p, view, ctx)

    def _rebuild(self, p, view, ctx):
        return self._status("rebuild", ("deconstructed",), p, view, ctx)

    def _deconstruct(self, p, view, ctx):
        ex = self._pick(view, ("active",))
        into = [self.new_name(f"{ex.name.split(' #')[0]}: {part}")
                for part in self.rng.sample(["setup", "brace", "lever", "breath", "range", "tempo"], 2)]
        new_ids = [self.uid() for _ in into]
        p.deconstruct(ex.id, into, new_ids, ctx)
        return {"exercise": ex.name, "into": into}, {"exercise_id": ex.id, "components": into}

    def _promote(self, p, view, ctx):
        ex = self._pick(view, ("active",), signature=False)
        force = self.rng.random() < 0.5
        exposures = self.sessions.get(ex.id, [])
        worse = self.worse.get(ex.id, [])
        if force and not ctx.reason:
            raise _Skip()
        p.promote(ex.id, RULE, exposures, worse, force, ctx)
        event = p.pending_events[-1]
        return ({"exercise": ex.name, "force": force},
                {"exercise_id": ex.id, "forced": event.forced, "met": event.evidence["met"]})

    def _demote(self, p, view, ctx):
        ex = self._pick(view, ("active", "paused"), signature=True)
        p.demote(ex.id, ctx)
        return {"exercise": ex.name}, {"exercise_id": ex.id}

    def _fitting(self, action, p, view, ctx):
        p.fitting(action, f"cycle notes {self.rng.randint(1, 999)}", ctx)
        return {"notes": "..."}, {"fitting": p.pending_events[-1].number}

    # --- facts ---

    def fact(self, command: str, natural: datetime, backdate_hours: float = 0.0, **build: Any) -> None:
        recorded_at = self.tick(natural)
        occurred_at = (recorded_at - timedelta(hours=backdate_hours)).astimezone(TZ)
        if month_of(occurred_at) < month_of(datetime.combine(self.start, dtime(12), TZ)):
            occurred_at = recorded_at.astimezone(TZ)
        log = self.log_for(occurred_at)
        mid, device = self.uid(), self.rng.choice(DEVICES)
        fact_id = self.uid()
        args = build.pop("args")
        log.record(command, fact_id, occurred_at, recorded_at, device, mid, **build)
        self.facts += 1
        self.pending += 1
        if command == "log":
            self.recent_facts.append((log.month, fact_id))
            self.recent_facts = self.recent_facts[-30:]
        self.mutation(command, mid, device, occurred_at, recorded_at, args, {"fact_id": fact_id, "month": log.month})

    def session(self, view, natural: datetime, flare: bool) -> None:
        active = [e for e in view.exercises.values() if e.status == "active"]
        if not active:
            return
        ex = self.rng.choice(active)
        rng = self.rng
        before = min(10, max(0, round(rng.gauss(6 if flare else 3, 1.5))))
        during = min(10, max(0, before + rng.choice((-1, 0, 0, 1))))
        after = min(10, max(0, before - rng.choice((2, 1, 1, 1, 0, 0, -1))))
        tension = [{"muscle": rng.choice(MUSCLES), "side": rng.choice(SIDES), "kind": rng.choice(TENSION_KINDS),
                    "intensity": rng.randint(1, 8)} for _ in range(rng.choice((0, 1, 1, 2)))]
        rx = ex.prescription
        values = {"sets": rx["sets"], "reps": rx["reps"], "hold_s": rx["hold_s"], "load": rx["load"],
                  "pain_before": before, "pain_during": during, "pain_after": after,
                  "effort": rng.randint(2, 7), "tension": tension,
                  "note": rng.choice((None, None, None, "felt stiff at the start", "good session"))}
        session = validate("log", values)
        backdate = rng.choice((0.0,) * 19 + (rng.uniform(2, 30),))
        self.fact("log", natural, backdate, exercise_id=ex.id, exercise_name=ex.name, session=session,
                  args={"exercise": ex.name, "pain_before": before, "pain_after": after})
        occurred = self.clock - timedelta(hours=backdate)
        exposures = self.sessions.setdefault(ex.id, [])
        exposures.append(Exposure(occurred, before, during, after))
        del exposures[:-40]

    def next_day(self, view, natural: datetime) -> None:
        ids = [eid for eid in self.sessions if eid in view.exercises and view.exercises[eid].status == "active"]
        if not ids:
            return
        eid = self.rng.choice(ids)
        verdict = self.rng.choices(("better", "same", "worse"), (5, 4, 1))[0]
        response = validate("next-day", {"verdict": verdict, "pain": self.rng.randint(0, 7)})
        self.fact("next-day", natural, exercise_id=eid, exercise_name=view.exercises[eid].name, session_id=None,
                  response=response, args={"exercise": view.exercises[eid].name, "verdict": verdict})
        if verdict == "worse":
            worse = self.worse.setdefault(eid, [])
            worse.append(self.clock)
            del worse[:-10]

    def correction(self, natural: datetime, void: bool) -> None:
        if not self.recent_facts:
            return
        month, target = self.rng.choice(self.recent_facts)
        log = self.logs[month]
        if log.facts[target]["voided"]:
            return
        recorded_at = self.tick(natural)
        occurred_at = recorded_at.astimezone(TZ)
        mid, device, fid = self.uid(), self.rng.choice(DEVICES), self.uid()
        try:
            if void:
                log.void(target, "logged twice", fid, occurred_at, recorded_at, device, mid)
            else:
                log.correct(target, {"pain_after": self.rng.randint(0, 10)}, "typo", fid, occurred_at,
                            recorded_at, device, mid)
        except DomainError:
            return
        self.facts += 1
        self.pending += 1
        self.mutation("void" if void else "correct", mid, device, occurred_at, recorded_at,
                      {"fact": target}, {"fact_id": target})

    # --- the simulation ---

    def run(self) -> None:
        rng = self.rng
        t0 = time.perf_counter()
        first = datetime.combine(self.start, dtime(8, 0), TZ)
        mid = self.uid()
        recorded = self.tick(first)
        self.program = Program.start(self.ledger.program_id, "Low back, 5 years", TZ_NAME,
                                     Context(first, DEVICES[0], mid, recorded))
        self.max_valid_key = time_key(first)
        self.decisions += 1
        self.pending += 1
        self.mutation("init", mid, DEVICES[0], first, recorded, {"name": "Low back, 5 years"}, {})
        for h in range(6):
            self.decide("add", first + timedelta(minutes=5 + h))
        self.decide("fitting_open", first + timedelta(minutes=30))

        # ~36 adds in all (plus ~20 components of deconstructions) spread over the years, and about
        # 2,300 decisions for 50,000 events (scaled with N; refusals and skips fall out of the target).
        adds_total = 36
        add_days = sorted(rng.sample(range(3, self.days - 3), adds_total - 6))
        decisions_target = max(400, round(self.target * 0.054))
        fitting_events = self.days / 10.5 * 2
        per_day = max(0.0, (decisions_target - adds_total - fitting_events) / self.days)
        next_fitting_close = 7 + rng.randint(0, 7)
        kinds = ("progress", "regress", "adapt", "pause", "resume", "retire", "deconstruct", "rebuild",
                 "promote", "demote")
        weights = (36, 16, 14, 6, 8, 3.5, 0.4, 0.3, 4, 1.5)

        for i in range(1, self.days):
            day = self.start + timedelta(days=i)
            left = self.days - i
            view = self.current_view()
            flare = self.flare_until is not None and day <= self.flare_until
            expected_decisions = per_day + (2 / 10.5) + (adds_total / self.days)
            so_far = self.decisions + self.facts
            facts_today = max(0, math.ceil((self.target - so_far) / left - expected_decisions * 0.9))

            items: list[tuple[float, str]] = []
            n_dec = _poisson(rng, per_day)
            items += [(rng.uniform(7, 22), "decision") for _ in range(n_dec)]
            if i in add_days:
                items.append((rng.uniform(9, 20), "add"))
            if i == next_fitting_close:
                items.append((19.0, "fitting"))
                next_fitting_close = i + rng.randint(7, 14)
            if not flare and rng.random() < 1 / 60:
                self.flare_until = day + timedelta(days=rng.randint(3, 10))
                items.append((rng.uniform(6, 9), "flare-start"))
            elif flare and day == self.flare_until:
                items.append((rng.uniform(8, 12), "flare-end"))
            mix = rng.choices(("log", "break", "checkin", "next-day", "correct", "void"),
                              (46, 36, 8, 8, 1, 0.5), k=facts_today)
            for kind in mix:
                if kind == "break":
                    at = rng.uniform(9, 18)
                elif kind == "log":
                    at = rng.choice((rng.uniform(6.5, 8.5), rng.uniform(17.5, 21.5)))
                elif kind == "next-day":
                    at = rng.uniform(6, 9)
                else:
                    at = rng.uniform(7, 22.5)
                items.append((at, kind))
            items.sort()

            for hour, kind in items:
                natural = datetime.combine(day, dtime(0), TZ) + timedelta(hours=hour)
                if kind == "decision":
                    choice = rng.choices(kinds, weights)[0]
                    back = rng.uniform(0.5, 21) if rng.random() < 0.08 else 0.0
                    self.decide(choice, natural, back)
                elif kind == "add":
                    self.decide("add", natural, rng.uniform(1, 6) if rng.random() < 0.1 else 0.0)
                elif kind == "fitting":
                    self.decide("fitting_close", natural)
                    self.decide("fitting_open", natural + timedelta(minutes=1))
                elif kind == "log":
                    self.session(view, natural, flare)
                elif kind == "break":
                    b = rng.choice(BREAKS)
                    details = validate("break", {"kind": b, "seconds": rng.choice((30, 45, 60, 90, 120))})
                    self.fact("break", natural, details=details, args={"kind": b})
                elif kind == "checkin":
                    p = min(10, max(0, round(rng.gauss(6 if flare else 3, 1.5))))
                    details = validate("checkin", {"pain": p, "starts": rng.choice(REGIONS[:3]),
                                                   "travels": rng.sample(REGIONS[1:], rng.choice((0, 0, 1, 2)))})
                    self.fact("checkin", natural, details=details, args={"pain": p})
                elif kind == "next-day":
                    self.next_day(view, natural)
                elif kind in ("correct", "void"):
                    self.correction(natural, kind == "void")
                elif kind in ("flare-start", "flare-end"):
                    details = validate(kind, {"pain": rng.randint(6, 8) if kind == "flare-start" else 3,
                                              "note": "lifting" if kind == "flare-start" else None})
                    self.fact(kind, natural, details=details, args={})
                view = self.current_view() if kind in ("decision", "add", "fitting") else view
            if i % 365 == 0:
                self.say(f"  year {i // 365}: {self.decisions + self.facts:,} events "
                         f"({time.perf_counter() - t0:.0f} s)")
        # Top up with the last evening's micro-breaks so there are at least ``target`` events.
        last = datetime.combine(self.end, dtime(21, 0), TZ)
        while self.decisions + self.facts < self.target:
            details = validate("break", {"kind": "walk", "seconds": 60})
            self.fact("break", last, details=details, args={"kind": "walk"})
        self.flush()

def _fitting(action):
    def method(self, p, view, ctx):
        return self._fitting(action, p, view, ctx)
    return method


Builder._fitting_open = _fitting("open")
Builder._fitting_close = _fitting("close")


class _Skip(Exception):
    """Nothing to decide on (no exercise in the right status)."""


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# ----- measuring -----------------------------------------------------------------------------------


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def view_dict(view) -> dict:
    return dataclasses.asdict(view)


def end_of_day(d: date) -> datetime:
    return datetime.combine(d, dtime.max, TZ)


def open_ledger(env: dict[str, str]) -> Ledger:
    """A fresh application and the CLI's program in it, as a ``backstory`` process opens them."""
    return BackstoryApp(env).ledger(program_id_for(ACCOUNT))


def measure_queries(env: dict[str, str], dates: list[date], repeats: int, warm_repeats: int,
                    known_at: datetime) -> dict[str, Any]:
    rows = []
    opens = []
    ledger = open_ledger(env)
    app = ledger.app
    program = ledger.program()
    events = ledger.decisions()
    for d in dates:
        as_of = end_of_day(d)
        cold_idx, cold_rep, warm_idx, warm_rep = [], [], [], []
        for _ in range(repeats):
            t_open, fresh = timed(open_ledger, env)
            opens.append(t_open)
            t, indexed = timed(lambda led, at: led.program().view(at), fresh, as_of)
            cold_idx.append(t)
            fresh.app.close()
            fresh = open_ledger(env)
            t, replayed = timed(lambda led, at: materialize(fold(led.decisions(), at)), fresh, as_of)
            cold_rep.append(t)
            fresh.app.close()
            assert view_dict(indexed) == view_dict(replayed), f"indexed and replayed views differ at {d}"
        for _ in range(warm_repeats):
            t, indexed = timed(program.view, as_of)
            warm_idx.append(t)
        for _ in range(max(3, warm_repeats // 4)):
            t, replayed = timed(lambda at: materialize(fold(events, at)), as_of)
            warm_rep.append(t)
        assert view_dict(indexed) == view_dict(replayed), f"indexed and replayed views differ at {d}"
        # The bitemporal side too: as of this date, as known at a recorded time before the end.
        assert view_dict(program.view(as_of, known_at)) == view_dict(materialize(fold(events, as_of, known_at)))
        rows.append({
            "date": d.isoformat(), "exercises": len(indexed.exercises),
            "in_program": len(indexed.in_program()),
            "indexed_cold_ms": median_ms(cold_idx), "indexed_warm_ms": median_ms(warm_idx),
            "replay_cold_ms": median_ms(cold_rep), "replay_warm_ms": median_ms(warm_rep),
        })
    # Not the as-of query, for context: a fact mutation or a recap loads whole month logs
    # (a snapshot and its tail once a month has 100 events).
    month = month_of(end_of_day(dates[-1]))
    loads = []
    for _ in range(repeats):
        fresh = open_ledger(env)
        t, log = timed(fresh.fact_log, month)
        loads.append(t)
        fresh.app.close()
    pid = ledger.program_id
    snap = list(app.snapshots.get(pid, desc=True, limit=1)) if app.snapshots else []
    snap_records = app.snapshots.recorder.select_events(pid, desc=True, limit=1) if app.snapshots else []
    snapshots = len(app.snapshots.recorder.select_events(pid)) if app.snapshots else 0
    assert program.version < 100 or snapshots, "the Program was never snapshotted"
    info = {
        "program_version": program.version, "snapshots": snapshots,
        "snapshot_version": snap[0].originator_version if snap else None,
        "snapshot_bytes": len(snap_records[0].state) if snap_records else None,
        "tail_events": program.version - (snap[0].originator_version if snap else 0),
        "app_open_ms": median_ms(opens),
        "fact_month": month, "fact_month_events": log.version, "fact_month_load_ms": median_ms(loads),
    }
    app.close()
    return {"rows": rows, **info}


def process_envs(home: str) -> tuple[dict[str, str], dict[str, str]]:
    """Environments for whole ``python`` processes: (bytecode cached under ``home``, bytecode writing off).

    The cache goes to a temporary PYTHONPYCACHEPREFIX (nothing is written into the project), as an
    installed program has its bytecode. ``BACKSTORY_HOME`` is ``home``, so nothing of the user's is read.
    """
    base = {**os.environ, "BACKSTORY_HOME": home,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    base.pop("BACKSTORY_DB", None)
    cached = {**base, "PYTHONPYCACHEPREFIX": str(Path(home) / "pycache")}
    cached.pop("PYTHONDONTWRITEBYTECODE", None)
    nocache = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
    nocache.pop("PYTHONPYCACHEPREFIX", None)
    return cached, nocache


def run_process(args: list[str], env: dict[str, str]) -> float:
    """Wall time of one whole process, which must succeed."""
    t = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed


def measure_processes(url: str, dates: list[date], runs: int, home: str) -> dict[str, Any]:
    """Median wall time of whole processes, with bytecode cached as an installed program has it.

    The bytecode goes to a temporary PYTHONPYCACHEPREFIX (nothing is written into the project),
    after one warm-up run. ``show_process_nocache_ms`` is the same run with bytecode writing off
    (as PYTHONDONTWRITEBYTECODE=1 leaves the project's own modules: compiled on every run).
    """
    cached, nocache = process_envs(home)

    def run(args: list[str], env: dict[str, str] = cached) -> float:
        return run_process(args, env)

    py = sys.executable
    show = [py, "-m", "cli", "--db", url, "show", "--as-of"]
    run(show + [dates[0].isoformat()])  # warm-up: fills the bytecode cache and the OS file cache
    click = [run([py, "-c", "import click"]) for _ in range(runs)]
    helps = [run([py, "-m", "cli", "--help"]) for _ in range(runs)]
    shows = [run(show + [dates[i % len(dates)].isoformat()]) for i in range(runs)]
    shows_nocache = [run(show + [dates[i % len(dates)].isoformat()], nocache) for i in range(runs)]
    # `backstory day`: one day's facts (a month log or two, and back to the last flare), against show
    day = [py, "-m", "cli", "--db", url, "day"]
    run(day + [dates[0].isoformat()])
    days = [run(day + [dates[i % len(dates)].isoformat()]) for i in range(runs)]
    one_day = json.loads(subprocess.run(day + [dates[-1].isoformat(), "--json"], cwd=ROOT, env=cached,
                                        capture_output=True, text=True, check=True).stdout)
    if one_day["date"] != dates[-1].isoformat() or not one_day["breaks"]:
        raise RuntimeError(f"backstory day {dates[-1]} listed no breaks")
    # the same query as JSON must list the program as of that day
    out = subprocess.run(show + [dates[-1].isoformat(), "--json"], cwd=ROOT, env=cached,
                         capture_output=True, text=True, check=True).stdout
    shown = json.loads(out)
    return {"import_click_ms": median_ms(click), "help_process_ms": median_ms(helps),
            "show_process_ms": median_ms(shows), "show_process_nocache_ms": median_ms(shows_nocache),
            "show_exercises": len(shown["exercises"]), "day_process_ms": median_ms(days),
            "day_show_ratio": round(median_ms(days) / median_ms(shows), 3)}


# ----- stores --------------------------------------------------------------------------------------


class Store:
    """The store the benchmark writes to: a temporary SQLite file, or a PostgreSQL schema made for it."""

    def __init__(self, url: str | None, keep: bool):
        self.keep = keep
        self.tmp = tempfile.mkdtemp(prefix="backstory-bench-")
        self.schema = None
        if url is None:
            url = f"sqlite:///{self.tmp}/bench.sqlite"
        self.url = url
        parsed = parse_store(url)
        self.env = parsed.env
        self.kind = "sqlite" if parsed.is_sqlite else "postgresql"
        if not parsed.is_sqlite:
            self.schema = self.env.get("POSTGRES_SCHEMA")
            if not self.schema:
                raise SystemExit("bench: give the PostgreSQL URL a ?schema=NAME of its own; it is dropped at the end")
            with self._pg() as conn:
                conn.execute(f'CREATE SCHEMA "{self.schema}"')

    def _pg(self):
        import psycopg

        e = self.env
        return psycopg.connect(dbname=e["POSTGRES_DBNAME"], host=e["POSTGRES_HOST"], port=int(e["POSTGRES_PORT"]),
                               user=e["POSTGRES_USER"], password=e["POSTGRES_PASSWORD"] or None, autocommit=True)

    def size(self) -> int | None:
        if self.kind == "sqlite":
            path = Path(self.env["SQLITE_DBNAME"])
            return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        with self._pg() as conn:
            row = conn.execute(
                "select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relkind = 'r'",
                (self.schema,)).fetchone()
            return int(row[0])

    def close(self) -> None:
        if self.keep:
            return
        if self.schema:
            with self._pg() as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        shutil.rmtree(self.tmp, ignore_errors=True)


# ----- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=50_000, help="at least this many domain events (default 50000)")
    ap.add_argument("--db", metavar="URL", help="store URL (default: SQLite in a temporary directory); "
                                                "postgresql://...?schema=NAME creates and drops that schema")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=5, help="cold runs per date, and process runs (default 5)")
    ap.add_argument("--warm-repeats", type=int, default=40, help="warm runs per date (default 40)")
    ap.add_argument("--keep", action="store_true", help="keep the store (print its URL) instead of removing it")
    a = ap.parse_args(argv)

    def say(text: str) -> None:
        if not a.json:
            print(text, flush=True)
        else:
            print(text, file=sys.stderr, flush=True)

    store = Store(a.db, a.keep)
    try:
        ledger = open_ledger(store.env)
        if ledger.program() is not None:
            raise SystemExit(f"bench: {store.url} already holds a program; give an empty store")
        end = datetime.now(TZ).date() - timedelta(days=1)
        say(f"building {a.events:,}+ events over {YEARS} years into {store.kind} ({store.url}) ...")
        builder = Builder(ledger, a.events, a.seed, end, progress=say)
        t_build, _ = timed(builder.run)
        ledger.app.close()
        say(f"built in {t_build:.1f} s")

        span = (builder.end - builder.start).days
        dates = [builder.start + timedelta(days=round(span * f)) for f in (0.1, 0.3, 0.5, 0.7, 0.97)]
        known_at = datetime.combine(builder.start + timedelta(days=round(span * 0.6)), dtime(12), TZ)
        t_q, q = timed(lambda: measure_queries(store.env, dates, a.repeats, a.warm_repeats, known_at))
        t_p, proc = timed(lambda: measure_processes(store.url, dates, a.repeats, store.tmp))

        rows = q["rows"]
        assert proc["show_exercises"] == rows[-1]["exercises"], "backstory show listed another program"
        med = {k: round(statistics.median(r[k] for r in rows), 3)
               for k in ("indexed_cold_ms", "indexed_warm_ms", "replay_cold_ms", "replay_warm_ms")}
        result = {
            "backend": store.kind,
            "events": builder.decisions + builder.facts,
            "decisions": builder.decisions,
            "facts": builder.facts,
            "backdated_decisions": builder.backdated,
            "decisions_out_of_valid_order": builder.out_of_order,
            "refused_attempts": sum(builder.refused.values()),
            "exercises": len(builder.program.view().exercises),
            "mutation_records": sum(builder.counts.values()),
            "fact_logs": len(builder.logs),
            "by_type": dict(sorted(builder.counts.items())),
            "from": builder.start.isoformat(), "to": builder.end.isoformat(),
            "build_s": round(t_build, 1),
            "store_bytes": store.size(),
            "program_version": q["program_version"], "snapshots": q["snapshots"],
            "snapshot_version": q["snapshot_version"],
            "snapshot_bytes": q["snapshot_bytes"], "tail_events": q["tail_events"],
            "app_open_ms": q["app_open_ms"],
            "fact_month": q["fact_month"], "fact_month_events": q["fact_month_events"],
            "fact_month_load_ms": q["fact_month_load_ms"],
            "asof_indexed_cold_ms": med["indexed_cold_ms"], "asof_indexed_warm_ms": med["indexed_warm_ms"],
            "asof_replay_ms": med["replay_cold_ms"], "asof_replay_warm_ms": med["replay_warm_ms"],
            "ratio_cold": round(med["replay_cold_ms"] / med["indexed_cold_ms"], 1),
            "ratio_warm": round(med["replay_warm_ms"] / med["indexed_warm_ms"], 1),
            "dates": rows,
            **proc,
            "measure_s": round(t_q + t_p, 1),
            "python": sys.version.split()[0],
        }
        if a.keep:
            result["db"] = store.url
        if a.json:
            print(json.dumps(result, indent=2))
        else:
            print_report(result)
        return 0
    finally:
        store.close()


def print_report(r: dict) -> None:
    print()
    print(f"History ({r['backend']}): {r['events']:,} events from {r['from']} to {r['to']}: "
          f"{r['decisions']:,} decisions ({r['backdated_decisions']} backdated, "
          f"{r['decisions_out_of_valid_order']} recorded out of valid-time order), {r['facts']:,} facts, "
          f"{r['exercises']} exercises; + {r['mutation_records']:,} mutation records, "
          f"{r['fact_logs']} month logs; built in {r['build_s']} s; store {r['store_bytes'] / 1e6:.1f} MB")
    print(f"Program: version {r['program_version']}, {r['snapshots']} snapshots, latest at {r['snapshot_version']} "
          f"({r['snapshot_bytes'] / 1e3:.0f} kB), tail {r['tail_events']} events; "
          f"opening the app {r['app_open_ms']:.1f} ms (not in the figures below)")
    print()
    head = f"{'as of':<12}{'exercises':>10}{'indexed cold':>14}{'replay cold':>13}{'ratio':>7}" \
           f"{'indexed warm':>14}{'replay warm':>13}{'ratio':>8}"
    print(head)
    print("-" * len(head))
    for row in r["dates"]:
        print(f"{row['date']:<12}{row['exercises']:>10}{row['indexed_cold_ms']:>11.2f} ms"
              f"{row['replay_cold_ms']:>10.2f} ms{row['replay_cold_ms'] / row['indexed_cold_ms']:>6.1f}x"
              f"{row['indexed_warm_ms']:>11.3f} ms{row['replay_warm_ms']:>10.2f} ms"
              f"{row['replay_warm_ms'] / row['indexed_warm_ms']:>7.0f}x")
    print("-" * len(head))
    print(f"{'median':<12}{'':>10}{r['asof_indexed_cold_ms']:>11.2f} ms{r['asof_replay_ms']:>10.2f} ms"
          f"{r['ratio_cold']:>6.1f}x{r['asof_indexed_warm_ms']:>11.3f} ms{r['asof_replay_warm_ms']:>10.2f} ms"
          f"{r['ratio_warm']:>7.0f}x")
    print("(indexed and replayed views compared equal at every date, also as known at a past recorded time)")
    print(f"For context: loading one month of facts ({r['fact_month']}, {r['fact_month_events']} events, "
          f"snapshotted every 100) takes {r['fact_month_load_ms']:.1f} ms cold")
    print()
    print("Whole processes (median):")
    print(f"  python -c 'import click'             {r['import_click_ms']:>8.1f} ms")
    print(f"  python -m cli --help                 {r['help_process_ms']:>8.1f} ms")
    print(f"  python -m cli --db URL show --as-of  {r['show_process_ms']:>8.1f} ms   "
          f"({r['show_process_nocache_ms']:.1f} ms without cached bytecode)")
    print(f"  python -m cli --db URL day DATE      {r['day_process_ms']:>8.1f} ms   "
          f"({r['day_show_ratio']:.2f}x show)")


if __name__ == "__main__":
    sys.exit(main())
