"""Hevy's CSV export (app and web), one set per row.

Columns: ``title, start_time, end_time, description, exercise_title,
superset_id, exercise_notes, set_index, set_type, weight_kg|weight_lbs, reps,
distance_km|distance_miles, duration_seconds, rpe``. The app writes CRLF rows,
quotes every text field, writes a line break inside a field as a literal
``\\n`` and dates like ``1 Sep 2026, 07:30``; the web export writes LF rows,
real line breaks inside quoted fields and dates like ``Sep 22, 2026, 6:00 AM``.
Both are local times without a zone. ``set_index`` counts from 0 within an
exercise; ``set_type`` is warmup, normal, failure or dropset; an empty cell is
zero or not recorded.
"""

from __future__ import annotations

from service.gymimport.csvtext import moment, number, read_table, require_columns, unescape
from service.gymimport.model import SET_KINDS, BadFile, Block, Parsed, SetRow, Skip, Workout

COLUMNS = ("title", "start_time", "end_time", "exercise_title", "set_index", "set_type", "reps",
           "duration_seconds", "rpe")
DATE_FORMATS = ("%d %b %Y, %H:%M", "%b %d, %Y, %I:%M %p", "%b %d, %Y, %H:%M", "%d %b %Y, %I:%M %p",
                "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")
EXAMPLE = "1 Sep 2026, 07:30"
WEIGHTS = {"weight_kg": "kg", "weight_lbs": "lb"}
DISTANCES = ("distance_km", "distance_miles")


def _one_of(header: list[str], columns, what: str) -> str:
    found = [c for c in columns if c in header]
    if not found:
        raise BadFile(1, " or ".join(columns), f"is missing from the header; expected a Hevy export with {what}")
    return found[0]


def parse(text: str) -> Parsed:
    """Read a whole Hevy export; raise ``BadFile`` for a file that is not one."""
    table = read_table(text)
    require_columns(table.header, COLUMNS, "a Hevy export")
    weight_col = _one_of(table.header, tuple(WEIGHTS), "a weight column")
    distance_col = _one_of(table.header, DISTANCES, "a distance column")
    unit = WEIGHTS[weight_col]
    workouts: dict[str, Workout] = {}
    skipped: list[Skip] = []
    last: tuple[str, str, int] | None = None  # (workout key, exercise, set_index) of the previous row
    for row, cell in table.records():
        title = unescape(cell["title"])
        start = moment(row, "start_time", cell["start_time"], DATE_FORMATS, EXAMPLE)
        end = moment(row, "end_time", cell["end_time"], DATE_FORMATS, EXAMPLE) if cell["end_time"].strip() else None
        exercise = unescape(cell["exercise_title"])
        if not exercise:
            raise BadFile(row, "exercise_title", "is empty; expected the exercise's name")
        index = number(row, "set_index", cell["set_index"])
        kind = cell["set_type"].strip().lower() or "normal"
        workout = Workout(title, start, end, unescape(cell.get("description", "")))
        workout = workouts.setdefault(workout.key, workout)
        if kind not in SET_KINDS:
            skipped.append(Skip(row, f"set_type {kind!r} is not one of {', '.join(SET_KINDS)}"))
            continue
        position = int(index) if index is not None else (last[2] + 1 if last else 0)
        if (last is None or last[0] != workout.key or last[1] != exercise or position <= last[2]
                or not workout.blocks):
            workout.blocks.append(Block(exercise, unescape(cell.get("exercise_notes", ""))))
        last = (workout.key, exercise, position)
        workout.blocks[-1].sets.append(SetRow(
            row=row, kind=kind, weight=number(row, weight_col, cell[weight_col]), unit=unit,
            reps=number(row, "reps", cell["reps"]), seconds=number(row, "duration_seconds", cell["duration_seconds"]),
            distance=number(row, distance_col, cell[distance_col]), rpe=number(row, "rpe", cell["rpe"])))
    ordered = sorted((w for w in workouts.values() if w.blocks), key=lambda w: (w.start, w.key))
    return Parsed("hevy", ordered, skipped)
