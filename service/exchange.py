"""Export and import: the person's record as JSON lines of processed mutations.

The header names the program (its ``init`` mutation, name, zone, start). Then every
processed mutation in recorded order (id, type, args, valid and recorded time,
device), those the sync kept as conflicts with ``"status": "conflict"`` (imported
as conflicts again), and last a linked device's changes still in its outbox,
``"status": "pending"`` with no recorded time (imported as new changes).

An import is checked whole before anything is applied: every line must be an
exported mutation, the file an export of this store's program (same ``init``) or
the store empty, and its history must replay on this store's program. Then each
runs through the one command path with its original ids and recorded times, so a
restore rebuilds the same program and importing twice stores nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterable, Iterator

from eventsourcing.persistence import IntegrityError

from domain.conflicts import ConflictLog
from domain.errors import DomainError, InvalidValue, Refused
from domain.mutations import mutation_record_id
from service import args as argspec
from service.application import Ledger, UnitOfWork
from service.handling import RETRIES, Mutation, derived_id, handle, remember, run

FORMAT = "backstory-mutations"
# 2 added rows of mutations kept as conflicts; 3 added a linked device's pending changes and the header's
# ``program``. A backstory that reads only older versions refuses a newer file rather than applying
# part of it (dropping pending rows, or conflicts as plain decisions). Versions 1 and 2 still import.
VERSION = 3
READS = (1, 2, 3)
# What an exported conflict carries, so an import keeps it as it was (not applied, resolvable).
CONFLICT_KEYS = ("exercise_id", "exercise", "program_version", "reason", "theirs", "kept")
PROGRAM_KEYS = ("init_mutation_id", "name", "timezone", "started")
CHECK_BATCH = 500


@dataclass(frozen=True)
class Row:
    """One exported mutation: its line in the file, the mutation, its recorded time (None while pending)."""

    line: int
    mutation: Mutation
    recorded_at: datetime | None

    @property
    def pending(self) -> bool:
        return self.recorded_at is None


@dataclass(frozen=True)
class Export:
    """A whole export file, checked line by line: the program it is of (None for an empty one) and its rows."""

    program: dict | None
    rows: list[Row]


def program_origin(ledger: Ledger) -> dict | None:
    """The program a store holds, as an export header names it: its ``init`` mutation, name, zone and start."""
    first = list(ledger.app.events.get(ledger.program_id, lte=1))
    if not first:
        return None
    started = first[0]
    return {"init_mutation_id": started.mutation_id, "name": started.name, "timezone": started.timezone,
            "started": started.occurred_at.isoformat()}


def export_lines(ledger: Ledger, exported_at: datetime, pending: Iterable[Mutation] = ()) -> Iterator[str]:
    """The header, every processed mutation in recorded order, then ``pending`` (a linked device's outbox)."""
    yield json.dumps({"format": FORMAT, "version": VERSION, "exported_at": exported_at.isoformat(),
                      "program": program_origin(ledger)}, ensure_ascii=False)
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
        yield json.dumps(row, ensure_ascii=False, sort_keys=True)
    for m in pending:
        yield json.dumps({"mutation_id": m.mutation_id, "type": m.type, "occurred_at": m.occurred_at.isoformat(),
                          "device_id": m.device_id, "args": m.args, "status": "pending",
                          "base_version": m.base_version}, ensure_ascii=False, sort_keys=True)


def _parse(number: int, line: str) -> Row:
    where = f"line {number}"
    try:
        row = json.loads(line)
        mutation = Mutation(
            mutation_id=str(row["mutation_id"]), type=str(row["type"]),
            occurred_at=datetime.fromisoformat(row["occurred_at"]), device_id=str(row["device_id"]),
            args=dict(row.get("args") or {}),
        )
        status = row.get("status", "applied")
        if status == "conflict":
            mutation = _as_conflict(mutation, row)
        elif status == "pending":
            mutation = replace(mutation, base_version=_base_version(row))
        elif status != "applied":
            raise ValueError(f"status {status!r} is not one of applied, conflict, pending")
        recorded = None if status == "pending" else datetime.fromisoformat(row["recorded_at"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise InvalidValue(where, f"is not an exported mutation ({e.__class__.__name__}: {e})") from None
    if (recorded is not None and recorded.tzinfo is None) or mutation.occurred_at.tzinfo is None:
        raise InvalidValue(where, "times need a time zone offset")
    try:
        argspec.parse(mutation.type, mutation.args)
    except InvalidValue as e:
        raise InvalidValue(where, f"{mutation.type} {mutation.mutation_id}: {e}") from None
    return Row(number, mutation, recorded)


def _base_version(row: dict) -> int | None:
    base_version = row.get("base_version")
    if not (base_version is None or (isinstance(base_version, int) and not isinstance(base_version, bool))):
        raise ValueError("base_version must be a whole number or null")
    return base_version


def _as_conflict(mutation: Mutation, row: dict) -> Mutation:
    base_version, conflict = _base_version(row), dict(row["conflict"])
    missing = [k for k in CONFLICT_KEYS if k not in conflict]
    if missing or "base_version" not in row:
        raise ValueError(f"a conflict needs base_version and {', '.join(CONFLICT_KEYS)}")
    return replace(mutation, base_version=base_version, conflict=conflict)


def _numbered(lines: Iterable[str | bytes]) -> Iterator[tuple[int, str]]:
    """The non-blank lines with their numbers; a line that is not UTF-8 text is refused, named."""
    for number, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidValue(f"line {number}", "is not UTF-8 text; a backstory export is JSON lines "
                                                     "written by `backstory export`") from None
        line = line.lstrip("\ufeff") if number == 1 else line
        if line.strip():
            yield number, line


def _header(number: int, line: str) -> dict | None:
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = line.strip()
        found = found if len(found) <= 60 else found[:57] + "..."
        raise InvalidValue(f"line {number}", f"is not a backstory export: expected a JSON header with "
                                             f"\"format\": \"{FORMAT}\" (written by `backstory export`), "
                                             f"found {found!r}")
    if header.get("version") not in READS:
        raise InvalidValue(f"line {number}", f"export version {header.get('version')!r} is not supported "
                                             f"(this backstory reads {', '.join(map(str, READS))})")
    program = header.get("program")
    if program is not None and not (isinstance(program, dict) and all(isinstance(program.get(k), str)
                                                                      for k in PROGRAM_KEYS)):
        raise InvalidValue(f"line {number}", f"program must be null or name its {', '.join(PROGRAM_KEYS)}")
    return program


def read_export(lines: Iterable[str | bytes]) -> Export:
    """Parse and check a whole export (lines of text, or of bytes as read from a file) before anything is applied."""
    numbered = _numbered(lines)
    first = next(numbered, None)
    if first is None:
        raise InvalidValue("file", "is empty")
    program = _header(*first)
    rows = [_parse(n, line) for n, line in numbered]
    inits = [r for r in rows if r.mutation.type == "init" and not r.pending and r.mutation.conflict is None]
    if inits:
        init = inits[0]
        if program is not None and program["init_mutation_id"] != init.mutation.mutation_id:
            raise InvalidValue(f"line {init.line}", f"init {init.mutation.mutation_id} is not the program the "
                                                    f"header names (init {program['init_mutation_id']})")
        program = program or {"init_mutation_id": init.mutation.mutation_id, "name": init.mutation.args.get("name"),
                              "timezone": init.mutation.args.get("timezone", "UTC"),
                              "started": init.mutation.occurred_at.isoformat()}
    return Export(program, rows)


def check_belongs(ledger: Ledger, export: Export) -> None:
    """Refuse an export of another program (another ``init``) before anything is applied."""
    ours, theirs = program_origin(ledger), export.program
    if ours is None or theirs is None or ours["init_mutation_id"] == theirs["init_mutation_id"]:
        return
    raise Refused("other_program", f"this file is an export of another program ({_describe(theirs)}); this "
                                   f"store holds {_describe(ours)}. Nothing was imported. Import it into an "
                                   "empty store (another --db, or another BACKSTORY_HOME)")


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


def _replayed(m: Mutation) -> Mutation:
    # Each was applied where it was exported, and replayed in recorded order it meets the same
    # program: a late retire/deconstruct that won over later decisions wins again, a fact is kept.
    return replace(m, accepted=True, supersede_later=m.type in ("retire", "deconstruct"))


def check_fits(ledger: Ledger, export: Export) -> None:
    """Replay the file's history on this program in memory; refuse the whole import at the first that does not fit.

    Pending changes are not part of the history: each is judged on its own when
    applied, like any new change.
    """
    uow = ledger.unit_of_work()
    advice = ("Import it into an empty store (another --db, or another BACKSTORY_HOME)" if uow.program() is not None
              else "The file's own history does not replay: was it edited by hand?")
    for row in unknown_rows(ledger, [r for r in export.rows if not r.pending], uow):
        m = row.mutation
        try:
            if m.conflict is not None:
                _stage_conflict(uow, m, row.recorded_at)
                continue
            replayed = _replayed(m)
            step = run(uow, replayed, argspec.parse(m.type, m.args), row.recorded_at)
            remember(uow, replayed, "applied", step.result, row.recorded_at)
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
            result = handle(ledger, m if row.pending else _replayed(m), recorded_at=row.recorded_at)
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
