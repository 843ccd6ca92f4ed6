"""Facts: what the person did and felt, in one stream per month of valid time.

Facts are never refused because the plan changed; they are only checked for
well-formed values. A fact is never edited in place: a later ``FactCorrected``
or ``FactVoided`` in the same month's stream supersedes it, and both stay in
the history. Streams are partitioned by the UTC month of ``occurred_at`` so a
recap of last month reads one or two short streams.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, Callable
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain import outcomes
from domain.errors import InvalidValue, NotFound, Refused
from domain.decision_context import check_time
from domain.timeline import time_key
from domain.values import BREAK_KINDS, REGIONS, SLEEP_POSITIONS, VERDICTS, Load, Tension, int_in, one_of, pain

FACTS_NAMESPACE = uuid5(NAMESPACE_URL, "https://backstory.invalid/facts")


def month_of(moment: datetime) -> str:
    """The stream a fact belongs to: the UTC year-month of its valid time."""
    return time_key(moment)[:7]


@lru_cache(maxsize=1024)  # asked for every fact of a push; uuid5 is a SHA-1
def fact_log_id(program_id: UUID | str, month: str) -> UUID:
    return uuid5(FACTS_NAMESPACE, f"{program_id}:{month}")


def _opt_int(low: int, high: int) -> Callable[[str, Any], int | None]:
    return lambda f, v: None if v is None else int_in(f, v, low, high)


def _text(limit: int) -> Callable[[str, Any], str | None]:
    def check(field: str, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidValue(field, "must be text")
        if len(value) > limit:
            raise InvalidValue(field, f"is longer than {limit} characters")
        return value
    return check


def _tension(field: str, value: Any) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidValue(field, "must be a list of observations")
    return [Tension.from_dict(t).to_dict() if isinstance(t, dict) else _bad(field) for t in value]


def _bad(field: str) -> Any:
    raise InvalidValue(field, "each observation needs muscle, side, kind and intensity")


def _load(field: str, value: Any) -> dict | None:
    return None if value is None else Load.from_dict(value).to_dict()


def _regions(field: str, value: Any) -> list[str]:
    return [one_of(field, r, REGIONS) for r in (value or [])]


def _hours(field: str, value: Any) -> int | float | None:
    """Hours of sleep: a number from 0 to 24 in whole or half hours (7, 7.5); kept as an int when whole."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidValue(field, f"{value!r} is not a number; give hours from 0 to 24, e.g. 7.5")
    if not 0 <= value <= 24:
        raise InvalidValue(field, f"{value:g} is out of range; allowed 0..24 hours")
    if (value * 2) != int(value * 2):
        raise InvalidValue(field, f"{value:g} is not allowed; give whole or half hours, e.g. 7 or 7.5")
    return int(value) if float(value).is_integer() else float(value)


#: What a sleep fact records; at least one of them (``sleep_values``).
SLEEP_FIELDS = ("hours", "quality", "position", "pain_morning")


FIELDS: dict[str, dict[str, Callable[[str, Any], Any]]] = {
    "log": {
        "sets": _opt_int(0, 50), "reps": _opt_int(0, 500), "hold_s": _opt_int(0, 3600), "load": _load,
        "pain_before": pain, "pain_during": pain, "pain_after": pain, "effort": pain,
        "tension": _tension, "note": _text(100_000),
    },
    "next-day": {"verdict": lambda f, v: one_of(f, v, VERDICTS), "pain": pain},
    "break": {"kind": lambda f, v: one_of(f, v, BREAK_KINDS), "seconds": _opt_int(1, 3600)},
    "checkin": {
        "pain": lambda f, v: int_in(f, v, 0, 10),
        "starts": lambda f, v: None if v is None else one_of(f, v, REGIONS),
        "travels": _regions, "note": _text(100_000),
    },
    "flare-start": {"pain": pain, "note": _text(100_000)},
    "flare-end": {"pain": pain, "note": _text(100_000)},
    "sleep": {
        "hours": _hours, "quality": _opt_int(0, 10),
        "position": lambda f, v: None if v is None else one_of(f, v, SLEEP_POSITIONS),
        "pain_morning": pain, "note": _text(100_000),
    },
}


