"""Stored values in words, as a person reads them: prescriptions, changes, yes/no, names for ids.

Shared by the CLI's text output (``cli.render``), the web dashboard (``api.web``) and the HTML report
(``service.report``), so a decision reads the same in a terminal and on paper.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

STAGES = {1: "lying", 2: "kneeling", 3: "supported", 4: "upright"}
LABELS = {"hold_s": "hold", "per_side": "per side", "reason_code": "reason code"}


def _load(ld: dict | None) -> str:
    if not ld:
        return "-"
    return ld["type"] if ld.get("magnitude") is None else f"{ld['type']} {ld['magnitude']:g} {ld['unit']}"


def _position(pos: dict) -> str:
    stage = f"{pos['stage']} {STAGES.get(pos['stage'], '')}".rstrip()
    return stage + (f":{pos['posture']}" if pos.get("posture") else "")


def _direction(d: dict) -> str:
    if not d.get("pattern") and not d.get("plane"):
        return "none"
    return (d.get("pattern") or "any") + (f":{d['plane']}" if d.get("plane") else "")


def dose(rx: dict) -> str:
    per = " per side" if rx.get("per_side") else ""
    if rx.get("hold_s") is not None:
        return f"{rx['sets']}x{rx['hold_s']}s hold{per}"
    return f"{rx['sets']}x{rx['reps']}{per}"


def prescription(rx: dict) -> str:
    parts = [_position(rx["position"]), _load(rx.get("load")), dose(rx)]
    d = rx.get("direction") or {}
    if d.get("pattern"):
        parts.append(_direction(d))
    if rx.get("range") is not None:
        parts.append(f"range {words(rx['range'], key='range')}")
    return ", ".join(parts)


def words(v: Any, names: dict[str, str] | None = None, key: str = "") -> str:
    """A stored value as a person says it: yes/no, none, names for exercise ids, lists joined."""
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return ", ".join(words(x, names) for x in v) or "none"
    if isinstance(v, dict):
        if "stage" in v:
            return _position(v)
        if "type" in v:
            return _load(v)
        if "pattern" in v or "plane" in v:
            return _direction(v)
        return ", ".join(f"{LABELS.get(k, k)} {words(x, names)}" for k, x in v.items())
    if isinstance(v, float):
        return f"{v:g}"
    if key == "hold_s":
        return f"{v}s"
    if key == "range" and isinstance(v, int):
        return f"{v} degrees"
    return (names or {}).get(v, str(v)) if isinstance(v, str) else str(v)


def guarded(override: dict, zone: tzinfo | None = None) -> str:
    """What a progression forced past the pain-monitoring guard went past: the last session's day (in ``zone``,
    the program's) and light."""
    waiting = ", awaiting its next-day response" if override.get("awaiting_next_day") else ""
    return f"last session {local(override['occurred_at'], zone, 10)} {override['light']}{waiting}"


def changes(before: dict | None, after: dict | None, names: dict[str, str] | None = None,
            zone: tzinfo | None = None) -> str:
    """``key: from -> to`` for each changed value, in words (a time in ``zone``); empty without a before."""
    if not before:
        return ""
    parts = []
    for k, v in (after or {}).items():
        if k in ("evidence", "override") or (k not in before and (v is None or v is False)):
            continue
        if k == "forced":
            parts.append("forced past the evidence rule" if "override" not in after else
                         f"forced past the pain-monitoring guard ({guarded(after['override'], zone)})")
        elif k in before:
            parts.append(f"{LABELS.get(k, k)}: {words(before[k], names, k)} -> {words(v, names, k)}")
        else:
            parts.append(f"{LABELS.get(k, k)}: {words(v, names, k)}")
    return "; ".join(parts)


def local(iso: str | None, zone: tzinfo | None, width: int = 16) -> str:
    """An ISO time from a result, in ``zone`` (the program's), cut to ``width`` (16: to the minute, 10: the day)."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso[:width]
    if zone is not None and moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.isoformat()[:width]
