"""A bitemporal index of the program: every field's values along valid and recorded time.

Decisions carry absolute values for the fields they change ("effects"). For
each entity (the program itself, or one exercise) and each field, the index
keeps the values sorted by valid time (``occurred_at``, ties broken by the
order they were recorded). The program as of D, as known at T, is then the
last visible value of every field: a binary search per field, not a replay of
the whole history. ``fold`` is the plain replay it must always agree with.

The index is a plain dict of lists so it snapshots as JSON without help.
Times are kept as fixed-width UTC strings, which sort like the instants.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timezone
from typing import Any, Iterable, Protocol

PROGRAM = "program"
_BEYOND = 2**62


def time_key(moment: datetime) -> str:
    """A fixed-width UTC string that sorts like the instant it names."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


class HasEffects(Protocol):
    occurred_at: datetime
    originator_version: int
    timestamp: datetime

    def effects(self) -> list[tuple[str, str, Any]]: ...


Index = dict[str, dict[str, list[list]]]


def _order(entry: list) -> tuple[str, int]:
    return entry[0], entry[1]


def record(index: Index, event: HasEffects) -> None:
    """Put one decision's effects into the index at its valid-time place."""
    record_effects(index, event.occurred_at, event.originator_version, event.timestamp, event.effects())


def record_effects(index: Index, occurred_at: datetime, version: int, recorded_at: datetime,
                   effects: list[tuple[str, str, Any]]) -> None:
    key, recorded = time_key(occurred_at), time_key(recorded_at)
    for entity, name, value in effects:
        entries = index.setdefault(entity, {}).setdefault(name, [])
        pos = bisect_right(entries, (key, version), key=_order)
        entries.insert(pos, [key, version, recorded, value])


def _visible(entries: list[list], as_of: str, known_at: str | None) -> Any:
    pos = bisect_right(entries, (as_of, _BEYOND), key=_order)
    while pos > 0:
        pos -= 1
        if known_at is None or entries[pos][2] <= known_at:
            return entries[pos]
    return None


def state_at(index: Index, as_of: datetime, known_at: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Every entity's fields as of valid time ``as_of``, seeing only what was recorded by ``known_at``."""
    as_key = time_key(as_of)
    known_key = None if known_at is None else time_key(known_at)
    state: dict[str, dict[str, Any]] = {}
    for entity, fields in index.items():
        seen = {}
        for name, entries in fields.items():
            hit = _visible(entries, as_key, known_key)
            if hit is not None:
                seen[name] = hit[3]
        if seen:
            state[entity] = seen
    return state


def last_change(index: Index, entity: str) -> str | None:
    """The valid-time key of the latest decision that touched an entity."""
    fields = index.get(entity, {})
    return max((entries[-1][0] for entries in fields.values() if entries), default=None)


def fold(decisions: Iterable[HasEffects], as_of: datetime, known_at: datetime | None = None) -> dict[str, dict[str, Any]]:
    """The plain replay: apply every visible decision in valid-time order."""
    as_key = time_key(as_of)
    known_key = None if known_at is None else time_key(known_at)
    visible = [
        d for d in decisions
        if time_key(d.occurred_at) <= as_key and (known_key is None or time_key(d.timestamp) <= known_key)
    ]
    visible.sort(key=lambda d: (time_key(d.occurred_at), d.originator_version))
    state: dict[str, dict[str, Any]] = {}
    for d in visible:
        for entity, name, value in d.effects():
            state.setdefault(entity, {})[name] = value
    return state