def validate(command: str, values: dict[str, Any]) -> dict[str, Any]:
    """Check every value of a fact; the first bad one raises, naming its field."""
    spec = FIELDS[command]
    return {f: check(f.replace("hold_s", "hold"), values.get(f)) for f, check in spec.items()}


def sleep_values(values: dict[str, Any]) -> dict[str, Any]:
    """A night's sleep checked; one with none of hours, quality, position or morning pain is refused."""
    checked = validate("sleep", values)
    if all(checked[f] is None for f in SLEEP_FIELDS):
        raise InvalidValue("hours", "a sleep record needs at least one of hours, quality, position or pain_morning")
    return checked


ASSESS_CORRECTABLE = ("answers", "answers_yes_no", "activity", "pain")


def assessment_changes(target: dict, values: dict[str, Any]) -> dict[str, dict]:
    """A correction of an assessment: new answers (as ``assess`` takes them) and the score they give."""
    unknown = sorted(set(values) - set(ASSESS_CORRECTABLE))
    if unknown:
        raise InvalidValue(unknown[0], f"cannot be corrected on an assessment; correctable: "
                                       f"{', '.join(ASSESS_CORRECTABLE)} (as assess takes them)")
    if not values:
        raise Refused("no_change", "the correction changes nothing")
    answers, _ = outcomes.parse_answers(target["instrument"], values)
    new = {"answers": answers, "score": outcomes.score(target["instrument"], answers)}
    changes = {f: {"from": target.get(f), "to": v} for f, v in new.items() if target.get(f) != v}
    if not changes:
        raise Refused("no_change", "the correction changes nothing")
    return changes


