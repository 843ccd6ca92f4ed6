"""Which exercise a name means: by name or id prefix, at a fact's or decision's valid time (a name taken
again later means another exercise), with a few close names when none matches."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from domain.errors import NotFound
from domain.timeline import time_key
from domain.view import ExerciseView, ProgramView
from service.application import UnitOfWork
from service.mutation import Mutation


def resolve_exercise(view: ProgramView, text: str) -> ExerciseView:
    """An exercise by name (case-insensitive, current ones first) or by id prefix."""
    wanted = unicodedata.normalize("NFC", text.strip()).casefold()  # names are stored NFC
    named = [e for e in view.exercises.values() if e.name.casefold() == wanted]
    named.sort(key=lambda e: e.status == "retired")
    if named:
        return named[0]
    if len(wanted) >= 4:
        by_id = [e for e in view.exercises.values() if e.id.startswith(wanted)]
        if len(by_id) == 1:
            return by_id[0]
        if by_id:
            raise NotFound("exercise", f"exercise: the prefix {text.strip()} matches {len(by_id)} exercises: "
                                       f"{', '.join(e.name for e in by_id[:5])}" + (", ..." if len(by_id) > 5 else "")
                                       + "; give more of the id or the name")
    raise NotFound("exercise", f"exercise: no exercise named {text!r}{_near(view, wanted)}")


def _near(view: ProgramView, wanted: str) -> str:
    """A few names close to ``wanted`` (all of them when the program has only a few), never the whole store."""
    from difflib import get_close_matches

    names = {e.name.casefold(): e.name for e in view.exercises.values()}
    if not names:
        return "; the program has no exercises yet"
    close = get_close_matches(wanted, list(names), n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(names[c]) for c in close) + "?"
    if len(names) <= 5:
        return "; its exercises: " + ", ".join(repr(n) for n in names.values())
    return "; `backstory show` lists the exercises"


def exercise_at(reader: UnitOfWork, text: str, when: datetime) -> ExerciseView:
    """The exercise ``text`` names at valid time ``when``: a name taken again later means another exercise."""
    view = reader.current_view()
    wanted = text.strip().casefold()
    named = [e for e in view.exercises.values() if e.name.casefold() == wanted]
    if len(named) == 1 and named[0].added <= time_key(when):
        return named[0]
    then = reader.program().view(when)
    try:
        return resolve_exercise(then, text)
    except NotFound:
        later = [e for e in named if e.added > time_key(when)]
        if not later:
            raise
    zone = ZoneInfo(view.timezone or "UTC")  # the program's zone (``then`` may lie before its start: no zone)
    local = when.astimezone(zone)
    added = datetime.fromisoformat(later[0].added).replace(tzinfo=timezone.utc).astimezone(zone)
    if local.date() == added.date():  # the same day, earlier: say the times
        raise NotFound("exercise", f"exercise: no exercise was named {text!r} at {local:%Y-%m-%dT%H:%M}: "
                                   f"{later[0].name!r} was added at {added:%Y-%m-%dT%H:%M}; give a time at or "
                                   f"after it")
    raise NotFound("exercise", f"exercise: no exercise was named {text!r} on {local.date()}: {later[0].name!r} "
                               f"was added on {added.date()}; give a date on or after it")


def fact_exercise(uow: UnitOfWork, m: Mutation, name: str) -> tuple[str | None, str]:
    """The exercise a fact is about, as (id, name); (None, name) for one the program does not have.

    An unknown name is refused, except when the fact was applied before (an
    import) or the exercise was to come from a deconstruction kept as a
    conflict: the device logged its components offline, and facts are never
    refused because the plan changed.
    """
    try:
        ex = exercise_at(uow, name, m.occurred_at)
    except NotFound:
        # A pushed fact (it has a seq) was taken by its device: one dated before any exercise had
        # the name is kept without one rather than refused or given to the exercise named so later.
        if m.accepted or _named_by_conflict(uow, name) or (m.seq is not None and _named_now(uow, name)):
            return None, name.strip()
        raise
    return ex.id, ex.name


def _named_now(uow: UnitOfWork, name: str) -> bool:
    wanted = name.strip().casefold()
    return any(e.name.casefold() == wanted for e in uow.current_view().exercises.values())


def _named_by_conflict(uow: UnitOfWork, name: str) -> bool:
    log = uow.conflict_log()
    wanted = name.strip().casefold()
    return log is not None and any(
        wanted in [n.strip().casefold() for n in c["args"].get("into") or []]
        for c in log.conflicts.values() if c["type"] == "deconstruct")
