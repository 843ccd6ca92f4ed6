"""Export and import: the person's record as JSON lines (``service.export_file``), and putting it back.

An import is checked whole before anything is applied: every line must be an
exported mutation, the file an export of this store's program (same ``init``) or
the store empty, and its history must replay on this store's program. Then each
runs through the one command path with its original ids and recorded times (the
conflicts are kept as conflicts again, the pending changes applied as new ones),
so a restore rebuilds the same program and importing twice stores nothing twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Iterable

from eventsourcing.persistence import IntegrityError

from domain.conflicts import ConflictLog
from domain.errors import DomainError, InvalidValue, Refused
from domain.mutations import mutation_record_id
from service import args as argspec
from service.application import Ledger, UnitOfWork
from service.export_file import Export, Row, export_lines, program_origin, read_export
from service.handling import RETRIES, handle, remember, run
from service.mutation import derived_id, Mutation

__all__ = ["Export", "Row", "check_belongs", "check_fits", "export_lines", "import_mutations", "read_export",
           "rebased", "unknown_rows"]
CHECK_BATCH = 500


def check_belongs(ledger: Ledger, export: Export, pending: Iterable[Mutation] = ()) -> None:
    """Refuse an export of another program (another ``init``) before anything is applied."""
    ours, theirs = program_origin(ledger, pending), export.program
    if ours is None or theirs is None or ours["init_mutation_id"] == theirs["init_mutation_id"]:
        return
    raise Refused("other_program", f"this file is an export of another program ({_describe(theirs)}); this "
                                   f"store holds {_describe(ours)}. Nothing was imported. Import it into an "
                                   "empty store (another --db, or another BACKSTORY_HOME), or add its changes to "
                                   "this program with `import --into-this-program` (each must fit, or none is)")


def rebased(export: Export, now: datetime) -> Export:
    """Another program's export as new changes to this one: its ``init`` and its own sync's conflicts left
    out, every other change recorded ``now`` and judged as new (a fact must name an exercise it has)."""
    return Export(None, [Row(r.line, replace(r.mutation, base_version=None), now, rebased=True)
                         for r in export.rows if r.mutation.type != "init" and r.mutation.conflict is None])


def _describe(program: dict) -> str:
    return f"{program['name']!r}, started {program['started'][:10]}, init {program['init_mutation_id'][:8]}"


def unknown_rows(ledger: Ledger, rows: list[Row], uow: UnitOfWork | None = None) -> list[Row]:
    """The rows whose mutation this program has not processed, each mutation once."""
    uow = uow or ledger.unit_of_work()
    out, seen = [], set()
    for i in range(0, len(rows), CHECK_BATCH):
        chunk = rows[i:i + CHECK_BATCH]
        uow.prefetch([mutation_record_id(ledger.program_id, r.mutation.mutation_id) for r in chunk])
        for r in chunk:
            if r.mutation.mutation_id not in seen and uow.mutation_record(r.mutation.mutation_id) is None:
                seen.add(r.mutation.mutation_id)
                out.append(r)
    return out


def _as_run(row: Row) -> Mutation:
    """The mutation as this import runs it: a pending or re-based change as a new one; the rest replayed."""
    m = row.mutation
    if row.pending or row.rebased:
        return m
    # Each was applied where it was exported, and replayed in recorded order it meets the same
    # program: a late retire/deconstruct that won over later decisions wins again, a fact is kept.
    return replace(m, accepted=True, supersede_later=m.type in ("retire", "deconstruct"))


def check_fits(ledger: Ledger, export: Export) -> None:
    """Replay the file's history on this program in memory; refuse the whole import at the first that does not fit.

    Pending changes are not part of the history: each is judged on its own when
    applied, like any new change.
    """
    uow = ledger.unit_of_work()
    if uow.program() is not None:
        advice = "Import it into an empty store (another --db, or another BACKSTORY_HOME)"
    elif any(r.rebased for r in export.rows):
        advice = "This store has no program to add it to: import it without --into-this-program"
    else:
        advice = "The file's own history does not replay: was it edited by hand?"
    for row in unknown_rows(ledger, [r for r in export.rows if not r.pending], uow):
        m = row.mutation
        try:
            if m.conflict is not None:
                _stage_conflict(uow, m, row.recorded_at)
                continue
            step = run(uow, _as_run(row), argspec.parse(m.type, m.args), row.recorded_at)
            remember(uow, m, "applied", step.result, row.recorded_at)
        except InvalidValue as e:
            raise InvalidValue(f"line {row.line}", f"{m.type} {m.mutation_id}: {e}. Nothing was imported") from None
        except DomainError as e:
            raise Refused("export_does_not_fit", f"line {row.line}: {m.type} {m.mutation_id} does not fit this "
                                                 f"store's program ({e}). Nothing was imported. {advice}") from None


def import_mutations(ledger: Ledger, export: Export) -> dict[str, Any]:
    """Check the whole export, then apply each mutation once; report what was applied, already there, or refused."""
    check_belongs(ledger, export)
    check_fits(ledger, export)
    counts: dict[str, Any] = {"applied": 0, "duplicate": 0, "refused": []}
    for row in export.rows:
        m = row.mutation
        if m.conflict is not None:
            status = _restore_conflict(ledger, m, row.recorded_at)
            counts[status] = counts.get(status, 0) + 1
            continue
        try:
            result = handle(ledger, _as_run(row), recorded_at=row.recorded_at)
        except DomainError as e:
            counts["refused"].append({"line": row.line, "mutation_id": m.mutation_id, "type": m.type,
                                      "error": str(e)})
            continue
        counts[result["status"]] += 1
    return counts


def _stage_conflict(uow: UnitOfWork, m: Mutation, recorded_at: datetime) -> None:
    """Record an exported conflict in the unit: in the conflict log, with its outcome, the decision not applied."""
    c = m.conflict
    conflict_id = derived_id(m.mutation_id, "conflict")
    result = {"conflict": {"id": conflict_id, "reason": c["reason"], "exercise": c["exercise"],
                           "theirs": c["theirs"], "kept": c["kept"]}}
    log = uow.conflict_log() or ConflictLog.open(uow.program_id)
    log.record(conflict_id, recorded_at, mutation_id=m.mutation_id, mutation_type=m.type, device_id=m.device_id,
               occurred_at=m.occurred_at, args=m.args, base_version=m.base_version,
               program_version=c["program_version"], exercise_id=c["exercise_id"], exercise_name=c["exercise"],
               reason=c["reason"], theirs=c["theirs"], kept=c["kept"])
    uow.add(log)
    remember(uow, m, "conflict", result, recorded_at)


def _restore_conflict(ledger: Ledger, m: Mutation, recorded_at: datetime) -> str:
    """Keep an exported conflict as it was, saved on its own."""
    for _ in range(RETRIES):
        uow = ledger.unit_of_work()
        if uow.mutation_record(m.mutation_id) is not None:
            return "duplicate"
        _stage_conflict(uow, m, recorded_at)
        try:
            uow.save()
        except IntegrityError:
            continue
        return "conflict"
    raise Refused("busy", "the program kept changing while this was imported; try again")
