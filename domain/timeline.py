"""A bitemporal index of the program: every field's values along valid and recorded time.

Decisions carry absolute values for the fields they change ("effects"). For
each entity (the program itself, or one exercise) and each field, the index
keeps the values sorted by valid time (``occurred_at``, ties broken by the
order they were recorded). The program as of D, as known at T, is then the
last visible value of every field: a binary search per field, not a replay of
the whole history. ``fold`` is the plain replay it must always agree with.

The index is plain dicts, lists and strings, so it snapshots as JSON without
help. Times are kept as fixed-width UTC strings, which sort like the instants.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Protocol

PROGRAM = "program"
_BEYOND = 2**62


def time_key(moment: datetime) -> str:
    """A fixed-width UTC string that sorts like the instant it names."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


_EPOCH = datetime(1900, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # ascending in ASCII
KEY_WIDTH = 10  # 62**10 microseconds: beyond the year 20000


def index_key(moment: datetime) -> str:
    """The index's own time key: microseconds since 1900 in 10 base-62 digits; sorts like the instants.

    A third of a ``time_key``: the index holds two keys per entry, so this is most of
    what a snapshot of a long history weighs.
    """
    n = max((moment - _EPOCH) // _MICROSECOND, 0)
    digits = []
    for _ in range(KEY_WIDTH):
        n, r = divmod(n, 62)
        digits.append(_DIGITS[r])
    return "".join(reversed(digits))


def key_time(key: str) -> datetime:
    """The instant an ``index_key`` names (UTC)."""
    n = 0
    for c in key:
        n = n * 62 + _DIGITS.index(c)
    return _EPOCH + n * _MICROSECOND


class HasEffects(Protocol):
    occurred_at: datetime
    originator_version: int
    timestamp: datetime

    def effects(self) -> list[tuple[str, str, Any]]: ...


# Each field's entries, in valid-time order (ties: recorded order), kept in columns:
# [valid keys, versions, recorded keys, values], the keys (``index_key``) of all entries
# concatenated into one string. A snapshot of a long history then decodes a few
# objects per field instead of a list and two strings per entry: loading the program, the
# cost of a cold "as of", grows much less with the history.
Column = list  # [str, list[int], str, list[Any]]
Index = dict[str, dict[str, Column]]
_ABSENT = object()


def _key_at(keys: str, i: int) -> str:
    return keys[i * KEY_WIDTH:(i + 1) * KEY_WIDTH]


def _after(column: Column, key: str, version: int) -> int:
    """Where (key, version) goes among the entries: after every entry not later than it."""
    keys, versions = column[0], column[1]
    lo, hi = 0, len(versions)
    if hi and keys[-KEY_WIDTH:] < key:
        return hi
    while lo < hi:
        mid = (lo + hi) // 2
        k = _key_at(keys, mid)
        if key < k or (key == k and version < versions[mid]):
            hi = mid
        else:
            lo = mid + 1
    return lo


def record(index: Index, event: HasEffects) -> None:
    """Put one decision's effects into the index at its valid-time place."""
    record_effects(index, event.occurred_at, event.originator_version, event.timestamp, event.effects())


def record_effects(index: Index, occurred_at: datetime, version: int, recorded_at: datetime,
                   effects: list[tuple[str, str, Any]]) -> None:
    key, recorded = index_key(occurred_at), index_key(recorded_at)
    for entity, name, value in effects:
        column = index.setdefault(entity, {}).setdefault(name, ["", [], "", []])
        pos = _after(column, key, version)
        at = pos * KEY_WIDTH
        column[0] = column[0][:at] + key + column[0][at:]
        column[1].insert(pos, version)
        column[2] = column[2][:at] + recorded + column[2][at:]
        column[3].insert(pos, value)


def earliest_wins(entity: str, name: str) -> bool:
    """The one field whose earliest value stands: the program's start, which a backfill moves back.

    Every other field's value is its latest; the start is the first "started" (``Program.StartMovedBack``).
    """
    return entity == PROGRAM and name == "started"


def _visible(column: Column, as_of: str, known_at: str | None, earliest: bool = False) -> Any:
    pos = _after(column, as_of, _BEYOND)
    if known_at is None:
        return (column[3][0 if earliest else pos - 1]) if pos else _ABSENT
    recorded = column[2]
    for i in (range(pos) if earliest else range(pos - 1, -1, -1)):
        if _key_at(recorded, i) <= known_at:
            return column[3][i]
    return _ABSENT


def state_at(index: Index, as_of: datetime, known_at: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Every entity's fields as of valid time ``as_of``, seeing only what was recorded by ``known_at``."""
    as_key = index_key(as_of)
    known_key = None if known_at is None else index_key(known_at)
    state: dict[str, dict[str, Any]] = {}
    for entity, fields in index.items():
        seen = {}
        for name, column in fields.items():
            value = _visible(column, as_key, known_key, earliest_wins(entity, name))
            if value is not _ABSENT:
                seen[name] = value
        if seen:
            state[entity] = seen
    return state


def last_change(index: Index, entity: str) -> datetime | None:
    """The valid time of the latest decision that touched an entity."""
    fields = index.get(entity, {})
    latest_key = max((column[0][-KEY_WIDTH:] for column in fields.values() if column[1]), default=None)
    return None if latest_key is None else key_time(latest_key)


def next_entry(index: Index, entity: str, name: str, moment: datetime) -> tuple[datetime, Any] | None:
    """A field's first value after valid time ``moment`` (what a decision at ``moment`` comes before)."""
    column = index.get(entity, {}).get(name)
    if not column:
        return None
    pos = _after(column, index_key(moment), _BEYOND)
    if pos >= len(column[1]):
        return None
    return key_time(_key_at(column[0], pos)), column[3][pos]


def last_entry(index: Index, entity: str, name: str) -> tuple[datetime, Any] | None:
    """A field's value latest in valid time, and that time."""
    column = index.get(entity, {}).get(name)
    if not column or not column[1]:
        return None
    return key_time(column[0][-KEY_WIDTH:]), column[3][-1]


def entries(index: Index, entity: str, name: str) -> list[tuple[datetime, datetime, Any]]:
    """A field's every entry as (valid time, recorded time, value), in valid-time order."""
    column = index.get(entity, {}).get(name)
    if not column:
        return []
    return [(key_time(_key_at(column[0], i)), key_time(_key_at(column[2], i)), v) for i, v in enumerate(column[3])]


def values(index: Index, entity: str, name: str) -> list[Any]:
    """Every value a field has had, in valid-time order."""
    column = index.get(entity, {}).get(name)
    return list(column[3]) if column else []


def earliest(index: Index, entity: str, name: str) -> Any:
    """A field's value earliest in valid time (None when it never had one)."""
    column = index.get(entity, {}).get(name)
    return column[3][0] if column and column[1] else None


def from_entries(old: dict[str, dict[str, list[list]]]) -> Index:
    """The index from its first stored form: a list of [time_key, version, time_key, value] per field."""
    def key(text: str) -> str:
        return index_key(datetime.fromisoformat(text).replace(tzinfo=timezone.utc))

    return {entity: {name: ["".join(key(e[0]) for e in entries), [e[1] for e in entries],
                            "".join(key(e[2]) for e in entries), [e[3] for e in entries]]
                     for name, entries in fields.items()}
            for entity, fields in old.items()}


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
            fields = state.setdefault(entity, {})
            if not (name in fields and earliest_wins(entity, name)):
                fields[name] = value
    return state
