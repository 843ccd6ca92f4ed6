"""What the Hevy and Strong parsers return: workouts of exercise blocks of sets, and skipped rows.

Times are naive local times as the apps write them; the mapping gives them a
time zone. Measurements keep the file's own unit; ``None`` is an empty cell.
``row`` is the CSV record number with the header as row 1 (a spreadsheet's row
number), so a quoted field spanning several lines is still one row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidValue

SET_KINDS = ("normal", "warmup", "failure", "dropset")
SOURCES = {"hevy": "Hevy", "strong": "Strong"}


class BadFile(InvalidValue):
    """The file cannot be read as the export it claims to be: names the row, the column and what was expected."""

    def __init__(self, row: int, column: str | None, expected: str):
        self.row, self.column = row, column
        where = f"row {row}" + (f", column {column!r}" if column else "")
        super().__init__(where, expected)


@dataclass(frozen=True)
class SetRow:
    """One set as the app recorded it."""

    row: int
    kind: str  # one of SET_KINDS
    weight: float | None
    unit: str | None  # "kg" or "lb"; None when the file does not say (Strong's comma export)
    reps: float | None
    seconds: float | None
    distance: float | None
    rpe: float | None


@dataclass
class Block:
    """One exercise done in a row within a workout, with its notes and its sets."""

    exercise: str
    notes: str
    sets: list[SetRow] = field(default_factory=list)

    @property
    def first_row(self) -> int:
        return self.sets[0].row


@dataclass
class Workout:
    """One workout: its title, start, end (or duration), description and exercise blocks."""

    title: str
    start: datetime
    end: datetime | None
    description: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Identifies the workout in the source: two with the same title and start but different ends stay two."""
        return f"{self.title}|{self.start.isoformat()}|{self.end.isoformat() if self.end else ''}"


@dataclass(frozen=True)
class Skip:
    """A row left out of the import, and why."""

    row: int
    why: str


@dataclass
class Parsed:
    """A whole export, read: its source app, its workouts in time order, the rows skipped while reading."""

    source: str  # "hevy" or "strong"
    workouts: list[Workout]
    skipped: list[Skip] = field(default_factory=list)
