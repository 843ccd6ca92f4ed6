"""Why an exercise is (or is not) ready for the signature library, and which ones are (policy ``signature-evidence``).

``explain`` judges each clause of the rule in force today for one exercise, with what it
requires and what was measured (``domain.evidence.clauses``, the same judgement a
promotion makes); ``candidates`` lists the active exercises that meet the rule today and
are not yet signature. Neither promotes anything: that stays a person's decision.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.evidence import clauses, evidence_inputs, signature_rule
from domain.timeline import time_key
from domain.view import ExerciseView
from service.record import Record


def _judge(record: Record, exercises: list[ExerciseView], at: datetime) -> tuple[Any, list[tuple]]:
    """The rule in force at ``at`` and, for each exercise, its measurements and judged clauses."""
    policy = record.policies.at("signature-evidence", at)
    rule = signature_rule(policy)
    # A day wider than the window, which the rule measures in the program's zone (domain.evidence.window_start).
    facts = record.facts(at - timedelta(days=rule.window_days + 1), at, types=("log", "next-day"))
    zone = record.timezone.key
    out = []
    for ex in exercises:
        exposures, worse = evidence_inputs(facts, ex.id)
        # Only the exercise's own sessions count: none from before it was added (as a promotion counts them).
        exposures = [e for e in exposures if time_key(e.occurred_at) >= ex.added]
        worse = [w for w in worse if time_key(w) >= ex.added]
        out.append((ex, *clauses(rule, at, zone, exposures, worse)))
    return policy, out


def explain(record: Record, exercise: str, at: datetime) -> dict[str, Any]:
    """``signature --explain EXERCISE``: each clause of the rule in force at ``at``, required, measured, met."""
    from service.naming import resolve_exercise

    ex = resolve_exercise(record.view(at), exercise)
    policy, [(_, measured, judged)] = _judge(record, [ex], at)
    return {
        "exercise": ex.name, "exercise_id": ex.id, "signature": ex.signature, "at": at.isoformat(),
        "rule": signature_rule(policy).to_dict(), "policy": policy.ref(), "window_start": measured["window_start"],
        "clauses": [{k: c[k] for k in ("clause", "required", "measured", "met", "summary")} for c in judged],
        "met": all(c["met"] for c in judged),
    }


def candidates(record: Record, at: datetime) -> dict[str, Any]:
    """``signature --candidates``: active exercises that meet the rule in force at ``at`` and are not signature."""
    view = record.view(at)
    active = [e for e in view.exercises.values() if e.status == "active" and not e.signature]
    policy, judged = _judge(record, active, at)
    return {
        "at": at.isoformat(), "rule": signature_rule(policy).to_dict(), "policy": policy.ref(),
        "candidates": [{"exercise": ex.name, "exercise_id": ex.id, "exposures": m["exposures"], "days": m["days"],
                        "max_pain_during": m["max_pain_during"], "relief_ratio": m["relief_ratio"]}
                       for ex, m, cs in judged if all(c["met"] for c in cs)],
    }
