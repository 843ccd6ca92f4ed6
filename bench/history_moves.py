"""The decisions of the synthetic history: one method per kind, each trying a move the domain may refuse.

A mixin of ``history.Builder``: it uses the builder's random source, clock, views and ``ctx``.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone
from datetime import time as dtime

from catalogue import CATALOGUE, CUES, DEVICES, MUSCLES, PATTERNS, PLANES, POSTURES, RULE, TZ
from domain.errors import DomainError
from domain.timeline import time_key


def _fitting_move(action):
    def method(self, p, view, ctx):
        return self._fitting(action, p, view, ctx)
    return method



class _Skip(Exception):
    """Nothing to decide on (no exercise in the right status)."""


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class Decisions:
    """How ``Builder`` decides: ``decide(kind, natural, backdate_days)`` and the moves behind it."""

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

    _fitting_open = _fitting_move("open")
    _fitting_close = _fitting_move("close")
