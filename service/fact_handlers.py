"""The handlers of facts (sessions, next-day responses, breaks, check-ins, sleep, assessments, corrections
and voids): each records into its month's ``FactLog`` (``service.handling`` runs them)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

from domain.decision_context import Context
from domain.errors import NotFound
from domain.facts import FactLog, month_of, sleep_values, validate
from service.application import UnitOfWork, require_program
from service.fact_reads import facts_between, months_between
from service.mutation import Step, derived_id
from service.naming import fact_exercise


def _fact_log(uow: UnitOfWork, occurred_at: datetime) -> FactLog:
    month = month_of(occurred_at)
    return uow.fact_log(month) or FactLog.open(uow.program_id, month)


def _record_fact(uow, m, now, command: str, **attrs) -> Step:
    log = _fact_log(uow, m.occurred_at)
    fact_id = derived_id(m.mutation_id, "fact")
    log.record(command, fact_id, m.occurred_at, now, m.device_id, m.mutation_id, **attrs)
    program = uow.program()
    if program is None:
        return Step([log], {"fact_id": fact_id, "month": log.month})
    # A fact dated before the program's start (a backfill) moves the start back to it, like a decision.
    program.cover(command, Context(occurred_at=m.occurred_at, device_id=m.device_id, mutation_id=m.mutation_id,
                                   recorded_at=now))
    return Step([log, program], {"fact_id": fact_id, "month": log.month})


def _with_hold(parsed: dict) -> dict:
    out = dict(parsed)
    if "hold" in out:
        out["hold_s"] = out.pop("hold")
    return out


def on_log(uow, m, parsed, now) -> Step:
    require_program(uow)
    ex_id, ex_name = fact_exercise(uow, m, parsed["exercise"])
    session = validate("log", _with_hold(parsed))
    step = _record_fact(uow, m, now, "log", exercise_id=ex_id, exercise_name=ex_name, session=session)
    step.result.update(exercise_id=ex_id, exercise=ex_name)
    return step


def on_next_day(uow, m, parsed, now) -> Step:
    require_program(uow)
    ex_id, ex_name = fact_exercise(uow, m, parsed["exercise"])
    response = validate("next-day", parsed)
    sessions = [f for f in facts_between(uow, m.occurred_at - timedelta(days=3), m.occurred_at)
                if f["type"] == "log" and f.get("exercise_id") == ex_id and not f["voided"]
                and (ex_id is not None or f.get("exercise") == ex_name)]
    session_id = sessions[-1]["id"] if sessions else None
    step = _record_fact(uow, m, now, "next-day", exercise_id=ex_id, exercise_name=ex_name,
                        session_id=session_id, response=response)
    step.result.update(exercise_id=ex_id, exercise=ex_name, session_id=session_id)
    return step


def _on_simple_fact(command: str) -> Callable[..., Step]:
    def handler(uow, m, parsed, now) -> Step:
        return _record_fact(uow, m, now, command, details=validate(command, parsed))
    return handler


def on_sleep(uow, m, parsed, now) -> Step:
    """A night's sleep, dated the morning it is recorded (``backstory day`` shows it on that date)."""
    return _record_fact(uow, m, now, "sleep", details=sleep_values(parsed))


def on_assess(uow, m, parsed, now) -> Step:
    """An outcome measure: its answers scored here; a score the mutation carries (an export) must match."""
    from domain import outcomes

    require_program(uow)
    instrument = outcomes.instrument_of("instrument", parsed["instrument"])
    answers, names = outcomes.parse_answers(instrument, parsed)
    score = outcomes.checked_score(instrument, answers, parsed.get("score"))
    step = _record_fact(uow, m, now, "assess", instrument=instrument, instrument_version=outcomes.VERSIONS[instrument],
                        answers=answers, activity_names=names, score=score)
    step.result.update(instrument=instrument, score=score)
    return step


def find_fact(uow: UnitOfWork, prefix: str, now: datetime) -> tuple[FactLog, str]:
    """The month log holding the fact whose id starts with ``prefix``, and the full id (newest months first)."""
    prefix = prefix.strip().lower()
    if len(prefix) < 6:
        raise NotFound("fact", "fact: give at least 6 characters of the fact's id")
    program = require_program(uow)
    started = datetime.fromisoformat(program.view().started).replace(tzinfo=timezone.utc)
    hits = []
    for month in reversed(months_between(started - timedelta(days=730), now + timedelta(days=1))):
        log = uow.fact_log(month)
        if log is not None:
            hits += [(log, fid) for fid in log.facts if fid.startswith(prefix)]
    if len(hits) == 1:
        return hits[0]
    if hits:  # in one month or several: never the first one found
        raise NotFound("fact", f"fact: the prefix {prefix} matches {len(hits)} facts: "
                               f"{', '.join(fid for _, fid in hits[:5])}" + (", ..." if len(hits) > 5 else "")
                               + "; give more of the id")
    raise NotFound("fact", f"fact: no fact with id {prefix!r}")


def on_correct(uow, m, parsed, now) -> Step:
    log, target = find_fact(uow, parsed["fact"], now)
    values = _with_hold({k: v for k, v in parsed.items() if k not in ("fact", "reason")})
    log.correct(target, values, parsed.get("reason"), derived_id(m.mutation_id, "fact"), m.occurred_at, now,
                m.device_id, m.mutation_id)
    return Step([log], {"fact_id": target, "changes": log.pending_events[-1].changes})


def on_void(uow, m, parsed, now) -> Step:
    log, target = find_fact(uow, parsed["fact"], now)
    log.void(target, parsed.get("reason"), derived_id(m.mutation_id, "fact"), m.occurred_at, now,
             m.device_id, m.mutation_id)
    return Step([log], {"fact_id": target})
