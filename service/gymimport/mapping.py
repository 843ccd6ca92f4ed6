"""From parsed workouts to backstory mutations: added exercises, logged sessions, inferred decisions.

Pure: the same file, time zone and unit always give the same mutations with
the same ids (uuid5 of the source, the workout's title, start and end, the
exercise and its block), so importing a file twice, or the web export after
the app export of the same history, stores nothing twice.

Each exercise block of a workout is one ``log``: its working sets (normal and
failure sets; warm-up and drop sets are counted apart, in the note), the reps
or hold of the heaviest working set (the most reps done at that load), the
heaviest working load as ``free_weight:MAG:UNIT`` (bodyweight when there is
none), and effort = the highest working RPE with halves rounded up (RPE 8.5 is
effort 9: the higher effort is the safer record). An exercise's first block
also ``add``\\ s it, at stage 4 (upright; adapt it afterwards); a block whose
working prescription (sets, reps or hold, load) differs from the previous one
records a ``progress``, ``regress`` or ``adapt`` on that workout's start, as
``domain.prescription.compare`` orders the change. Decisions carry
``reason_code`` ``imported`` and a reason naming the app.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo

from domain.errors import InvalidValue
from domain.prescription import compare, normalize
from service.gymimport.model import SOURCES, Block, Parsed, SetRow, Skip, Workout

IDS = uuid5(NAMESPACE_URL, "https://backstory.invalid/gymimport")
POSITION = "4"  # upright: where gym exercises are mostly done; documented in the README
MAX_SETS, MAX_REPS, MAX_HOLD, MAX_LOAD = 20, 200, 3600, 1000
NOTE_LIMIT = 100_000
TO_KG = {"kg": 1.0, "lb": 0.45359237}
CLOCK_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True)
class Planned:
    """One mutation the import would make, with the row it comes from."""

    mutation_id: str
    type: str
    occurred_at: datetime
    args: dict[str, Any]
    row: int


@dataclass
class Plan:
    """What a file maps to: its mutations in time order and the rows left out."""

    source: str
    workouts: int
    mutations: list[Planned] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    @property
    def earliest(self) -> datetime | None:
        return min((m.occurred_at for m in self.mutations), default=None)


def mutation_id(*parts: str) -> str:
    return str(uuid5(IDS, "|".join(parts)))


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    """A naive local time in ``zone``, with the fixed offset it had then."""
    aware = moment.replace(tzinfo=zone)
    return aware.replace(tzinfo=timezone(aware.utcoffset()))  # the same moment; astimezone went through UTC, which
    # 9999-12-31 23:59 at UTC-12 is past (an OverflowError)


def rx(dose: dict) -> dict:
    """The full prescription a dose stands for, to compare two doses dimension by dimension."""
    return normalize({"position": {"stage": int(POSITION)}, "load": dose["load"], "sets": dose["sets"],
                      "reps": dose["reps"], "hold_s": dose["hold"]})


def kind_of(before: dict, after: dict) -> str | None:
    """progress, regress or adapt (mixed or unordered), or None when nothing changed."""
    cmp = compare(before, after)
    if not cmp.changed:
        return None
    if cmp.unordered or (cmp.raised and cmp.lowered) or not (cmp.raised or cmp.lowered):
        return "adapt"
    return "progress" if cmp.raised else "regress"


def load_text(load: dict) -> str:
    return "bodyweight" if load["magnitude"] is None else f"free_weight:{load['magnitude']:g}:{load['unit']}"


class _Mapper:
    def __init__(self, parsed: Parsed, zone: ZoneInfo, unit: str | None, now: datetime):
        self.parsed, self.zone, self.unit, self.now = parsed, zone, unit, now
        self.app = SOURCES[parsed.source]
        self.plan = Plan(parsed.source, 0, skipped=list(parsed.skipped))
        self.doses: dict[str, dict] = {}  # exercise (casefolded) -> its last working dose
        # Loads are recorded in one unit: --unit, else the file's first (older Strong files name it per row).
        self.target = unit or next((s.unit for w in parsed.workouts for b in w.blocks for s in b.sets if s.unit), None)

    def weight(self, s: SetRow) -> tuple[float | None, str | None]:
        if s.weight is None or s.weight == 0:
            return None, None
        source_unit = s.unit or self.unit
        target = self.target or source_unit
        if source_unit is None:
            raise InvalidValue("unit", f"row {s.row}: the file's weights do not say kg or lb; "
                                       "give --unit kg or --unit lb")
        if source_unit == target:
            return s.weight, target
        return round(s.weight * TO_KG[source_unit] / TO_KG[target], 2), target

    def why_skipped(self, s: SetRow) -> str | None:
        if not any((s.weight, s.reps, s.seconds, s.distance)):
            return "empty set: no weight, reps, distance or time"
        for name, value in (("weight", s.weight), ("reps", s.reps), ("time", s.seconds),
                            ("distance", s.distance), ("RPE", s.rpe)):
            if value is not None and value < 0:
                return f"negative {name} ({value:g})"
        if not s.reps and not s.seconds:
            return "no reps or time (a distance or weight alone): backstory records reps or a hold in seconds"
        if s.reps and s.reps != int(s.reps):
            return f"reps {s.reps:g} is not a whole number"
        if s.reps and s.reps > MAX_REPS:
            return f"reps {s.reps:g} is outside backstory's range 1..{MAX_REPS}"
        if not s.reps and s.seconds > MAX_HOLD:
            return f"time {s.seconds:g} s is outside backstory's range for a hold, 1..{MAX_HOLD} s"
        magnitude, unit = self.weight(s)
        if magnitude is not None and magnitude > MAX_LOAD:
            return f"weight {magnitude:g} {unit} is outside backstory's range 0..{MAX_LOAD}"
        if s.rpe is not None and s.rpe > 10:
            return f"RPE {s.rpe:g} is outside 0..10"
        return None

    def dose(self, working: list[SetRow]) -> dict:
        weighed = [(self.weight(s)[0] or 0.0, s) for s in working]
        with_reps = [(w, s) for w, s in weighed if s.reps]
        pool = with_reps or weighed
        heaviest = max(w for w, _ in pool)
        top = [s for w, s in pool if w == heaviest]
        unit = next((self.weight(s)[1] for w, s in pool if w == heaviest), None)
        load = ({"type": "bodyweight", "magnitude": None, "unit": None} if not heaviest
                else {"type": "free_weight", "magnitude": heaviest, "unit": unit})
        reps = int(max(s.reps for s in top)) if with_reps else None
        hold = None if with_reps else max(1, round(max(s.seconds or 0 for s in top)))
        return {"sets": len(working), "reps": reps, "hold": hold, "load": load}

    def note(self, workout: Workout, block: Block, counts: dict[str, int]) -> str:
        lines = [block.notes] if block.notes else []
        lines.append(f"{self.app}: {workout.title}" if workout.title else self.app)
        if workout.description:
            lines.append(workout.description)
        apart = [f"{label}: {n}" for label, n in (("warm-up sets", counts["warmup"]), ("drop sets", counts["dropset"]),
                                                  ("sets to failure", counts["failure"])) if n]
        if apart:
            lines.append(", ".join(apart))
        return "\n".join(lines)[:NOTE_LIMIT]

    def workout(self, workout: Workout) -> None:
        at = local(workout.start, self.zone)
        if at > self.now + CLOCK_TOLERANCE:
            self.plan.skipped += [Skip(s.row, f"dated {workout.start:%Y-%m-%d %H:%M}, in the future")
                                  for b in workout.blocks for s in b.sets]
            return
        seen: dict[str, int] = {}
        logged = False
        for block in workout.blocks:
            name = block.exercise
            folded = name.casefold()
            ordinal = seen.get(folded, 0)
            seen[folded] = ordinal + 1
            logged |= self.block(workout, block, at, mutation_id(
                self.parsed.source, workout.key, folded, str(ordinal)))
        self.plan.workouts += logged

    def block(self, workout: Workout, block: Block, at: datetime, base_id: str) -> bool:
        kept, counts = [], {"warmup": 0, "dropset": 0, "failure": 0, "normal": 0}
        for s in block.sets:
            why = self.why_skipped(s)
            if why:
                self.plan.skipped.append(Skip(s.row, why))
            else:
                kept.append(s)
        working = [s for s in kept if s.kind in ("normal", "failure")]
        for s in working[MAX_SETS:]:
            self.plan.skipped.append(Skip(s.row, f"more than {MAX_SETS} working sets of one exercise in a workout; "
                                                 f"backstory allows 1..{MAX_SETS}"))
        working = working[:MAX_SETS]
        if not working:
            self.plan.skipped += [Skip(s.row, "no working set in this exercise block (only warm-up or drop sets)")
                                  for s in kept]
            return False
        for s in kept:
            counts[s.kind] += 1
        dose = self.dose(working)
        name, folded = block.exercise, block.exercise.casefold()
        reason = f"imported from {self.app} ({workout.title or 'workout'}, {workout.start:%Y-%m-%d})"
        decision = {"reason": reason, "reason_code": "imported"}
        shape = {"sets": dose["sets"], ("reps" if dose["reps"] else "hold"): dose["reps"] or dose["hold"],
                 "load": load_text(dose["load"])}
        row = block.first_row
        previous = self.doses.get(folded)
        if previous is None:
            self.plan.mutations.append(Planned(mutation_id(self.parsed.source, "add", folded), "add", at,
                                               {"name": name, "position": POSITION, **shape, **decision}, row))
        else:
            kind = kind_of(rx(previous), rx(dose))
            if kind is not None:
                changed = {k: shape[k] for k in shape if k not in ("sets", "load")
                           and (dose["reps"], dose["hold"]) != (previous["reps"], previous["hold"])}
                if dose["sets"] != previous["sets"]:
                    changed["sets"] = dose["sets"]
                if dose["load"] != previous["load"]:
                    changed["load"] = shape["load"]
                self.plan.mutations.append(Planned(mutation_id(base_id, "change"), kind, at,
                                                   {"exercise": name, **changed, **decision}, row))
        self.doses[folded] = dose
        effort = max((s.rpe for s in working if s.rpe is not None), default=None)
        args = {"exercise": name, **shape, "note": self.note(workout, block, counts)}
        if effort is not None:
            args["effort"] = min(10, math.ceil(effort))
        self.plan.mutations.append(Planned(mutation_id(base_id, "log"), "log", at, args, row))
        return True


def plan(parsed: Parsed, zone: ZoneInfo, unit: str | None, now: datetime) -> Plan:
    """The mutations a parsed export stands for, in time order, and every row left out with its reason."""
    if unit is not None and unit not in TO_KG:
        raise InvalidValue("unit", f"{unit!r} is not allowed; use kg or lb")
    mapper = _Mapper(parsed, zone, unit, now)
    for workout in parsed.workouts:
        mapper.workout(workout)
    mapper.plan.skipped.sort(key=lambda s: s.row)
    return mapper.plan