class FactLog(Aggregate):
    """One month of one person's facts, with corrections and voids applied."""

    class Opened(Aggregate.Created):
        class_version = 1
        program_id: str
        month: str

    class Fact(Aggregate.Event):
        """Base of every fact: its id, when it happened, which device, which mutation."""

        class_version = 1  # bump with an upcast_vN_vM when the fields change

        fact_id: str
        occurred_at: datetime
        device_id: str
        mutation_id: str
        command = "fact"

        def values(self) -> dict[str, Any]:
            return {}

        def apply(self, log: FactLog) -> None:
            log.facts[self.fact_id] = {
                "id": self.fact_id, "type": self.command, "occurred_at": self.occurred_at.isoformat(),
                "key": time_key(self.occurred_at), "recorded_at": self.timestamp.isoformat(),
                "device_id": self.device_id, "voided": False, "corrections": 0, **self.values(),
            }

    class SessionLogged(Fact):
        exercise_id: str
        exercise_name: str
        session: dict
        command = "log"

        def values(self):
            return {"exercise_id": self.exercise_id, "exercise": self.exercise_name, **self.session}

    class NextDayRecorded(Fact):
        exercise_id: str
        exercise_name: str
        session_id: str | None
        response: dict
        command = "next-day"

        def values(self):
            return {"exercise_id": self.exercise_id, "exercise": self.exercise_name,
                    "session_id": self.session_id, **self.response}

    class MicroBreakTaken(Fact):
        details: dict
        command = "break"

        def values(self):
            return dict(self.details)

    class CheckedIn(Fact):
        details: dict
        command = "checkin"

        def values(self):
            return dict(self.details)

    class FlareStarted(Fact):
        details: dict
        command = "flare-start"

        def values(self):
            return dict(self.details)

    class FlareEnded(Fact):
        details: dict
        command = "flare-end"

        def values(self):
            return dict(self.details)

    class SleepRecorded(Fact):
        """A night's sleep, recorded the morning after: hours, quality 0..10, position, pain on waking."""

        class_version = 1
        details: dict
        command = "sleep"

        def values(self):
            return dict(self.details)

    class OutcomeAssessed(Fact):
        """An outcome measure: instrument and version, item answers, activity names (PSFS), score."""

        instrument: str
        instrument_version: str
        answers: Any
        activity_names: dict
        score: float
        command = "assess"

        def values(self):
            return {"instrument": self.instrument, "instrument_version": self.instrument_version,
                    "answers": self.answers, "activity_names": dict(self.activity_names), "score": self.score}

        def apply(self, log: FactLog) -> None:
            # Replayed or imported, the score is recomputed: an altered one is refused, never shown.
            outcomes.checked_score(self.instrument, self.answers, self.score, f"assessment {self.fact_id[:8]}")
            super().apply(log)

    class FactCorrected(Fact):
        target_id: str
        changes: dict
        reason: str | None
        command = "correct"

        def apply(self, log: FactLog) -> None:
            target = log.facts[self.target_id]
            target.update({f: c["to"] for f, c in self.changes.items()})
            target["corrections"] += 1
            if target["type"] == "assess":
                outcomes.checked_score(target["instrument"], target["answers"], target["score"],
                                       f"assessment {self.target_id[:8]}")

    class FactVoided(Fact):
        target_id: str
        reason: str | None
        command = "void"

        def apply(self, log: FactLog) -> None:
            log.facts[self.target_id]["voided"] = True

    # By name: the library replaces nested event classes after the class body runs.
    EVENTS = {"log": "SessionLogged", "next-day": "NextDayRecorded", "break": "MicroBreakTaken",
              "checkin": "CheckedIn", "flare-start": "FlareStarted", "flare-end": "FlareEnded",
              "assess": "OutcomeAssessed", "sleep": "SleepRecorded"}

    def __init__(self, program_id: str, month: str):
        self.program_id = program_id
        self.month = month
        self.facts: dict[str, dict] = {}

    @classmethod
    def open(cls, program_id: UUID | str, month: str) -> FactLog:
        return cls._create(cls.Opened, id=fact_log_id(program_id, month), program_id=str(program_id), month=month)

    def record(self, command: str, fact_id: str, occurred_at: datetime, recorded_at: datetime,
               device_id: str, mutation_id: str, **attrs: Any) -> None:
        """Record one fact; ``attrs`` are already validated by ``validate``."""
        check_time(occurred_at, recorded_at)
        if month_of(occurred_at) != self.month:
            raise InvalidValue("at", f"belongs to {month_of(occurred_at)}, not {self.month}")
        self.trigger_event(getattr(type(self), self.EVENTS[command]), fact_id=fact_id, occurred_at=occurred_at, device_id=device_id,
                           mutation_id=mutation_id, timestamp=recorded_at, **attrs)

    def _target(self, target_id: str) -> dict:
        target = self.facts.get(target_id)
        if target is None:
            raise NotFound("fact", f"no fact {target_id[:8]} in {self.month}")
        if target["voided"]:
            raise Refused("fact_voided", f"fact {target_id[:8]} is void; it cannot be changed")
        return target

    def correct(self, target_id: str, values: dict[str, Any], reason: str | None, fact_id: str,
                occurred_at: datetime, recorded_at: datetime, device_id: str, mutation_id: str) -> None:
        target = self._target(target_id)
        if target["type"] == "assess":
            changes = assessment_changes(target, values)
            self.trigger_event(self.FactCorrected, fact_id=fact_id, occurred_at=occurred_at, device_id=device_id,
                               mutation_id=mutation_id, timestamp=recorded_at, target_id=target_id,
                               changes=changes, reason=reason)
            return
        spec = FIELDS[target["type"]]
        unknown = sorted(set(values) - set(spec))
        if unknown:
            raise InvalidValue(unknown[0], f"cannot be corrected on a {target['type']} fact; "
                                           f"correctable: {', '.join(spec)}")
        checked = {f: spec[f](f, v) for f, v in values.items()}
        changes = {f: {"from": target.get(f), "to": v} for f, v in checked.items() if target.get(f) != v}
        if not changes:
            raise Refused("no_change", "the correction changes nothing")
        self.trigger_event(self.FactCorrected, fact_id=fact_id, occurred_at=occurred_at, device_id=device_id,
                           mutation_id=mutation_id, timestamp=recorded_at, target_id=target_id,
                           changes=changes, reason=reason)

    def void(self, target_id: str, reason: str | None, fact_id: str, occurred_at: datetime,
             recorded_at: datetime, device_id: str, mutation_id: str) -> None:
        self._target(target_id)
        if not reason or not reason.strip():
            raise InvalidValue("reason", "voiding a fact needs a reason")
        self.trigger_event(self.FactVoided, fact_id=fact_id, occurred_at=occurred_at, device_id=device_id,
                           mutation_id=mutation_id, timestamp=recorded_at, target_id=target_id, reason=reason)
