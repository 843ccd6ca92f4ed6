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


def evaluate(
    rule: SignatureRule, at: datetime, tz: str,
    exposures: Iterable[Exposure], worse_responses: Iterable[datetime],
) -> dict[str, Any]:
    """Measure the evidence within the rule's window before ``at``; list every unmet condition."""
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
    unmet = []
    if len(inside) < rule.min_exposures:
        unmet.append(f"{len(inside)} logged exposures in {rule.window_days} days, needs {rule.min_exposures}")
    if len(days) < rule.min_days:
        unmet.append(f"exposures on {len(days)} different days, needs {rule.min_days}")
    if during and max(during) > rule.max_pain_during:
        unmet.append(f"pain during reached {max(during)}, must never be above {rule.max_pain_during}")
    if worse:
        unmet.append(f"{len(worse)} 'worse' next-day response(s), needs none")
    if ratio < rule.min_relief_ratio:
        unmet.append(
            f"{len(relieved)} of {len(inside)} exposures ({ratio:.0%}) eased pain by {rule.relief_points}+ point(s), "
            f"needs {rule.min_relief_ratio:.0%}"
        )
    return {
        "rule": rule.to_dict(), "window_start": start.isoformat(), "exposures": len(inside),
        "days": len(days), "max_pain_during": max(during) if during else None,
        "worse_responses": len(worse), "relief_ratio": round(ratio, 3), "unmet": unmet, "met": not unmet,
    }
