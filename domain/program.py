"""The Program aggregate: every decision about a person's plan, in one stream.

The Program's events are defined here; its commands in ``domain.program_commands``
and the checks they share in ``domain.program_checks``. Each command method checks its decision against the program *as of the
decision's own valid time* (so a backdated decision is judged by the plan of
that day), then records an event carrying absolute from/to values. Applying
an event only writes those values into the bitemporal index
(``domain.timeline``), which is what makes "the program as of any date" cheap.

Event classes are stored by name (``domain.program:Program.<Name>``) and each
has a ``class_version``; see ``tests/samples`` for stored samples of each.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.decision_context import FAR_FUTURE, Context, check_time
from domain.errors import InvalidValue
from domain.program_commands import ProgramCommands
from domain.timeline import PROGRAM, earliest, entries, from_entries, record, record_effects, state_at, time_key
from domain.values import REASON_CODES, one_of
from domain.view import ProgramView, materialize

if TYPE_CHECKING:  # the policies load where a policy needs them: a read (show) defines none (cli_show_ratio)
    from domain.policies import PolicyBook

POLICY_FIELD = "policy:"  # the program's index keeps each policy's parameters as the field "policy:NAME"


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


class Program(ProgramCommands, Aggregate):
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

    def policy_book(self, known_at: datetime | None = None) -> PolicyBook:
        """Every policy change in the index, by valid time (as recorded by ``known_at``, if given)."""
        from domain.policies import PolicyBook

        return PolicyBook.from_changes(
            (name[len(POLICY_FIELD):], valid, value["params"])
            for name in self.timeline.get(PROGRAM, {}) if name.startswith(POLICY_FIELD)
            for valid, recorded, value in entries(self.timeline, PROGRAM, name)
            if known_at is None or recorded <= known_at
        )
