"""The Program aggregate: every decision about a person's plan, in one stream.

Each command method checks its decision against the program *as of the
decision's own valid time* (so a backdated decision is judged by the plan of
that day), then records an event carrying absolute from/to values. Applying
an event only writes those values into the bitemporal index
(``domain.timeline``), which is what makes "the program as of any date" cheap.

Event classes are stored by name (``domain.program:Program.<Name>``) and each
has a ``class_version``; see ``tests/samples`` for stored samples of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValue, NotFound, Refused
from domain.later import turned_around
from domain.prescription import apply_changes, check_move, compare, normalize
from domain.timeline import (
    PROGRAM, earliest, entries, from_entries, last_change, last_entry, next_entry, record, record_effects, state_at,
    time_key, values,
)
from domain.values import EXERCISE_KINDS, REASON_CODES, one_of
from domain.view import ExerciseView, ProgramView, materialize

if TYPE_CHECKING:  # the evidence rule and the policies load where a promotion or a policy needs them: a read
    from domain.evidence import Exposure, SignatureRule  # (show) defines neither (cli_show_ratio)
    from domain.policies import PolicyBook

CLOCK_TOLERANCE = timedelta(minutes=10)
POLICY_FIELD = "policy:"  # the program's index keeps each policy's parameters as the field "policy:NAME"
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Context:
    """Who decided what, when it happened, when it is being recorded, and why."""

    occurred_at: datetime
    device_id: str
    mutation_id: str
    recorded_at: datetime
    reason: str | None = None
    reason_code: str = "unspecified"
    # Sync policy: a retire or deconstruct that arrives late still wins over edits made meanwhile.
    supersede_later: bool = False

    def meta(self) -> dict[str, Any]:
        return {
            "occurred_at": self.occurred_at, "device_id": self.device_id, "mutation_id": self.mutation_id,
            "reason": self.reason, "reason_code": self.reason_code, "timestamp": self.recorded_at,
        }


def check_time(occurred_at: datetime, recorded_at: datetime) -> None:
    """Valid time must carry a time zone and not lie beyond the clock tolerance in the future."""
    if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
        raise InvalidValue("at", "needs a time zone offset")
    if occurred_at.year < 1900 or occurred_at.year > 9000:
        raise InvalidValue("at", f"{occurred_at.isoformat()} is out of range; allowed from 1900")
    if occurred_at > recorded_at + CLOCK_TOLERANCE:
        raise InvalidValue(
            "at", f"{occurred_at.isoformat()} is in the future; allowed up to "
            f"{int(CLOCK_TOLERANCE.total_seconds() // 60)} minutes after now",
        )


def _started_effects(name: str, tz: str, occurred_at: datetime) -> list[tuple[str, str, Any]]:
    return [(PROGRAM, "name", name), (PROGRAM, "timezone", tz), (PROGRAM, "started", time_key(occurred_at))]


def _exercise_effects(exercise_id: str, name: str, kind: str | None, added: datetime,
                      prescription: dict, parent: str | None = None) -> list[tuple[str, str, Any]]:
    fixed = [
        ("name", name), ("kind", kind), ("added", time_key(added)), ("status", "active"),
        ("signature", False), ("parent", parent), ("components", []),
    ]
    return [(exercise_id, f, v) for f, v in fixed] + [(exercise_id, d, v) for d, v in prescription.items()]


def _restored_effects(exercise_id: str, restored: dict) -> list[tuple[str, str, Any]]:
    return [(exercise_id, d, c["to"]) for d, c in restored.items()]


def _restored_change(restored: dict) -> tuple[dict, dict]:
    return {d: c["from"] for d, c in restored.items()}, {d: c["to"] for d, c in restored.items()}


def _restoring(prescription: dict, restore: dict | None) -> dict:
    """The dimensions ``restore`` gives back, as from/to (none when there is nothing to give back)."""
    if not restore:
        return {}
    after = apply_changes(prescription, restore)
    return {d: {"from": prescription[d], "to": after[d]} for d in prescription if after[d] != prescription[d]}


def _day(moment: datetime, zone: str | None) -> str:
    """The date of an instant in the program's time zone (as the person reads dates)."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(zone or "UTC")).date().isoformat()


