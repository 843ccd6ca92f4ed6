"""Export and import: the person's record as JSON lines of processed mutations.

The first line is a header; each following line is one applied mutation as it
was processed (id, type, args, valid time, device, recorded time), in recorded
order, or one the sync policy kept as a conflict (``"status": "conflict"``, its
``base_version`` and the conflict), which an import keeps as a conflict again. Importing re-runs them through the one command path with their
original ids and recorded times, so a restore into an empty store rebuilds the
same program, history and recap, and importing twice stores nothing twice.
A malformed file is refused before anything is applied.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any, Iterable, Iterator

from eventsourcing.persistence import IntegrityError

from domain.conflicts import ConflictLog
from domain.errors import DomainError, InvalidValue, Refused
from service.application import Ledger
from service.handling import RETRIES, Mutation, derived_id, handle, remember

FORMAT = "backstory-mutations"
# 2 added rows of mutations kept as conflicts; a backstory that reads only 1 refuses such a file
# rather than applying those stale decisions. A version-1 file (no conflict rows) still imports.
VERSION = 2
READS = (1, 2)
# What an exported conflict carries, so an import keeps it as it was (not applied, resolvable).
CONFLICT_KEYS = ("exercise_id", "exercise", "program_version", "reason", "theirs", "kept")


def export_lines(ledger: Ledger, exported_at: datetime) -> Iterator[str]:
    yield json.dumps({"format": FORMAT, "version": VERSION, "exported_at": exported_at.isoformat()})
    log = ledger.conflict_log()
    for event in ledger.mutation_records():
        row = {"mutation_id": event.mutation_id, "type": event.mutation_type,
               "occurred_at": event.occurred_at.isoformat(), "device_id": event.device_id,
               "args": event.args, "recorded_at": event.timestamp.isoformat()}
        if event.status == "conflict" and log is not None and event.result["conflict"]["id"] in log.conflicts:
            kept = log.conflicts[event.result["conflict"]["id"]]
            row.update(status="conflict", base_version=event.base_version,
                       conflict={k: kept[k] for k in CONFLICT_KEYS})
        elif event.status != "applied":
            continue
        else:  # a stale winner: when it took effect and what it overrode (``service.overrides``)
            row.update({k: event.result[k] for k in ("effective_at", "overrides") if k in event.result})
        yield json.dumps(row, ensure_ascii=False, sort_keys=True)


def _parse(number: int, line: str) -> tuple[Mutation, datetime]:
    where = f"line {number}"
    try:
        row = json.loads(line)
        mutation = Mutation(
            mutation_id=str(row["mutation_id"]), type=str(row["type"]),
            occurred_at=datetime.fromisoformat(row["occurred_at"]), device_id=str(row["device_id"]),
            args=dict(row.get("args") or {}),
            effective_at=datetime.fromisoformat(row["effective_at"]) if row.get("effective_at") else None,
            overrides=tuple(str(i) for i in row.get("overrides") or ()),
        )
        if row.get("status", "applied") != "applied":
            mutation = _as_conflict(mutation, row)
        recorded = datetime.fromisoformat(row["recorded_at"])
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidValue(where, f"is not an exported mutation ({e.__class__.__name__}: {e})") from None
    if recorded.tzinfo is None or mutation.occurred_at.tzinfo is None or (
            mutation.effective_at is not None and mutation.effective_at.tzinfo is None):
        raise InvalidValue(where, "times need a time zone offset")
    return mutation, recorded


def _as_conflict(mutation: Mutation, row: dict) -> Mutation:
    if row["status"] != "conflict":
        raise ValueError(f"status {row['status']!r} is not one of applied, conflict")
    base_version, conflict = row["base_version"], dict(row["conflict"])
    missing = [k for k in CONFLICT_KEYS if k not in conflict]
    if missing or not (base_version is None or isinstance(base_version, int)):
        raise ValueError(f"a conflict needs base_version and {', '.join(CONFLICT_KEYS)}")
    return replace(mutation, base_version=base_version, conflict=conflict)


def read_export(lines: Iterable[str]) -> list[tuple[Mutation, datetime]]:
    """Parse and check a whole export before anything is applied."""
    rows = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    if not rows:
        raise InvalidValue("file", "is empty")
    try:
        header = json.loads(rows[0][1])
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InvalidValue("line 1", f"is not a backstory export header (format {FORMAT!r})")
    if header.get("version") not in READS:
        raise InvalidValue("line 1", f"export version {header.get('version')!r} is not supported "
                                     f"(this backstory reads {', '.join(map(str, READS))})")
    return [_parse(n, line) for n, line in rows[1:]]


def import_mutations(ledger: Ledger, rows: list[tuple[Mutation, datetime]]) -> dict[str, Any]:
    """Apply each exported mutation once; report what was applied, already there, or refused."""
    counts: dict[str, Any] = {"applied": 0, "duplicate": 0, "refused": []}
    for mutation, recorded_at in rows:
        if mutation.conflict is not None:
            status = _restore_conflict(ledger, mutation, recorded_at)
            counts[status] = counts.get(status, 0) + 1
            continue
        # Each was applied where it was exported, and replayed in recorded order it meets the same
        # program: a late retire/deconstruct that won over later decisions wins again, a fact is kept.
        replayed = replace(mutation, accepted=True, supersede_later=mutation.type in ("retire", "deconstruct"))
        try:
            result = handle(ledger, replayed, recorded_at=recorded_at)
        except DomainError as e:
            counts["refused"].append({"mutation_id": mutation.mutation_id, "type": mutation.type, "error": str(e)})
            continue
        counts[result["status"]] += 1
    return counts


def _restore_conflict(ledger: Ledger, m: Mutation, recorded_at: datetime) -> str:
    """Keep an exported conflict as it was: in the conflict log, with its outcome, the decision not applied."""
    c = m.conflict
    conflict_id = derived_id(m.mutation_id, "conflict")
    result = {"conflict": {"id": conflict_id, "reason": c["reason"], "exercise": c["exercise"],
                           "theirs": c["theirs"], "kept": c["kept"]}}
    for _ in range(RETRIES):
        uow = ledger.unit_of_work()
        if uow.mutation_record(m.mutation_id) is not None:
            return "duplicate"
        log = uow.conflict_log() or ConflictLog.open(uow.program_id)
        log.record(conflict_id, recorded_at, mutation_id=m.mutation_id, mutation_type=m.type, device_id=m.device_id,
                   occurred_at=m.occurred_at, args=m.args, base_version=m.base_version,
                   program_version=c["program_version"], exercise_id=c["exercise_id"], exercise_name=c["exercise"],
                   reason=c["reason"], theirs=c["theirs"], kept=c["kept"])
        uow.add(log)
        remember(uow, m, "conflict", result, recorded_at)
        try:
            uow.save()
        except IntegrityError:
            continue
        return "conflict"
    raise Refused("busy", "the program kept changing while this was imported; try again")
