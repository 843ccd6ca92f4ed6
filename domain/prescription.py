"""A prescription and the per-dimension comparison that tells progress from regress.

A prescription is kept as a plain dict of dimensions (``DIMENSIONS``) so that a
decision can carry absolute from/to values for exactly the dimensions it
changed. ``compare`` says which comparable dimensions (position stage, load,
range, volume) went up or down and which changes cannot be ordered at all
(direction, a change of load type or unit, reps swapped for a hold).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.errors import InvalidValue, Refused
from domain.values import RANGES, Direction, Load, Position, int_in, muscles, range_value

DIMENSIONS = (
    "position", "load", "direction", "sets", "reps", "hold_s",
    "per_side", "range", "target", "protect", "cues",
)


def normalize(p: dict[str, Any]) -> dict[str, Any]:
    """Validate a complete prescription and return its canonical plain form."""
    unknown = set(p) - set(DIMENSIONS)
    if unknown:
        raise InvalidValue(sorted(unknown)[0], f"unknown dimension; allowed: {', '.join(DIMENSIONS)}")
    if p.get("position") is None:
        raise InvalidValue("position", "is required (stage 1..4 with an optional posture)")
    out = {
        "position": Position.from_dict(p["position"]).to_dict(),
        "load": Load.from_dict(p.get("load") or {}).to_dict(),
        "direction": Direction.from_dict(p.get("direction")).to_dict(),
        "sets": int_in("sets", p.get("sets"), 1, 20),
        "reps": None if p.get("reps") is None else int_in("reps", p["reps"], 1, 200),
        "hold_s": None if p.get("hold_s") is None else int_in("hold", p["hold_s"], 1, 3600),
        "per_side": bool(p.get("per_side", False)),
        "range": range_value("range", p.get("range")),
        "target": muscles("target", p.get("target") or []),
        "protect": muscles("protect", p.get("protect") or []),
        "cues": [str(c) for c in (p.get("cues") or [])],
    }
    if (out["reps"] is None) == (out["hold_s"] is None):
        raise InvalidValue("reps", "give either reps or a hold in seconds, not both or neither")
    return out


def apply_changes(current: dict, changes: dict[str, Any]) -> dict:
    """The prescription after changing some dimensions; reps and hold replace each other."""
    merged = {**current, **changes}
    if changes.get("reps") is not None and "hold_s" not in changes:
        merged["hold_s"] = None
    if changes.get("hold_s") is not None and "reps" not in changes:
        merged["reps"] = None
    return normalize(merged)


@dataclass
class Comparison:
    """Which dimensions a change raised, lowered, or changed without order."""

    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    raised: list[str] = field(default_factory=list)
    lowered: list[str] = field(default_factory=list)
    unordered: list[str] = field(default_factory=list)

    def describe(self, dims: list[str], before: dict, after: dict) -> str:
        return ", ".join(f"{d} ({_show(d, before)} -> {_show(d, after)})" for d in dims)


def _volume(p: dict) -> tuple[str, int]:
    return ("reps", p["sets"] * p["reps"]) if p["reps"] is not None else ("hold", p["sets"] * p["hold_s"])


def _order(dim: str, a: Any, b: Any, out: Comparison) -> None:
    if a == b:
        return
    (out.raised if b > a else out.lowered).append(dim)


def compare(before: dict, after: dict) -> Comparison:
    """Compare two prescriptions dimension by dimension (SPEC 3.1)."""
    out = Comparison(changed={d: (before[d], after[d]) for d in DIMENSIONS if before[d] != after[d]})
    _order("position", before["position"]["stage"], after["position"]["stage"], out)
    lb, la = Load.from_dict(before["load"]), Load.from_dict(after["load"])
    if lb.comparable(la):
        _order("load", lb.magnitude or 0, la.magnitude or 0, out)
    else:
        out.unordered.append("load")
    rb, ra = before["range"], after["range"]
    if rb != ra:
        if rb in RANGES and ra in RANGES:
            _order("range", RANGES.index(rb), RANGES.index(ra), out)
        elif isinstance(rb, int) and isinstance(ra, int):
            _order("range", rb, ra, out)
        else:
            out.unordered.append("range")
    (kb, vb), (ka, va) = _volume(before), _volume(after)
    if kb == ka:
        _order("volume", vb, va, out)
    else:
        out.unordered.append("volume")
    if before["direction"] != after["direction"]:
        out.unordered.append("direction")
    return out


def _show(dim: str, p: dict) -> str:
    if dim == "volume":
        return f"{p['sets']}x{p['reps']}" if p["reps"] is not None else f"{p['sets']}x{p['hold_s']}s"
    if dim == "position":
        return str(p["position"]["stage"])
    if dim == "load":
        ld = p["load"]
        return ld["type"] if ld["magnitude"] is None else f"{ld['type']} {ld['magnitude']:g} {ld['unit']}"
    return str(p[dim])


def kind_of(before: dict, after: dict) -> str:
    """What a move from ``before`` to ``after`` is: progress, regress, adapt, or none (it changes nothing)."""
    cmp = compare(before, after)
    if not cmp.changed:
        return "none"
    if not cmp.unordered and cmp.raised and not cmp.lowered:
        return "progress"
    if not cmp.unordered and cmp.lowered and not cmp.raised:
        return "regress"
    return "adapt"


def check_move(kind: str, before: dict, after: dict) -> Comparison:
    """Check that a progress/regress/adapt really is what it claims to be."""
    cmp = compare(before, after)
    if not cmp.changed:
        raise Refused("no_change", f"{kind} changes nothing: the prescription is already like that")
    if kind == "adapt":
        if not cmp.unordered and (not cmp.raised or not cmp.lowered) and (cmp.raised or cmp.lowered):
            better = "progress" if cmp.raised else "regress"
            dims = cmp.describe(cmp.raised or cmp.lowered, before, after)
            raise Refused("adapt_is_not_ordered", f"this change only {'raises' if cmp.raised else 'lowers'} {dims}: record it with `{better}`")
        return cmp
    if cmp.unordered:
        raise Refused(
            "unordered_change",
            f"{kind} cannot change {', '.join(cmp.unordered)}: direction changes, a new load type or unit, "
            "or reps swapped for a hold are not comparable; record it with `adapt`",
        )
    up, down = (cmp.raised, cmp.lowered) if kind == "progress" else (cmp.lowered, cmp.raised)
    if down:
        verb = "lower" if kind == "progress" else "raise"
        rule = "progression_raises_only" if kind == "progress" else "regression_lowers_only"
        what = "a progression raises at least one dimension and lowers none" if kind == "progress" else \
            "a regression lowers at least one dimension and raises none"
        raise Refused(rule, f"{kind} would {verb} {cmp.describe(down, before, after)}; {what}")
    if not up:
        raise Refused(
            "progression_raises_only" if kind == "progress" else "regression_lowers_only",
            f"{kind} changes no comparable dimension (position stage, load, range, volume); record it with `adapt`",
        )
    return cmp
