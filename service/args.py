"""Mutation arguments: the wire/CLI forms, parsed into the plain values the domain checks.

Arguments use the CLI option names with underscores (SPEC 5): ``{"exercise":
"Dead bug", "pain_before": 4, "tension": [...]}``. Compound values accept the
CLI's string forms (``"1:supine"``, ``"elastic:2:band"``,
``"paraspinals:left:overactive:6"``) or their object forms. Every problem is an
``InvalidValue`` naming the argument and what is allowed.
"""

from __future__ import annotations

from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidValue
from domain.values import LOAD_UNITS, RANGES, STAGES, name_text

Parser = Callable[[str, Any], Any]
_STAGE_NAMES = {v: k for k, v in STAGES.items()}


def integer(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(field, f"{value!r} is not a whole number")
    return value


def text(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field, "must be text")
    return value


def boolean(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue(field, "must be true or false")
    return value


def text_list(field: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InvalidValue(field, "must be a list of text")
    return list(value)


def names(field: str, value: Any) -> list[str]:
    """A list of new exercise names (``deconstruct --into``), each held to the name rule."""
    return [name_text(field, v) for v in text_list(field, value)]


def timezone_name(field: str, value: Any) -> str:
    try:
        ZoneInfo(text(field, value))
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        raise InvalidValue(field, f"{value!r} is not a known time zone, e.g. Europe/Paris or UTC") from None
    return value


def _number(field: str, raw: str) -> float | int:
    try:
        n = float(raw)
    except ValueError:
        raise InvalidValue(field, f"{raw!r} is not a number") from None
    return int(n) if n.is_integer() else n


def position(field: str, value: Any) -> dict:
    """``STAGE[:POSTURE]`` with STAGE 1-4 or lying/kneeling/supported/upright."""
    if isinstance(value, dict):
        return {"stage": value.get("stage"), "posture": value.get("posture")}
    stage_text, _, posture = text(field, value).partition(":")
    stage_text = stage_text.strip().lower()
    if stage_text in _STAGE_NAMES:
        stage = _STAGE_NAMES[stage_text]
    elif stage_text.isdigit():
        stage = int(stage_text)
    else:
        raise InvalidValue(field, f"{value!r}: use STAGE[:POSTURE] with STAGE 1-4 or "
                                  f"{', '.join(_STAGE_NAMES)}, e.g. 1:supine")
    return {"stage": stage, "posture": posture.strip() or None}


def load(field: str, value: Any) -> dict:
    """``TYPE[:MAGNITUDE:UNIT]``, e.g. ``bodyweight``, ``elastic:2:band``, ``free_weight:5:kg``."""
    if isinstance(value, dict):
        return {"type": value.get("type", "bodyweight"), "magnitude": value.get("magnitude"), "unit": value.get("unit")}
    parts = text(field, value).split(":")
    if len(parts) == 1:
        return {"type": parts[0].strip(), "magnitude": None, "unit": None}
    if len(parts) != 3:
        raise InvalidValue(field, f"{value!r}: use TYPE[:MAGNITUDE:UNIT], e.g. free_weight:5:kg "
                                  f"(units: {', '.join(LOAD_UNITS)})")
    return {"type": parts[0].strip(), "magnitude": _number(field, parts[1]), "unit": parts[2].strip()}


def direction(field: str, value: Any) -> dict:
    """``PATTERN[:PLANE]``, e.g. ``hinge:sagittal``."""
    if isinstance(value, dict):
        return {"pattern": value.get("pattern"), "plane": value.get("plane")}
    pattern, _, plane = text(field, value).partition(":")
    return {"pattern": pattern.strip() or None, "plane": plane.strip() or None}


def tension(field: str, value: Any) -> list[dict]:
    """A list of ``MUSCLE[:SIDE[:KIND[:INTENSITY]]]`` strings or objects."""
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            out.append(dict(item))
            continue
        parts = text(field, item).split(":")
        if len(parts) > 4:
            raise InvalidValue(field, f"{item!r}: use MUSCLE[:SIDE[:KIND[:INTENSITY]]]")
        t: dict[str, Any] = {"muscle": parts[0].strip()}
        for key, raw in zip(("side", "kind"), parts[1:3]):
            t[key] = raw.strip()
        if len(parts) == 4:
            t["intensity"] = _number(field, parts[3])
        out.append(t)
    return out


def range_arg(field: str, value: Any) -> str | int:
    """partial, mid, full, or degrees."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if value in RANGES or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise InvalidValue(field, f"{value!r}: use partial, mid, full or degrees")


def item_list(field: str, value: Any) -> str | list:
    """Comma-separated text or a list of values (``"3,2,-,1"`` or ``[3, 2, null, 1]``); checked by the instrument."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(v is None or isinstance(v, (str, int)) and not isinstance(v, bool)
                                                for v in value):
        return list(value)
    raise InvalidValue(field, "must be comma-separated text or a list of values")


def pairs(field: str, value: Any) -> list[str] | dict:
    """``ID=VALUE`` strings (one or a list) or an object ``{ID: VALUE}``."""
    if isinstance(value, dict):
        return dict(value)
    return text_list(field, value)


def number(field: str, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidValue(field, f"{value!r} is not a number")
    return value


def params(field: str, value: Any) -> dict[str, Any]:
    """A policy's parameters to change: names (CLI option names with underscores) and plain values."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise InvalidValue(field, "must be an object of parameter names and values")
    for name, v in value.items():
        if isinstance(v, (dict, list)) or v is None:
            raise InvalidValue(name, "must be a number or text")
    return dict(value)


DECISION = {"reason": text, "reason_code": text}
ANSWERS = {"answers": item_list, "answers_yes_no": item_list, "activity": pairs}
RX_CHANGE = {"position": position, "load": load, "direction": direction, "sets": integer,
             "reps": integer, "hold": integer, "range": range_arg}
EXERCISE = {"exercise": text}
NOTE = {"note": text}

SPECS: dict[str, dict[str, Parser]] = {
    "init": {"name": name_text, "timezone": timezone_name},
    "add": {"name": name_text, "kind": text, **RX_CHANGE, "per_side": boolean, "target": text_list,
            "protect": text_list, "cues": text_list, **DECISION},
    "progress": {**EXERCISE, **RX_CHANGE, "force": boolean, **DECISION},
    "regress": {**EXERCISE, **RX_CHANGE, **DECISION},
    "adapt": {**EXERCISE, **RX_CHANGE, "per_side": boolean, "target": text_list, "protect": text_list,
              "cues": text_list, **DECISION},
    "deconstruct": {**EXERCISE, "into": names, **DECISION},
    "rebuild": {**EXERCISE, **DECISION},
    "promote": {**EXERCISE, "force": boolean, **DECISION},
    "demote": {**EXERCISE, **DECISION},
    "retire": {**EXERCISE, **DECISION},
    "pause": {**EXERCISE, **DECISION},
    "resume": {**EXERCISE, **DECISION},
    "policy-set": {"policy": text, "params": params, **DECISION},
    "fitting-open": {"notes": text},
    "fitting-close": {"notes": text},
    "log": {**EXERCISE, "sets": integer, "reps": integer, "hold": integer, "load": load,
            "pain_before": integer, "pain_during": integer, "pain_after": integer, "effort": integer,
            "tension": tension, **NOTE},
    "next-day": {**EXERCISE, "verdict": text, "pain": integer},
    "break": {"kind": text, "seconds": integer},
    "checkin": {"pain": integer, "starts": text, "travels": text_list, **NOTE},
    "flare-start": {"pain": integer, **NOTE},
    "flare-end": {"pain": integer, **NOTE},
    "sleep": {"hours": number, "quality": integer, "position": text, "pain_morning": integer, **NOTE},
    "correct": {"fact": text, "sets": integer, "reps": integer, "hold": integer, "load": load,
                "pain_before": integer, "pain_during": integer, "pain_after": integer, "effort": integer,
                "tension": tension, "note": text, "verdict": text, "pain": integer, "kind": text,
                "seconds": integer, "starts": text, "travels": text_list, "hours": number, "quality": integer,
                "position": text, "pain_morning": integer, **ANSWERS, "reason": text},
    "void": {"fact": text, "reason": text},
    "assess": {"instrument": text, **ANSWERS, "activity_name": pairs, "pain": integer, "score": number},
    "resolve": {"conflict": text, "keep_current": boolean, "apply_mine": boolean},
}
REQUIRED = {
    "init": ("name",), "add": ("name", "position", "sets"), "deconstruct": ("exercise", "into"),
    "log": ("exercise",), "next-day": ("exercise", "verdict"), "checkin": ("pain",),
    "correct": ("fact",), "void": ("fact",), "resolve": ("conflict",), "assess": ("instrument",),
    "policy-set": ("policy", "params"),
}
MUTATION_TYPES = tuple(SPECS)


def parse(mutation_type: str, args: Any) -> dict[str, Any]:
    """Check a mutation's arguments against its type; drop those given as null."""
    if mutation_type not in SPECS:
        raise InvalidValue("type", f"{mutation_type!r} is not a mutation type; allowed: {', '.join(SPECS)}")
    if not isinstance(args, dict):
        raise InvalidValue("args", "must be an object")
    spec = SPECS[mutation_type]
    unknown = sorted(set(args) - set(spec))
    if unknown:
        raise InvalidValue(unknown[0], f"is not an argument of {mutation_type}; allowed: {', '.join(spec)}")
    out = {k: spec[k](k, v) for k, v in args.items() if v is not None}
    for name in REQUIRED.get(mutation_type, ()):
        if name not in out:
            raise InvalidValue(name, f"is required for {mutation_type}")
    if "exercise" in spec and mutation_type not in REQUIRED and "exercise" not in out:
        raise InvalidValue("exercise", f"is required for {mutation_type}")
    return out
