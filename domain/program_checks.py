"""What a decision of the Program must pass before it is recorded: the exercise's status, a reason,
later decisions it would break, a free name; and the words of a premature progression.

A mixin of ``domain.program.Program`` (it reads the program's bitemporal index, ``self.timeline``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.decision_context import Context
from domain.errors import InvalidValue, NotFound, Refused
from domain.later import turned_around
from domain.timeline import last_change, last_entry, next_entry
from domain.view import ExerciseView, ProgramView


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


class ProgramChecks:
    """The checks the Program's commands share (``domain.program_commands``)."""

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
