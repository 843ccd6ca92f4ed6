"""The rules that turn facts into insights: versioned values a person can tune with a recorded decision.

Each rule has an id, a version (the version of the rule's *logic*, bumped when the
code that applies it changes meaning) and parameters with documented defaults. A
person changes the parameters with ``backstory policy set NAME --PARAM VALUE
--reason TEXT``: a ``Program.PolicyChanged`` decision, bitemporal like every other,
so a result is always computed under the parameters in force at the fact's valid
time, and a policy changed today leaves last month's lights as they were.

The numbers are heuristics drawn from the clinical literature on pain monitoring
and graded exposure, not diagnoses; ``README.md`` says where each comes from.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

from domain.errors import InvalidValue


def _int(low: int, high: int) -> Callable[[str, Any], int]:
    def check(name: str, value: Any) -> int:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidValue(name, f"{value!r} is not allowed; a whole number from {low} to {high}")
        return value
    check.describe = f"whole number {low}..{high}"  # type: ignore[attr-defined]
    return check


def _ratio(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if isinstance(value, bool) or not 0.0 <= number <= 1.0:
        raise InvalidValue(name, f"{value!r} is not allowed; a share from 0 to 1, e.g. 0.6")
    return number


_ratio.describe = "share 0..1"  # type: ignore[attr-defined]


def _clock(name: str, value: Any) -> str:
    text = str(value).strip()
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts) \
            or int(parts[0]) > 23 or int(parts[1]) > 59:
        raise InvalidValue(name, f"{value!r} is not allowed; a clock time HH:MM from 00:00 to 23:59")
    return text


_clock.describe = "clock time HH:MM"  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Definition:
    """One rule: its id, the version of its logic, its parameters' defaults and checks, what it is for."""

    rule_id: str
    version: int
    defaults: dict[str, Any]
    checks: dict[str, Callable[[str, Any], Any]]
    summary: str

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        """Every given parameter checked; an unknown one raises naming the allowed ones."""
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise InvalidValue(unknown[0], f"is not a parameter of policy {self.rule_id}; "
                                           f"allowed: {', '.join(sorted(self.defaults))}")
        return {name: self.checks[name](name, value) for name, value in params.items()}


DEFINITIONS: dict[str, Definition] = {d.rule_id: d for d in (
    Definition(
        "pain-monitoring", 1,
        {"green_max": 2, "amber_max": 5, "next_day_rise": 2},
        {"green_max": _int(0, 10), "amber_max": _int(0, 10), "next_day_rise": _int(1, 10)},
        "a session's light: green when pain during is at most green_max, amber when at most amber_max, "
        "red above; red also when the next day is 'worse' or next-day pain is at least pain before + next_day_rise",
    ),
    Definition(
        "micro-breaks", 1,
        {"waking_start": "08:00", "waking_end": "22:00", "max_gap_min": 60},
        {"waking_start": _clock, "waking_end": _clock, "max_gap_min": _int(5, 24 * 60)},
        "waking hours in the program's time zone and the longest stretch without a break (minutes)",
    ),
    Definition(
        "fittings", 1,
        {"min_days": 7, "max_days": 14},
        {"min_days": _int(1, 365), "max_days": _int(1, 365)},
        "a fitting lasts min_days to max_days; past max_days the next one is due",
    ),
    Definition(
        "tension-suggestions", 1,
        {"last_sessions": 3, "min_hits": 2, "asymmetry_points": 2, "asymmetry_sessions": 2, "one_sided_sessions": 3},
        {"last_sessions": _int(1, 50), "min_hits": _int(1, 50), "asymmetry_points": _int(1, 10),
         "asymmetry_sessions": _int(1, 50), "one_sided_sessions": _int(1, 50)},
        "suggestions from tension: a muscle grabbing in min_hits of an exercise's last_sessions; sides whose "
        "mean intensity differs by asymmetry_points over asymmetry_sessions, or one side in one_sided_sessions",
    ),
    Definition(
        "signature-evidence", 1,
        {"window_days": 42, "min_exposures": 5, "min_days": 3, "max_pain_during": 5,
         "min_relief_ratio": 0.6, "relief_points": 1},
        {"window_days": _int(1, 366), "min_exposures": _int(1, 500), "min_days": _int(1, 366),
         "max_pain_during": _int(0, 10), "min_relief_ratio": _ratio, "relief_points": _int(0, 10)},
        "the evidence an exercise needs to enter the signature library (SPEC 3.2)",
    ),
    Definition(
        "kit", 1,
        {"rep_seconds": 4, "rest_seconds": 30, "hold_default_s": 10},
        {"rep_seconds": _int(1, 60), "rest_seconds": _int(0, 600), "hold_default_s": _int(1, 600)},
        "a kit's time estimate: sets x (reps x rep_seconds, or the hold) + rest_seconds between sets",
    ),
)}


