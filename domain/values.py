"""Value objects of a prescription and of what a person feels.

Each value validates itself on construction and raises ``InvalidValue`` naming
the field and the allowed values. ``to_dict``/``from_dict`` give the plain,
JSON-ready form stored in events and shown to people.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from domain.body import MUSCLES, SIDES, TENSION_KINDS
from domain.errors import InvalidValue

STAGES = {1: "lying", 2: "kneeling", 3: "supported", 4: "upright"}
LOAD_TYPES = ("bodyweight", "elastic", "water", "free_weight", "cable", "other")
LOAD_UNITS = ("kg", "lb", "band", "depth_cm", "none")
PATTERNS = (
    "push", "pull", "hinge", "squat", "lunge", "carry", "rotation",
    "anti_rotation", "anti_extension", "anti_flexion", "isometric",
)
PLANES = ("sagittal", "frontal", "transverse", "vertical", "horizontal")
RANGES = ("partial", "mid", "full")
EXERCISE_KINDS = (
    "segmental_control", "mobility", "strength", "endurance", "stretch",
    "breathing", "other",
)
REASON_CODES = (
    "unspecified", "too_easy", "too_hard", "pain", "flare", "technique",
    "therapist", "evidence", "plateau", "schedule", "conflict", "other",
    "imported",  # brought in from another app's history (``backstory import --from``)
)
BREAK_KINDS = ("stand", "walk", "extend", "rotate", "reset")
VERDICTS = ("better", "same", "worse")
SLEEP_POSITIONS = ("back", "side", "front", "mixed")
REGIONS = (
    "low_back", "mid_back", "upper_back", "neck", "left_buttock",
    "right_buttock", "left_hip", "right_hip", "left_thigh", "right_thigh",
    "left_leg", "right_leg", "left_foot", "right_foot", "groin", "abdomen",
    "shoulders", "other",
)


def one_of(field: str, value: Any, allowed: tuple | list) -> Any:
    if value not in allowed:
        raise InvalidValue(field, f"{value!r} is not allowed; use one of: {', '.join(map(str, allowed))}")
    return value


def int_in(field: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(field, f"{value!r} is not a whole number")
    if value < low or (high is not None and value > high):
        allowed = f"{low}..{high}" if high is not None else f"{low} or more"
        raise InvalidValue(field, f"{value} is out of range; allowed {allowed}")
    return value


#: Characters a name must not hold: controls (newline, tab, escape), format characters (bidi
#: overrides and marks, zero-width joiners and spaces, the BOM), surrogates, line/paragraph separators.
_NOT_IN_NAMES = ("Cc", "Cf", "Cs", "Zl", "Zp")
_JOINERS = "\u200c\u200d"
_CONTROL_NAMES = {0x00: "NULL", 0x09: "CHARACTER TABULATION", 0x0A: "LINE FEED", 0x0B: "LINE TABULATION",
                  0x0C: "FORM FEED", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE", 0x7F: "DELETE", 0x85: "NEXT LINE"}


def character(ch: str) -> str:
    """A character as Unicode names it, e.g. ``U+202E RIGHT-TO-LEFT OVERRIDE``."""
    name = unicodedata.name(ch, "") or _CONTROL_NAMES.get(ord(ch), "CONTROL CHARACTER")
    return f"U+{ord(ch):04X} {name}"


def name_text(field: str, value: Any) -> str:
    """A name people will tell apart by sight: NFC-normalised, without invisible or control characters.

    NFC makes the composed and decomposed spellings of "étude" one name; a
    control, bidi or zero-width character would make two names that look the
    same, or text that prints backwards, so it is refused, named.
    """
    if not isinstance(value, str):
        raise InvalidValue(field, "must be text")
    value = unicodedata.normalize("NFC", value)
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in _NOT_IN_NAMES and not _joins(value, i):
            raise InvalidValue(field, f"{character(ch)} is not allowed")
    return value


def _joins(value: str, i: int) -> bool:
    """A zero-width (non-)joiner that shapes its neighbours: kept.

    Persian and Indic words need U+200C/U+200D between letters, and emoji
    sequences (a family, a flag) are joined by U+200D; between ASCII
    characters, or at either end, it only hides a difference.
    """
    if value[i] not in _JOINERS or i == 0 or i == len(value) - 1:
        return False
    before, after = value[i - 1], value[i + 1]
    return not (before.isascii() or after.isascii() or before.isspace() or after.isspace()
                or unicodedata.category(before) in _NOT_IN_NAMES or unicodedata.category(after) in _NOT_IN_NAMES)


def pain(field: str, value: Any) -> int | None:
    """NPRS pain (and Borg CR10 effort): an integer 0..10, or None if not recorded."""
    return None if value is None else int_in(field, value, 0, 10)


@dataclass(frozen=True)
class Position:
    """Where on the position ladder: stage 1 lying .. 4 upright, and the posture within it."""

    stage: int
    posture: str | None = None

    def __post_init__(self) -> None:
        int_in("position.stage", self.stage, 1, 4)
        if self.posture is not None and not str(self.posture).strip():
            raise InvalidValue("position.posture", "must not be blank")

    def to_dict(self) -> dict:
        return {"stage": self.stage, "posture": self.posture}

    @classmethod
    def from_dict(cls, d: dict) -> Position:
        return cls(stage=d["stage"], posture=d.get("posture"))


@dataclass(frozen=True)
class Load:
    """What resists the movement; loads of different type or unit are not comparable."""

    type: str = "bodyweight"
    magnitude: float | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        one_of("load.type", self.type, LOAD_TYPES)
        if self.unit is not None:
            one_of("load.unit", self.unit, LOAD_UNITS)
        if self.magnitude is not None:
            if isinstance(self.magnitude, bool) or not isinstance(self.magnitude, (int, float)):
                raise InvalidValue("load.magnitude", f"{self.magnitude!r} is not a number")
            if not 0 <= self.magnitude <= 1000:
                raise InvalidValue("load.magnitude", f"{self.magnitude} is out of range; allowed 0..1000")
            if self.unit in (None, "none"):
                raise InvalidValue("load.unit", "a load with a magnitude needs a unit: " + ", ".join(LOAD_UNITS[:-1]))

    def comparable(self, other: Load) -> bool:
        return (
            self.type == other.type and self.unit == other.unit
            and (self.magnitude is None) == (other.magnitude is None)
        )

    def to_dict(self) -> dict:
        return {"type": self.type, "magnitude": self.magnitude, "unit": self.unit}

    @classmethod
    def from_dict(cls, d: dict) -> Load:
        return cls(type=d.get("type", "bodyweight"), magnitude=d.get("magnitude"), unit=d.get("unit"))


@dataclass(frozen=True)
class Direction:
    """The movement's pattern and plane; never ordered, so changing it is an adaptation."""

    pattern: str | None = None
    plane: str | None = None

    def __post_init__(self) -> None:
        if self.pattern is not None:
            one_of("direction.pattern", self.pattern, PATTERNS)
        if self.plane is not None:
            one_of("direction.plane", self.plane, PLANES)

    def to_dict(self) -> dict:
        return {"pattern": self.pattern, "plane": self.plane}

    @classmethod
    def from_dict(cls, d: dict | None) -> Direction:
        d = d or {}
        return cls(pattern=d.get("pattern"), plane=d.get("plane"))


