"""The Program's commands: each checks a decision against the program as of its valid time and records it.

A mixin of ``domain.program.Program``: the events it records (``self.ExerciseAdded``...) are
the Program's own, stored by name as ``domain.program:Program.<Name>``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

from domain.decision_context import Context, check_time
from domain.errors import InvalidValue, Refused
from domain.program_checks import ProgramChecks, premature_reason
from domain.prescription import apply_changes, check_move, compare, normalize
from domain.timeline import PROGRAM, time_key, values
from domain.values import EXERCISE_KINDS, one_of
from domain.view import ExerciseView, ProgramView

if TYPE_CHECKING:  # the evidence rule and the policies load where a promotion or a policy needs them: a read
    from domain.evidence import Exposure, SignatureRule  # (show) defines neither (cli_show_ratio)

def _restoring(prescription: dict, restore: dict | None) -> dict:
    """The dimensions ``restore`` gives back, as from/to (none when there is nothing to give back)."""
    if not restore:
        return {}
    after = apply_changes(prescription, restore)
    return {d: {"from": prescription[d], "to": after[d]} for d in prescription if after[d] != prescription[d]}


class ProgramCommands(ProgramChecks):
    """Add, change, pause, retire, deconstruct, promote, set a policy, open a fitting: the decisions."""

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
