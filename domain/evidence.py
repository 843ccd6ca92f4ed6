"""The evidence rule that lets an exercise into the signature library.

The rule is a versioned value: its id, version and parameters are stored in
every promotion so an old promotion can always be explained by the rule that
admitted it, even after the default changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class SignatureRule:
    """Default (SPEC 3.2): 5 exposures on 3 days within 42 days, calm pain, mostly relief."""

    rule_id: str = "signature-evidence"
    version: int = 1
    window_days: int = 42
    min_exposures: int = 5
    min_days: int = 3
    max_pain_during: int = 5
    min_relief_ratio: float = 0.6
    relief_points: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


def signature_rule(policy: Any) -> SignatureRule:
    """The rule as the ``signature-evidence`` policy in force sets it (``domain.policies``)."""
    return SignatureRule(rule_id=policy.rule_id, version=policy.version, **policy.params)


@dataclass(frozen=True)
class Exposure:
    """One logged session of the exercise, as the rule needs it."""

    occurred_at: datetime
    pain_before: int | None
    pain_during: int | None
    pain_after: int | None


def window_start(rule: SignatureRule, at: datetime, tz: str) -> datetime:
    """The start of the rule's window before ``at``: the same wall-clock time ``window_days`` days earlier
    in the program's time zone ``tz``, carrying that zone's offset on that day.

    Computed from the instant alone, whatever offset ``at`` carries: a decision made now (a zone-aware
    time) and its replay, import or replica (a fixed offset read back from ISO text) give the same
    window, written the same way, across a DST change.
    """
    zone = ZoneInfo(tz)
    local = at.astimezone(zone).replace(tzinfo=None)
    return (local - timedelta(days=rule.window_days)).replace(tzinfo=zone)


def clauses(
    rule: SignatureRule, at: datetime, tz: str,
    exposures: Iterable[Exposure], worse_responses: Iterable[datetime],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Measure the evidence within the rule's window before ``at`` and judge each clause of the rule.

    Returns the measurements (as a promotion stores them) and one entry per clause:
    ``{"clause", "required", "measured", "met", "summary", "unmet"}`` (``unmet`` the
    sentence a refusal gives, ``None`` when met). ``evaluate`` and ``signature --explain``
    both read these, so the rule is judged in this one place.
    """
    start = window_start(rule, at, tz)
    inside = [e for e in exposures if start <= e.occurred_at <= at]
    zone = ZoneInfo(tz)
    days = {e.occurred_at.astimezone(zone).date() for e in inside}
    during = [e.pain_during for e in inside if e.pain_during is not None]
    relieved = [
        e for e in inside
        if e.pain_before is not None and e.pain_after is not None
        and e.pain_after <= e.pain_before - rule.relief_points
    ]
    worse = [w for w in worse_responses if start <= w <= at]
    ratio = len(relieved) / len(inside) if inside else 0.0
    peak = max(during) if during else None
    measured = {"window_start": start.isoformat(), "exposures": len(inside), "days": len(days),
                "max_pain_during": peak, "worse_responses": len(worse), "relief_ratio": round(ratio, 3)}

    def clause(name: str, required: Any, value: Any, met: bool, summary: str, unmet: str) -> dict[str, Any]:
        return {"clause": name, "required": required, "measured": value, "met": met, "summary": summary,
                "unmet": None if met else unmet}

    judged = [
        clause("exposures", rule.min_exposures, len(inside), len(inside) >= rule.min_exposures,
               f"at least {rule.min_exposures} logged exposures within {rule.window_days} days",
               f"{len(inside)} logged exposures in {rule.window_days} days, needs {rule.min_exposures}"),
        clause("days", rule.min_days, len(days), len(days) >= rule.min_days,
               f"exposures on at least {rule.min_days} different days",
               f"exposures on {len(days)} different days, needs {rule.min_days}"),
        clause("max_pain_during", rule.max_pain_during, peak, peak is None or peak <= rule.max_pain_during,
               f"pain during never above {rule.max_pain_during}",
               f"pain during reached {peak}, must never be above {rule.max_pain_during}"),
        clause("worse_responses", 0, len(worse), not worse, "no 'worse' next-day response",
               f"{len(worse)} 'worse' next-day response(s), needs none"),
        clause("relief_ratio", rule.min_relief_ratio, round(ratio, 3), ratio >= rule.min_relief_ratio,
               f"at least {rule.min_relief_ratio:.0%} of exposures ease pain by {rule.relief_points}+ point(s)",
               f"{len(relieved)} of {len(inside)} exposures ({ratio:.0%}) eased pain by {rule.relief_points}+ "
               f"point(s), needs {rule.min_relief_ratio:.0%}"),
    ]
    return measured, judged


def evaluate(
    rule: SignatureRule, at: datetime, tz: str,
    exposures: Iterable[Exposure], worse_responses: Iterable[datetime],
) -> dict[str, Any]:
    """The evidence as a promotion stores it: the measurements and every unmet clause (``clauses``)."""
    measured, judged = clauses(rule, at, tz, exposures, worse_responses)
    unmet = [c["unmet"] for c in judged if not c["met"]]
    return {"rule": rule.to_dict(), **measured, "unmet": unmet, "met": not unmet}


def evidence_inputs(facts: Iterable[dict], exercise_id: str) -> tuple[list[Exposure], list[datetime]]:
    """An exercise's exposures (logged sessions) and 'worse' next-day times among ``facts`` (dicts as
    ``FactLog.facts`` holds them, corrections applied); voided facts count for nothing."""
    mine = [f for f in facts if f.get("exercise_id") == exercise_id and not f["voided"]]
    exposures = [Exposure(datetime.fromisoformat(f["occurred_at"]), f.get("pain_before"), f.get("pain_during"),
                          f.get("pain_after")) for f in mine if f["type"] == "log"]
    worse = [datetime.fromisoformat(f["occurred_at"]) for f in mine
             if f["type"] == "next-day" and f.get("verdict") == "worse"]
    return exposures, worse