@dataclass(frozen=True)
class Tension:
    """One tension observation: which muscle, which side, what kind, how strong (0..10)."""

    muscle: str
    side: str = "both"
    kind: str = "overactive"
    intensity: int | None = None

    def __post_init__(self) -> None:
        one_of("tension.muscle", self.muscle, MUSCLES)
        one_of("tension.side", self.side, SIDES)
        one_of("tension.kind", self.kind, TENSION_KINDS)
        if self.intensity is not None:
            int_in("tension.intensity", self.intensity, 0, 10)

    def to_dict(self) -> dict:
        return {"muscle": self.muscle, "side": self.side, "kind": self.kind, "intensity": self.intensity}

    @classmethod
    def from_dict(cls, d: dict) -> Tension:
        return cls(d["muscle"], d.get("side", "both"), d.get("kind", "overactive"), d.get("intensity"))


def range_value(field: str, value: Any) -> str | int | None:
    """Range of motion: partial < mid < full, or degrees 1..360."""
    if value is None or value in RANGES:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int_in(field, value, 1, 360)
    raise InvalidValue(field, f"{value!r} is not allowed; use partial, mid, full or degrees 1..360")


def muscles(field: str, values: Any) -> list[str]:
    if not isinstance(values, (list, tuple)):
        raise InvalidValue(field, "must be a list of muscles")
    return sorted({one_of(field, m, MUSCLES) for m in values})
