"""The synthetic 5-year history the benchmarks measure on, built through the real application.

``Builder`` simulates ``years`` of one person's program (the decisions in
``history_moves.py``, the facts here) and saves it through the CLI's ledger in
batches, so snapshots are taken exactly as in normal use.
"""

from __future__ import annotations

import math
import random
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from catalogue import (ACCOUNT, BREAKS, DEVICES, MUSCLES, REASONS, REGIONS, SIDES, TENSION_KINDS, TZ,  # noqa: E402
                       TZ_NAME, YEARS)
from domain.errors import DomainError  # noqa: E402
from domain.evidence import Exposure  # noqa: E402
from domain.facts import FactLog, month_of, validate  # noqa: E402
from domain.mutations import MutationRecord  # noqa: E402
from domain.decision_context import Context  # noqa: E402
from domain.program import Program  # noqa: E402
from domain.timeline import time_key  # noqa: E402
from history_moves import Decisions, _poisson  # noqa: E402
from service.application import Ledger  # noqa: E402

__all__ = ["ACCOUNT", "TZ", "YEARS", "Builder"]


class Builder(Decisions):
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

