"""What a backdated change of a prescription does to the later changes of the same exercise.

A backdated progress, regress or adapt lands where it belongs in valid time (SPEC 4), and each
later change of the exercise then starts from it. That is fine as long as each later change
stays what it is: a progression still raises, a regression still lowers, an adaptation is still
neither, and none comes to change nothing. ``turned_around`` finds the first later change that
would not (issue 9 item 8: a regression of reps 6 -> 5 on the 24th, after one backdated to 4 on
the 19th, would raise them).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.prescription import DIMENSIONS, kind_of
from domain.timeline import KEY_WIDTH, Index, index_key, key_time, next_entry, record_effects, state_at


def _keys(column: list) -> list[str]:
    keys = column[0]
    return [keys[i:i + KEY_WIDTH] for i in range(0, len(keys), KEY_WIDTH)]


def turned_around(timeline: Index, exercise_id: str, after: dict[str, Any], occurred_at: datetime,
                  version: int, recorded_at: datetime) -> tuple[datetime, str, str] | None:
    """The first later change that setting ``after`` at ``occurred_at`` would make something else.

    Returns its valid time, what it was (progress, regress, adapt) and what it would become
    (the same, or none); None when every later change stays what it is.
    """
    if all(next_entry(timeline, exercise_id, d, occurred_at) is None for d in DIMENSIONS):
        return None  # nothing later (a decision of today): one binary search per dimension
    columns = timeline.get(exercise_id, {})
    start = index_key(occurred_at)
    later = sorted({k for d in DIMENSIONS if d in columns for k in _keys(columns[d]) if k > start})
    # a retire or deconstruct that gives dimensions back changes the status at the same moment
    statuses = set(_keys(columns["status"])) if "status" in columns else set()
    now: Index = {exercise_id: columns}
    then: Index = {exercise_id: {name: [c[0], list(c[1]), c[2], list(c[3])] for name, c in columns.items()}}
    record_effects(then, occurred_at, version, recorded_at, [(exercise_id, d, v) for d, v in after.items()])

    def rx(index: Index, at: datetime) -> dict:
        fields = state_at(index, at).get(exercise_id, {})
        return {d: fields.get(d) for d in DIMENSIONS}

    for key in later:
        if key in statuses:
            continue
        at = key_time(key)
        just_before = at - timedelta(microseconds=1)
        was, will = kind_of(rx(now, just_before), rx(now, at)), kind_of(rx(then, just_before), rx(then, at))
        if was != will:
            return at, was, will
    return None