def premature_reason(name: str, premature: dict, zone: str, ids: bool = True) -> str:
    """Why a progression is refused: the session, its local date and its light or the missing response.

    ``ids``: the session's id prefix (for ``correct`` and ``void``) and the name quoted, as a refusal says
    it; without, the words a conflict keeps for ``backstory conflicts`` (no ids, no quotes).
    """
    from zoneinfo import ZoneInfo

    day = datetime.fromisoformat(premature["occurred_at"]).astimezone(ZoneInfo(zone or "UTC")).date()
    session, name = (f"session {premature['session_id'][:8]} of {day}", repr(name)) if ids else (str(day), name)
    if premature["light"] == "red":
        why = f"the last session of {name} ({session}) is red: {'; '.join(premature['light_reasons'])}"
    else:
        why = (f"the last session of {name} ({session}) was the first after it was added or progressed "
               f"and has no next-day response yet (its light so far: {premature['light']}); record one "
               f"with `backstory next-day`")
    return why


class Program(Aggregate):
    """One person's program: the decisions, and a bitemporal index of their effects."""

    # The state's version, for snapshots: 2 keeps the index in columns (``domain.timeline``).
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        state["timeline"] = from_entries(state["timeline"])

    class Event(Aggregate.Event):
        """Base of the program's events, declared so that eventsourcing does not define each event twice.

        The library defines again, as a subclass of the aggregate's own ``Event``,
        every event class that is not one already: a second dataclass per event,
        which doubled the time to import this module (and so every command's
        start-up). Names, topics and fields are unchanged.
        """

    class Started(Aggregate.Created, Event):
        """The program began (``init``)."""

        class_version = 1  # bump with an upcast_vN_vM when the fields change

        name: str
        timezone: str
        occurred_at: datetime
        device_id: str
        mutation_id: str
        command = "init"

        def effects(self) -> list[tuple[str, str, Any]]:
            return _started_effects(self.name, self.timezone, self.occurred_at)

        def change(self) -> tuple[dict | None, dict | None]:
            return None, {"name": self.name, "timezone": self.timezone}

        exercise_ids = ()
        reason = None
        reason_code = "unspecified"

    class Decision(Event):
        """Base of every decision: who, when, why."""

        class_version = 1  # bump with an upcast_vN_vM when the fields change

        occurred_at: datetime
        device_id: str
        mutation_id: str
        reason: str | None
        reason_code: str
        command = "decision"

        def effects(self) -> list[tuple[str, str, Any]]:
            raise NotImplementedError

        def change(self) -> tuple[dict | None, dict | None]:
            raise NotImplementedError

        @property
        def exercise_ids(self) -> tuple[str, ...]:
            eid = getattr(self, "exercise_id", None)
            return (eid,) if eid else ()

        def apply(self, aggregate: Program) -> None:
            record(aggregate.timeline, self)

    class ExerciseAdded(Decision):
        """An exercise joined the program with its first prescription (``add``)."""

        exercise_id: str
        name: str
        kind: str | None
        prescription: dict
        command = "add"

        def effects(self):
            return _exercise_effects(self.exercise_id, self.name, self.kind, self.occurred_at, self.prescription)

        def change(self):
            return None, {"name": self.name, "kind": self.kind, **self.prescription}

    class PrescriptionChanged(Decision):
        """Base of progress, regress and adapt: each changed dimension, from and to."""

        exercise_id: str
        changes: dict
        raised: list
        lowered: list

        def effects(self):
            return [(self.exercise_id, d, c["to"]) for d, c in self.changes.items()]

        def change(self):
            return ({d: c["from"] for d, c in self.changes.items()}, {d: c["to"] for d, c in self.changes.items()})

    class ExerciseProgressed(PrescriptionChanged):
        """The prescription was made harder (``progress``).

        v2 added ``override``: a progression forced past the pain-monitoring guard (``--force``)
        keeps the evidence it overrode (the last session, its date and light, whether it awaited
        its next day); None for one nothing stood in the way of.
        """

        class_version = 2
        override: dict | None
        command = "progress"

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["override"] = None

        def change(self):
            before, after = super().change()
            return (before, after) if self.override is None else (before, {**after, "forced": True,
                                                                           "override": self.override})

    class ExerciseRegressed(PrescriptionChanged):
        """The prescription was made easier (``regress``)."""

        command = "regress"

    class ExerciseAdapted(PrescriptionChanged):
        """The prescription was changed sideways (``adapt``)."""

        command = "adapt"

    class StatusChanged(Decision):
        """Base of pause, resume, retire and rebuild: the status from and to."""

        exercise_id: str
        from_status: str
        to_status: str

        def effects(self):
            return [(self.exercise_id, "status", self.to_status)]

        def change(self):
            return {"status": self.from_status}, {"status": self.to_status}

    class ExercisePaused(StatusChanged):
        """The exercise was set aside for now (``pause``)."""

        command = "pause"

    class ExerciseResumed(StatusChanged):
        """A paused exercise came back (``resume``)."""

        command = "resume"

    class ExerciseRetired(StatusChanged):
        """v2 added ``restored``: dimensions a late retire gives back from the edits it won over (sync)."""

        class_version = 2
        restored: dict
        command = "retire"

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["restored"] = {}

        def effects(self):
            return [(self.exercise_id, "status", self.to_status), *_restored_effects(self.exercise_id, self.restored)]

        def change(self):
            before, after = _restored_change(self.restored)
            return {"status": self.from_status, **before}, {"status": self.to_status, **after}

    class ExerciseRebuilt(StatusChanged):
        """A deconstructed exercise came back whole (``rebuild``)."""

        command = "rebuild"

    class ExerciseDeconstructed(Decision):
        """v2 added ``restored``, as ``ExerciseRetired``."""

        class_version = 2
        exercise_id: str
        from_status: str
        components: list
        restored: dict
        command = "deconstruct"

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["restored"] = {}

        def effects(self):
            out = [(self.exercise_id, "status", "deconstructed"),
                   (self.exercise_id, "components", [c["id"] for c in self.components]),
                   *_restored_effects(self.exercise_id, self.restored)]
            for c in self.components:
                if c["new"]:
                    out += _exercise_effects(c["id"], c["name"], c["kind"], self.occurred_at,
                                             c["prescription"], parent=self.exercise_id)
                else:
                    out.append((c["id"], "parent", self.exercise_id))
            return out

        @property
        def exercise_ids(self):
            return (self.exercise_id, *[c["id"] for c in self.components])

        def change(self):
            before, after = _restored_change(self.restored)
            return ({"status": self.from_status, **before},
                    {"status": "deconstructed", "components": [c["name"] for c in self.components], **after})

    class ExercisePromoted(Decision):
        """The exercise joined the signature library, with its evidence (``promote``)."""

        exercise_id: str
        evidence: dict
        forced: bool
        command = "promote"

        def effects(self):
            return [(self.exercise_id, "signature", True)]

        def change(self):
            return {"signature": False}, {"signature": True, "forced": self.forced, "evidence": self.evidence}

    class ExerciseDemoted(Decision):
        """The exercise left the signature library (``demote``)."""

        exercise_id: str
        command = "demote"

        def effects(self):
            return [(self.exercise_id, "signature", False)]

        def change(self):
            return {"signature": True}, {"signature": False}

    class FittingOpened(Decision):
        """A fitting (a cycle of one to two weeks of the program) began (``fitting-open``)."""

        number: int
        notes: str | None
        command = "fitting-open"

        def effects(self):
            return [(PROGRAM, "fitting", {"number": self.number, "opened": time_key(self.occurred_at),
                                          "notes": self.notes}),
                    (PROGRAM, "fittings", self.number)]

        def change(self):
            return {"fitting": None}, {"fitting": self.number, "notes": self.notes}

    class StartMovedBack(Decision):
        """A backfill: a decision or fact dated before the program's start moved the start back to it.

        ``occurred_at`` is the new start (the valid time of the mutation that moved it, whose id is
        ``mutation_id`` and whose command is ``cause``); ``from_start`` the start it moved from. Its
        effects give the program its name and zone from the new start on; the earliest "started"
        is the program's start (``domain.timeline.earliest_wins``).
        """

        class_version = 1  # bump with an upcast_vN_vM when the fields change
        name: str
        timezone: str
        from_start: datetime
        cause: str
        command = "start-moved-back"

        def effects(self):
            return _started_effects(self.name, self.timezone, self.occurred_at)

        def change(self):
            return {"started": self.from_start.isoformat()}, {"started": self.occurred_at.isoformat(),
                                                              "cause": self.cause}

    class FittingClosed(Decision):
        """The open fitting ended (``fitting-close``)."""

        number: int
        notes: str | None
        command = "fitting-close"

        def effects(self):
            return [(PROGRAM, "fitting", None)]

        def change(self):
            return {"fitting": self.number}, {"fitting": None, "notes": self.notes}

    class PolicyChanged(Decision):
        """A person tuned a rule's parameters (``policy set``); in force from its valid time on.

        ``params`` is the whole parameter set after the change, ``previous`` the set before it,
        ``version`` the version of the rule's logic they apply to (``domain.policies``).
        """

        class_version = 1  # bump with an upcast_vN_vM when the fields change
        policy: str
        version: int
        params: dict
        previous: dict
        command = "policy-set"

        def effects(self):
            return [(PROGRAM, POLICY_FIELD + self.policy, {"version": self.version, "params": self.params})]

        def change(self):
            return ({"policy": self.policy, "version": self.version, "params": self.previous},
                    {"policy": self.policy, "version": self.version, "params": self.params})

    def __init__(self, name: str, timezone: str, occurred_at: datetime, device_id: str, mutation_id: str):
        self.timeline: dict = {}
        record_effects(self.timeline, occurred_at, self.version, self.created_on,
                       _started_effects(name, timezone, occurred_at))

    # ----- starting --------------------------------------------------------------------------

    @classmethod
    def start(cls, program_id: Any, name: str, timezone: str, ctx: Context) -> Program:
        check_time(ctx.occurred_at, ctx.recorded_at)
        if not name or not name.strip():
            raise InvalidValue("name", "must not be blank")
        return cls._create(
            cls.Started, id=program_id, name=name.strip(), timezone=timezone,
            occurred_at=ctx.occurred_at, device_id=ctx.device_id, mutation_id=ctx.mutation_id,
            timestamp=ctx.recorded_at,
        )

    # ----- reading ---------------------------------------------------------------------------

    def view(self, as_of: datetime = FAR_FUTURE, known_at: datetime | None = None) -> ProgramView:
        """The program as of valid time ``as_of``, as known at recorded time ``known_at``."""
        return materialize(state_at(self.timeline, as_of, known_at))

    def started_at(self) -> datetime:
        """The program's start: its ``init``, or the earliest decision or fact dated before it."""
        return datetime.fromisoformat(earliest(self.timeline, PROGRAM, "started")).replace(tzinfo=timezone.utc)

    def _view_for(self, ctx: Context) -> ProgramView:
        """The program a decision is judged by: as of its valid time, the start moved back if it lies before."""
        check_time(ctx.occurred_at, ctx.recorded_at)
        one_of("reason_code", ctx.reason_code, REASON_CODES)
        view = self.view(ctx.occurred_at)
        if not view.exists:  # before the start: the program as it will be once the start moves back
            now = self.view()
            view.name, view.timezone, view.started = now.name, now.timezone, time_key(ctx.occurred_at)
        return view

    def cover(self, cause: str, ctx: Context) -> None:
        """Move the start back to ``ctx.occurred_at`` if it lies before it (a backfill), as an event of its own.

        ``cause`` is the command dated then (a decision's, or a fact's: ``service.handling``).
        """
        check_time(ctx.occurred_at, ctx.recorded_at)
        start = self.started_at()
        if ctx.occurred_at >= start:
            return
        now = self.view()
        self.trigger_event(self.StartMovedBack, name=now.name, timezone=now.timezone, from_start=start,
                           cause=cause, **{**ctx.meta(), "reason": None, "reason_code": "unspecified"})

    def _decide(self, event: type, ctx: Context, **fields: Any) -> None:
        """Record a decision, after the start it moves back (if it lies before it)."""
        self.cover(event.command, ctx)
        self.trigger_event(event, **fields, **ctx.meta())

    def _exercise(self, view: ProgramView, exercise_id: str, ctx: Context, *, allow=("active", "paused")) -> ExerciseView:
        ex = view.exercises.get(exercise_id)
        if ex is None:
            raise NotFound("exercise", f"exercise {exercise_id[:8]} did not exist on {ctx.occurred_at.date()}")
        if ex.status not in allow:
            if ex.status == "retired":
                raise Refused("retired", f"{ex.name!r} is retired; a retired exercise takes no further decisions")
            if ex.status == "deconstructed":
                raise Refused("deconstructed", f"{ex.name!r} is deconstructed into components; rebuild it first")
            raise Refused("status", f"{ex.name!r} is {ex.status}; this needs it to be {' or '.join(allow)}")
        return ex

    def _require_reason(self, ctx: Context, what: str) -> None:
        if not ctx.reason or not ctx.reason.strip():
            raise InvalidValue("reason", f"{what} needs a reason")

    def _no_later_decisions(self, ex: ExerciseView, ctx: Context, what: str) -> None:
        if ctx.supersede_later:
            return
        later = last_change(self.timeline, ex.id)
        if later is not None and later > ctx.occurred_at:
            raise Refused("later_decisions", f"{ex.name!r} has decisions after {ctx.occurred_at.isoformat()} "
                                             f"(the latest on {later.date()}); {what} it at or after that date")

    def _fits_later(self, entity: str, name: str, value: Any, ctx: Context, what: str) -> None:
        """A backdated decision must leave the next decision on the same field valid (pause, pause is not)."""
        if ctx.supersede_later:
            return
        nxt = next_entry(self.timeline, entity, name, ctx.occurred_at)
        if nxt is None:
            return
        at, later = nxt
        if name == "status":  # the later change's recorded "from" would no longer hold
            last_at, last = last_entry(self.timeline, entity, name)
            raise Refused("later_decisions", f"{what} on {ctx.occurred_at.date()} would come before a later change "
                                             f"of its status (on {at.date()} it became {later}), which would no "
                                             f"longer hold; its last status change was on {last_at.date()} "
                                             f"({last}): decide it after that")
        if name == "signature":
            fits, said = later != value, "it was " + ("promoted" if later else "demoted")
        else:  # closing the open fitting: the next change must not close one again
            fits, said = later is not None, "the fitting was closed"
        if not fits:
            raise Refused("later_decisions", f"{what} on {ctx.occurred_at.date()} would break a later decision: "
                                             f"on {at.date()} {said}, which cannot follow it; decide it after "
                                             f"{at.date()} or not at all")

    def _fits_later_dims(self, ex: ExerciseView, after: dict, ctx: Context, zone: str | None, what: str) -> None:
        """A backdated change of the prescription must leave each later change of it what it was (``domain.later``)."""
        if ctx.supersede_later:
            return
        turned = turned_around(self.timeline, ex.id, after, ctx.occurred_at, self.version + 1, ctx.recorded_at)
        if turned is None:
            return
        moment, was, will = turned
        at = _day(moment, zone)
        into = {"none": "no change", "adapt": "an adapt"}.get(will, f"a {will}")
        raise Refused("later_decisions", f"{what} on {_day(ctx.occurred_at, zone)} would turn the later {was} of "
                                         f"{ex.name!r} on {at} into {into}, which would no longer hold; decide it "
                                         f"after {at}, or change other dimensions")

    def _check_new_name(self, view: ProgramView, name: str) -> str:
        name = (name or "").strip()
        if not name:
            raise InvalidValue("name", "must not be blank")
        if len(name) > 200:
            raise InvalidValue("name", "is longer than 200 characters")
        taken = {e.name.casefold() for v in (view, self.view()) for e in v.in_program()}
        if name.casefold() in taken:
            raise Refused("name_taken", f"an exercise named {name!r} is already in the program")
        return name

    # ----- deciding --------------------------------------------------------------------------

    def add_exercise(self, exercise_id: str, name: str, kind: str | None, prescription: dict, ctx: Context) -> None:
        view = self._view_for(ctx)
        name = self._check_new_name(view, name)
        if kind is not None:
            one_of("kind", kind, EXERCISE_KINDS)
        self._decide(self.ExerciseAdded, ctx, exercise_id=exercise_id, name=name, kind=kind,
                     prescription=normalize(prescription))

    def change_prescription(self, kind: str, exercise_id: str, changes: dict, ctx: Context,
                            restore: dict | None = None, premature: dict | None = None,
                            force: bool = False) -> None:
        """``kind`` is progress, regress or adapt; the move is checked dimension by dimension.

        ``restore`` (sync: a stale regression that wins over concurrent edits) gives dimensions
        back their values from before those edits; the move is then checked from that prescription,
        and against the one in force it must raise nothing ("the most conservative wins").
        ``premature`` (progress only): why the pain-monitoring guard stands in the way (the last
        session, red or awaiting its next day); refused unless ``force``, then kept as the override.
        """
        self._require_reason(ctx, kind)
        view = self._view_for(ctx)
        ex = self._exercise(view, exercise_id, ctx)
        if not changes:
            raise InvalidValue("changes", f"{kind} needs at least one of position, load, direction, sets, reps, hold, range")
        before = ex.prescription
        if restore:
            base = apply_changes(before, restore)
            after = apply_changes(base, changes)
            check_move(kind, base, after)
            cmp = compare(before, after)
            if cmp.raised or not cmp.changed:
                raise Refused("not_conservative", f"{kind} of {ex.name!r} would not lower the prescription in "
                              f"force on {ctx.occurred_at.date()}" + (f" (it would raise {cmp.describe(cmp.raised, before, after)})"
                                                                      if cmp.raised else ""))
        else:
            after = apply_changes(before, changes)
            cmp = check_move(kind, before, after)
        self._fits_later_dims(ex, {d: after[d] for d in cmp.changed}, ctx, view.timezone, f"{kind} {ex.name!r}")
        event = {"progress": self.ExerciseProgressed, "regress": self.ExerciseRegressed,
                 "adapt": self.ExerciseAdapted}[kind]
        extra = {}
        if kind == "progress":
            if premature is not None and not force:
                raise Refused("progression_guard", premature_reason(ex.name, premature, view.timezone)
                              + ". Use --force with --reason to progress anyway (recorded with this evidence)")
            extra["override"] = premature
        self._decide(event, ctx, exercise_id=ex.id, raised=cmp.raised, lowered=cmp.lowered,
                     changes={d: {"from": f, "to": t} for d, (f, t) in cmp.changed.items()}, **extra)

    def change_status(self, command: str, exercise_id: str, ctx: Context, restore: dict | None = None) -> None:
        """pause, resume, retire or rebuild; ``restore``: what a late retire gives back (sync)."""
        self._require_reason(ctx, command)
        view = self._view_for(ctx)
        allow, to_status, event = {
            "pause": (("active",), "paused", self.ExercisePaused),
            "resume": (("paused",), "active", self.ExerciseResumed),
            "retire": (("active", "paused", "deconstructed"), "retired", self.ExerciseRetired),
            "rebuild": (("deconstructed",), "active", self.ExerciseRebuilt),
        }[command]
        ex = self._exercise(view, exercise_id, ctx, allow=allow)
        if command == "retire":
            self._no_later_decisions(ex, ctx, "retire")
        self._fits_later(ex.id, "status", to_status, ctx, f"{command} {ex.name!r}")
        extra = {"restored": _restoring(ex.prescription, restore)} if command == "retire" else {}
        self._decide(event, ctx, exercise_id=ex.id, from_status=ex.status, to_status=to_status, **extra)

    def deconstruct(self, exercise_id: str, into: list[str], new_ids: list[str], ctx: Context,
                    restore: dict | None = None) -> None:
        """``restore``: new components start from the parent's prescription before edits it wins over (sync)."""
        self._require_reason(ctx, "deconstruct")
        view = self._view_for(ctx)
        parent = self._exercise(view, exercise_id, ctx)
        self._no_later_decisions(parent, ctx, "deconstruct")
        names = [(n or "").strip() for n in into]
        if len(names) < 2:
            raise Refused("components_min", f"deconstruct needs 2 or more components; got {len(names)}")
        if len({n.casefold() for n in names}) != len(names):
            raise Refused("components_distinct", "the components of a deconstruction must be distinct")
        by_name = {e.name.casefold(): e for e in view.in_program()}
        start = apply_changes(parent.prescription, restore) if restore else dict(parent.prescription)  # as restored
        ancestors = self._ancestors(view, parent)
        components = []
        for name, new_id in zip(names, new_ids):
            existing = by_name.get(name.casefold())
            if existing is None:
                components.append({"id": new_id, "name": self._check_new_name(view, name), "new": True,
                                   "kind": parent.kind, "prescription": start})
                continue
            if existing.id == parent.id:
                raise Refused("component_is_parent", f"{parent.name!r} cannot be one of its own components")
            if existing.id in ancestors:
                raise Refused("component_cycle", f"{existing.name!r} is already above {parent.name!r}; "
                                                 "linking it as a component would make a cycle")
            if existing.parent not in (None, parent.id):
                raise Refused("component_has_parent", f"{existing.name!r} is already a component of another exercise")
            components.append({"id": existing.id, "name": existing.name, "new": False, "kind": existing.kind,
                               "prescription": None})
        self._fits_later(parent.id, "status", "deconstructed", ctx, f"deconstruct {parent.name!r}")
        self._decide(self.ExerciseDeconstructed, ctx, exercise_id=parent.id, from_status=parent.status,
                     components=components, restored=_restoring(parent.prescription, restore))

    @staticmethod
    def _ancestors(view: ProgramView, ex: ExerciseView) -> set[str]:
        seen: set[str] = set()
        while ex.parent is not None and ex.parent not in seen:
            seen.add(ex.parent)
            ex = view.exercises[ex.parent]
        return seen

    def promote(self, exercise_id: str, rule: SignatureRule, exposures: Iterable[Exposure],
                worse_responses: Iterable[datetime], force: bool, ctx: Context) -> None:
        view = self._view_for(ctx)
        ex = self._exercise(view, exercise_id, ctx)
        if ex.signature:
            raise Refused("already_signature", f"{ex.name!r} is already in the signature library")
        # Only the exercise's own sessions count: none from before it was added (a name used before).
        exposures = [e for e in exposures if time_key(e.occurred_at) >= ex.added]
        worse_responses = [w for w in worse_responses if time_key(w) >= ex.added]
        from domain.evidence import evaluate

        evidence = evaluate(rule, ctx.occurred_at, view.timezone, exposures, worse_responses)
        if not evidence["met"] and not force:
            raise Refused("signature_evidence", f"not enough evidence to promote {ex.name!r} "
                          f"(rule {rule.rule_id} v{rule.version}): " + "; ".join(evidence["unmet"])
                          + ". Use --force with --reason to override")
        if force and not evidence["met"]:
            self._require_reason(ctx, "a forced promotion")
        self._fits_later(ex.id, "signature", True, ctx, f"promote {ex.name!r}")
        self._decide(self.ExercisePromoted, ctx, exercise_id=ex.id, evidence=evidence,
                     forced=bool(force and not evidence["met"]))

    def demote(self, exercise_id: str, ctx: Context) -> None:
        self._require_reason(ctx, "demote")
        view = self._view_for(ctx)
        ex = self._exercise(view, exercise_id, ctx, allow=("active", "paused", "deconstructed"))
        if not ex.signature:
            raise Refused("not_signature", f"{ex.name!r} is not in the signature library")
        self._fits_later(ex.id, "signature", False, ctx, f"demote {ex.name!r}")
        self._decide(self.ExerciseDemoted, ctx, exercise_id=ex.id)

    def policy_book(self, known_at: datetime | None = None) -> PolicyBook:
        """Every policy change in the index, by valid time (as recorded by ``known_at``, if given)."""
        from domain.policies import PolicyBook

        return PolicyBook.from_changes(
            (name[len(POLICY_FIELD):], valid, value["params"])
            for name in self.timeline.get(PROGRAM, {}) if name.startswith(POLICY_FIELD)
            for valid, recorded, value in entries(self.timeline, PROGRAM, name)
            if known_at is None or recorded <= known_at
        )

    def set_policy(self, name: str, given: dict[str, Any], ctx: Context) -> None:
        """Change some of a rule's parameters from ``ctx.occurred_at`` on; the reason is required."""
        self._require_reason(ctx, "policy set")
        from domain.policies import changed_params

        current = self.policy_book().at(name, ctx.occurred_at)
        params = changed_params(name, current.params, given)
        if params == current.params:
            raise Refused("no_change", f"policy {name} already has these parameters on {ctx.occurred_at.date()}")
        self._decide(self.PolicyChanged, ctx, policy=name, version=current.version, params=params,
                     previous=current.params)

    def fitting(self, action: str, notes: str | None, ctx: Context) -> None:
        """Open or close a fitting, the 1-2 week cycle the program is adjusted in."""
        view = self._view_for(ctx)
        current = view.fitting
        if action == "open":
            if current is not None:
                raise Refused("fitting_open", f"fitting {current['number']} is already open; close it first")
            number = max(values(self.timeline, PROGRAM, "fittings"), default=0) + 1
            self._decide(self.FittingOpened, ctx, number=number, notes=notes)
        else:
            if current is None:
                raise Refused("fitting_closed", "no fitting is open")
            self._fits_later(PROGRAM, "fitting", None, ctx, f"closing fitting {current['number']}")
            self._decide(self.FittingClosed, ctx, number=current["number"], notes=notes)
