"""Strong's CSV export, one set per row, in its two layouts.

The comma layout: ``Date,Workout Name,Duration,Exercise Name,Set Order,Weight,
Reps,Distance,Seconds,Notes,Workout Notes,RPE`` (some files lack Notes, Workout
Notes or RPE; durations like ``1h 5m`` or ``45m``; the weight's unit is the
app's setting and not in the file). The semicolon layout: ``"Workout #";
"Date";"Workout Name";"Duration (sec)";"Exercise Name";"Set Order";
"Weight (kg)"`` or ``"Weight (lbs)"``, ``"Reps";"RPE";"Distance (meters)";
"Seconds";"Notes";"Workout Notes"``, with decimal commas (``62,5``) and a
byte-order mark. Older files carry a ``Weight Unit`` column instead. ``Set
Order`` is a number, ``W`` (warm-up), ``D`` (drop), ``F`` (failure) or ``Rest
Timer`` (a rest, not a set: left out).
"""

from __future__ import annotations

import re
from datetime import timedelta

from service.gymimport.csvtext import moment, number, read_table, require_columns, unescape
from service.gymimport.model import BadFile, Block, Parsed, SetRow, Skip, Workout

COLUMNS = ("Date", "Workout Name", "Exercise Name", "Set Order", "Reps")
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %I:%M:%S %p", "%Y-%m-%d %I:%M %p")
EXAMPLE = "2026-09-01 07:30:00"
WEIGHTS = {"Weight (kg)": "kg", "Weight (lbs)": "lb", "Weight (lb)": "lb", "Weight": None}
UNITS = {"kg": "kg", "kgs": "kg", "lb": "lb", "lbs": "lb"}
ORDERS = {"w": "warmup", "d": "dropset", "f": "failure"}
_DURATION = re.compile(r"^(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?$")


def _duration(row: int, column: str, raw: str) -> timedelta | None:
    raw = raw.strip()
    if not raw:
        return None
    if column == "Duration (sec)":
        seconds = number(row, column, raw)
        return None if seconds is None else timedelta(seconds=seconds)
    match = _DURATION.match(raw.lower())
    if not match or not any(match.groups()):
        raise BadFile(row, column, f"{raw!r} is not a duration like '1h 5m' or '45m'")
    h, m, s = (int(g or 0) for g in match.groups())
    return timedelta(hours=h, minutes=m, seconds=s)


def _set_kind(raw: str) -> str | None:
    """The set's kind from Set Order; None for a rest timer row."""
    text = raw.strip().lower()
    if text.isdigit():
        return "normal"
    if text in ORDERS:
        return ORDERS[text]
    if text == "rest timer":
        return None
    return "?"


def parse(text: str) -> Parsed:
    """Read a whole Strong export; raise ``BadFile`` for a file that is not one."""
    table = read_table(text)
    require_columns(table.header, COLUMNS, "a Strong export")
    weight_col = next((c for c in WEIGHTS if c in table.header), None)
    if weight_col is None:
        raise BadFile(1, "Weight", "is missing from the header; expected a Strong export with a weight column "
                                   "(Weight, Weight (kg) or Weight (lbs))")
    duration_col = next((c for c in ("Duration (sec)", "Duration") if c in table.header), None)
    distance_col = next((c for c in ("Distance (meters)", "Distance") if c in table.header), None)
    workouts: dict[str, Workout] = {}
    skipped: list[Skip] = []
    for row, cell in table.records():
        start = moment(row, "Date", cell["Date"], DATE_FORMATS, EXAMPLE)
        length = _duration(row, duration_col, cell[duration_col]) if duration_col else None
        workout = Workout(unescape(cell["Workout Name"]), start, start + length if length is not None else None,
                          unescape(cell.get("Workout Notes", "")))
        workout = workouts.setdefault(workout.key, workout)
        kind = _set_kind(cell["Set Order"])
        if kind is None:
            continue
        if kind == "?":
            skipped.append(Skip(row, f"Set Order {cell['Set Order'].strip()!r} is not a number, W, D, F or Rest Timer"))
            continue
        exercise = unescape(cell["Exercise Name"])
        if not exercise:
            raise BadFile(row, "Exercise Name", "is empty; expected the exercise's name")
        unit = WEIGHTS[weight_col]
        if unit is None and "Weight Unit" in table.header and cell["Weight Unit"].strip():
            unit = UNITS.get(cell["Weight Unit"].strip().lower())
            if unit is None:
                raise BadFile(row, "Weight Unit", f"{cell['Weight Unit']!r} is not kg or lbs")
        if not workout.blocks or workout.blocks[-1].exercise != exercise:
            workout.blocks.append(Block(exercise, ""))
        block = workout.blocks[-1]
        note = unescape(cell.get("Notes", ""))
        if note and note not in block.notes.split("\n"):
            block.notes = f"{block.notes}\n{note}" if block.notes else note
        block.sets.append(SetRow(
            row=row, kind=kind, weight=number(row, weight_col, cell[weight_col]), unit=unit,
            reps=number(row, "Reps", cell["Reps"]), seconds=number(row, "Seconds", cell.get("Seconds", "")),
            distance=number(row, distance_col, cell[distance_col]) if distance_col else None,
            rpe=number(row, "RPE", cell.get("RPE", ""))))
    ordered = sorted((w for w in workouts.values() if w.blocks), key=lambda w: (w.start, w.key))
    return Parsed("strong", ordered, skipped)