def definition(name: str) -> Definition:
    if name not in DEFINITIONS:
        raise InvalidValue("policy", f"{name!r} is not a policy; known: {', '.join(sorted(DEFINITIONS))}")
    return DEFINITIONS[name]


def changed_params(name: str, current: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The whole parameter set after ``given`` changes ``current``; checked as a whole."""
    rule = definition(name)
    if not given:
        raise InvalidValue("params", f"give at least one parameter to change; {name} has: "
                                     f"{', '.join(f'--{p.replace(chr(95), chr(45))}' for p in rule.defaults)}")
    after = {**current, **rule.check(given)}
    if name == "pain-monitoring" and after["green_max"] > after["amber_max"]:
        raise InvalidValue("green_max", f"must not be above amber_max ({after['amber_max']})")
    if name == "fittings" and after["min_days"] > after["max_days"]:
        raise InvalidValue("min_days", f"must not be above max_days ({after['max_days']})")
    if name == "micro-breaks" and after["waking_start"] >= after["waking_end"]:
        raise InvalidValue("waking_start", f"must be before waking_end ({after['waking_end']})")
    return after


@dataclass(frozen=True)
class Policy:
    """A rule as in force at some moment: id, logic version, parameters."""

    rule_id: str
    version: int
    params: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    def ref(self) -> dict[str, Any]:
        """How a result names the rule that produced it."""
        return {"id": self.rule_id, "version": self.version, "params": dict(self.params)}


def default(name: str) -> Policy:
    rule = definition(name)
    return Policy(rule.rule_id, rule.version, dict(rule.defaults))


@dataclass
class PolicyBook:
    """Every policy change, by valid time: which parameters were in force at any moment.

    Built from the program's own index (``Program.policy_book``) or from history entries
    (the read models), so both faces answer with the same rules.
    """

    changes: dict[str, list[tuple[datetime, dict[str, Any]]]] = field(default_factory=dict)

    @classmethod
    def from_changes(cls, changes: Iterable[tuple[str, datetime, dict[str, Any]]]) -> PolicyBook:
        """``changes``: (policy name, valid time, parameters after), in the order they were recorded."""
        book = cls()
        for name, at, params in changes:
            book.changes.setdefault(name, []).append((at, params))
        for entries in book.changes.values():
            entries.sort(key=lambda e: e[0])  # stable: recorded order among equal valid times
        return book

    @classmethod
    def from_entries(cls, entries: Iterable[dict[str, Any]]) -> PolicyBook:
        """From history entries (``service.queries.history``'s form) of ``policy-set`` decisions."""
        return cls.from_changes(
            (e["to"]["policy"], datetime.fromisoformat(e["occurred_at"]), e["to"]["params"])
            for e in entries if e.get("type") == "policy-set"
        )

    def at(self, name: str, moment: datetime) -> Policy:
        """The policy in force at valid time ``moment`` (its defaults before any change)."""
        rule = definition(name)
        entries = self.changes.get(name, [])
        pos = bisect.bisect_right([at for at, _ in entries], moment)
        params = {**rule.defaults, **entries[pos - 1][1]} if pos else dict(rule.defaults)
        return Policy(rule.rule_id, rule.version, params)

    def lookup(self, name: str) -> Callable[[datetime], Policy]:
        """``at(name, moment)`` as a function, for many moments: each policy in force is built once."""
        rule = definition(name)
        entries = self.changes.get(name, [])
        times = [at for at, _ in entries]
        versions = [Policy(rule.rule_id, rule.version, dict(rule.defaults))]
        versions += [Policy(rule.rule_id, rule.version, {**rule.defaults, **params}) for _, params in entries]
        return lambda moment: versions[bisect.bisect_right(times, moment)]

    def current(self, name: str) -> Policy:
        entries = self.changes.get(name, [])
        return self.at(name, entries[-1][0]) if entries else default(name)
