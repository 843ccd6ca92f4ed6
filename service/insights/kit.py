"""A kit: the signature exercises that fit a time budget, for an ordinary day, a travel day or a flare.

The time estimate follows policy ``kit`` (v1): each set takes reps x ``rep_seconds`` (or its
hold), twice that when the dose is per side, with ``rest_seconds`` between sets. Exercises
are taken in order while they fit the budget; the others are left out, each saying why.

- ordinary day: the signature exercises in the program's order;
- ``travel``: only what needs no equipment beyond bodyweight or an elastic band (the
  prescription's load type);
- ``flare``: only positions of stage 1 (lying) and 2 (kneeling), ordered by their mean pain
  drop during past flares (``service.insights.flares``), those never tried in a flare last.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.policies import Policy
from service.insights import HEURISTICS_NOTE
from service.record import Record

PURPOSES = ("travel", "flare")
TRAVEL_LOADS = ("bodyweight", "elastic")
FLARE_STAGES = (1, 2)


def seconds(rx: dict, policy: Policy) -> int:
    """The estimated time of one prescription, in seconds."""
    work = rx["hold_s"] if rx.get("hold_s") is not None else (rx.get("reps") or 0) * policy["rep_seconds"]
    if not work:
        work = policy["hold_default_s"]
    sides = 2 if rx.get("per_side") else 1
    return rx["sets"] * work * sides + policy["rest_seconds"] * max(rx["sets"] - 1, 0)


def _excluded(rx: dict, purpose: str | None) -> str | None:
    load = (rx.get("load") or {}).get("type", "bodyweight")
    if purpose == "travel" and load not in TRAVEL_LOADS:
        return f"needs equipment ({load} load): a travel kit takes bodyweight or an elastic band"
    stage = rx["position"]["stage"]
    if purpose == "flare" and stage not in FLARE_STAGES:
        return f"position stage {stage}: a flare kit keeps stages 1 and 2"
    return None


def kit(record: Record, minutes: int, purpose: str | None, at: datetime) -> dict[str, Any]:
    """``backstory kit``: signature exercises fitting ``minutes``, for ``purpose`` (None, travel or flare)."""
    policy = record.policies.at("kit", at)
    signature = [e for e in record.view(at).in_program() if e.signature]
    relief: dict[str, dict] = {}
    if purpose == "flare":
        from service.insights.flares import relief_in_flares

        relief = relief_in_flares(record)
        signature.sort(key=lambda e: (e.id not in relief or relief[e.id]["mean_drop"] is None,
                                      -((relief.get(e.id) or {}).get("mean_drop") or 0)))
    chosen, left_out, used = [], [], 0
    for ex in signature:
        why = "status: " + ex.status if ex.status != "active" else _excluded(ex.prescription, purpose)
        took = seconds(ex.prescription, policy)
        if why is None and used + took > minutes * 60:
            why = f"takes {took / 60:.1f} min; {max(minutes * 60 - used, 0) / 60:.1f} min left of {minutes}"
        if why is not None:
            left_out.append({"exercise": ex.name, "exercise_id": ex.id, "why": why})
            continue
        used += took
        chosen.append({"exercise": ex.name, "exercise_id": ex.id, "prescription": ex.prescription,
                       "minutes": round(took / 60, 1),
                       "flare_mean_drop": (relief.get(ex.id) or {}).get("mean_drop") if purpose == "flare" else None})
    return {"for": purpose, "minutes_budget": minutes, "minutes_estimated": round(used / 60, 1),
            "exercises": chosen, "left_out": left_out, "at": at.isoformat(), "policy": policy.ref(),
            "note": HEURISTICS_NOTE}
