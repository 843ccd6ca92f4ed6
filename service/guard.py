"""The guarded progression (SPEC 9, issue 12): what the command path knows before a ``progress``.

A progression is refused when the exercise's last session (at the progression's valid
time) is red, or was the first try after an add or a progression and has no next-day
response yet (``service.insights.lights.progression_check``). The program aggregate
refuses it, unless forced, and records the evidence with a forced one
(``Program.ExerciseProgressed.override``). This module gathers that evidence from the
store the mutation runs against: the CLI's, a device's overlay, or the server's when a
device pushes, so every one of them judges a progression by what it knows.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from service.application import UnitOfWork
from service.insights.lights import change_times, next_days, progression_check

#: How far back each step of the search for the exercise's last two sessions reads.
STEP = timedelta(days=62)


def _last_sessions(uow: UnitOfWork, exercise_id: str, at: datetime) -> tuple[list[dict], dict[str, dict]]:
    """The exercise's last two sessions up to ``at`` (oldest first) and the next-day responses known by then."""
    from service.fact_reads import facts_between

    # none before the exercise was added (a fact dated earlier names no exercise): not a month before it is read
    added = uow.program().view().exercises[exercise_id].added
    floor = datetime.fromisoformat(added).replace(tzinfo=timezone.utc) - timedelta(seconds=1)
    sessions: list[dict] = []
    found: list[dict] = []
    end = at
    while end >= floor and len(sessions) < 2:
        start = max(end - STEP, floor)
        chunk = [f for f in facts_between(uow, start, end) if not f["voided"] and f["type"] in ("log", "next-day")]
        found = chunk + found
        sessions = [f for f in found if f["type"] == "log" and f.get("exercise_id") == exercise_id]
        end = start - timedelta(microseconds=1)
    return sessions[-2:], next_days(found)


def progression_evidence(uow: UnitOfWork, exercise_id: str, at: datetime) -> dict[str, Any] | None:
    """Why progressing ``exercise_id`` at ``at`` comes too early (the last session and its light), or None."""
    sessions, responses = _last_sessions(uow, exercise_id, at)
    if not sessions:
        return None
    policies = uow.program().policy_book()
    if sessions[-1]["id"] in responses:  # answered: only its light can stand in the way
        return progression_check(sessions, responses, [], policies)
    entries = [{"type": e.command, "exercise_id": exercise_id, "occurred_at": e.occurred_at.isoformat()}
               for e in uow.decisions() if e.command in ("add", "progress") and exercise_id in e.exercise_ids]
    return progression_check(sessions, responses, change_times(entries).get(exercise_id, []), policies)
