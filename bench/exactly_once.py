"""The exactly-once rule, stated once for every harness that checks a store after load or crashes.

``bench/load_checks.py`` (the load bench and tests/reliability/test_load.py), the crash checks
(tests/reliability/_crash_checks.py) and the PostgreSQL concurrency test all count, per mutation id,
the fact events, program events and conflict records a store holds, and ask this module whether
they match the mutation's stored outcome.
"""

from __future__ import annotations

from typing import Any, Iterable

from domain.facts import FactLog

#: Mutation types that record a fact (one fact event when applied); every other type is a decision.
FACT_TYPES = frozenset(FactLog.EVENTS)


def overridden_edits(records: Iterable[Any]) -> set[str]:
    """Edits a later-arriving winner overrode, as its result names them: applied, then kept as a conflict."""
    return {mid for r in records if r.status == "applied" for mid in (r.result or {}).get("overrides") or ()}


def effects_ok(mutation_type: str, status: str, facts: int, conflicts: int, decisions: int | None = None,
               overridden: bool = False) -> bool:
    """A mutation's events match its outcome: all of its effect, once, or nothing.

    A rejected mutation left nothing; a conflict one conflict record; an applied fact one fact event;
    an applied decision its program events (one, or two when it moved the program's start back:
    counted only when ``decisions`` is given) and a conflict record only if a later winner overrode it.
    """
    if status == "rejected":
        return (facts, conflicts, decisions or 0) == (0, 0, 0)
    if status == "conflict":
        return (facts, conflicts, decisions or 0) == (0, 1, 0)
    if status != "applied":
        return False
    if mutation_type in FACT_TYPES:
        return (facts, conflicts) == (1, 0) and not decisions
    return (facts, conflicts) == (0, 1 if overridden else 0) and (decisions is None or decisions >= 1)
