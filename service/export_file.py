"""The export file: JSON lines of processed mutations, written and read (checked line by line).

The header names the program (its ``init`` mutation, name, zone, start). Then every
processed mutation in recorded order (id, type, args, valid and recorded time,
device), those the sync kept as conflicts with ``"status": "conflict"`` (their
``base_version`` and the conflict), and last a linked device's changes still in its
outbox, ``"status": "pending"`` with no recorded time. ``read_export`` refuses a
file that is not such an export naming the line, before anything is applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Iterable, Iterator

from domain.errors import InvalidValue
from service import args as argspec
from service import dates
from service.application import Ledger
from service.mutation import Mutation

FORMAT = "backstory-mutations"
# 2 added rows of mutations kept as conflicts; 3 added a linked device's pending changes and the header's
# ``program``. A backstory that reads only older versions refuses a newer file rather than applying
# part of it (dropping pending rows, or conflicts as plain decisions). Versions 1 and 2 still import.
VERSION = 3
READS = (1, 2, 3)
# What an exported conflict carries, so an import keeps it as it was (not applied, resolvable).
CONFLICT_KEYS = ("exercise_id", "exercise", "program_version", "reason", "theirs", "kept")
PROGRAM_KEYS = ("init_mutation_id", "name", "timezone", "started")


@dataclass(frozen=True)
class Row:
    """One exported mutation: its line in the file, the mutation, its recorded time (None while pending).

    ``rebased``: a change of another program added to this one (``import --into-this-program``), judged
    like a new change and recorded at ``recorded_at`` (the import's moment).
    """

    line: int
    mutation: Mutation
    recorded_at: datetime | None
    rebased: bool = False

    @property
    def pending(self) -> bool:
        return self.recorded_at is None


@dataclass(frozen=True)
class Export:
    """A whole export file, checked line by line: the program it is of (None for an empty one) and its rows."""

    program: dict | None
    rows: list[Row]


def program_origin(ledger: Ledger, pending: Iterable[Mutation] = ()) -> dict | None:
    """The program a store holds, as an export header names it: its ``init`` mutation, name, zone and start.

    A linked device whose replica has no program yet may hold its ``init`` among its ``pending`` changes.
    """
    first = list(ledger.app.events.get(ledger.program_id, lte=1))
    if first:  # the start as it stands: a backfill moves it back before the ``init``
        init, start = first[0], ledger.program().started_at()
        return _origin(init.mutation_id, init.name, init.timezone, init.occurred_at if start == init.occurred_at else start)
    init = next((m for m in pending if m.type == "init"), None)
    return None if init is None else _init_origin(init)


def _origin(mutation_id: str, name: str, tz: str, started: datetime) -> dict:
    return {"init_mutation_id": mutation_id, "name": name, "timezone": tz, "started": started.isoformat()}


def _init_origin(init: Mutation) -> dict:
    return _origin(init.mutation_id, init.args.get("name"), init.args.get("timezone", "UTC"), init.occurred_at)


def export_lines(ledger: Ledger, exported_at: datetime, pending: Iterable[Mutation] = ()) -> Iterator[str]:
    """The header, every processed mutation in recorded order, then ``pending`` (a linked device's outbox)."""
    pending = list(pending)
    yield json.dumps({"format": FORMAT, "version": VERSION, "exported_at": exported_at.isoformat(),
                      "program": program_origin(ledger, pending)}, ensure_ascii=False)
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
            effective_at=datetime.fromisoformat(row["effective_at"]) if row.get("effective_at") else None,
            overrides=tuple(str(i) for i in row.get("overrides") or ()),
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
    if (recorded is not None and recorded.tzinfo is None) or mutation.occurred_at.tzinfo is None or (
            mutation.effective_at is not None and mutation.effective_at.tzinfo is None):
        raise InvalidValue(where, "times need a time zone offset")
    for name, value in (("occurred_at", mutation.occurred_at), ("effective_at", mutation.effective_at),
                        ("recorded_at", recorded)):
        if value is not None and not dates.in_range(value):  # year 1 crashed the import (OverflowError)
            raise InvalidValue(where, f"{name} {value.isoformat()} is out of range; use a time {dates.RANGE}")
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
    init = next((r for r in rows if r.mutation.type == "init" and r.mutation.conflict is None), None)
    if init is not None:
        if program is not None and program["init_mutation_id"] != init.mutation.mutation_id:
            raise InvalidValue(f"line {init.line}", f"init {init.mutation.mutation_id} is not the program the "
                                                    f"header names (init {program['init_mutation_id']})")
        program = program or _init_origin(init.mutation)
    return Export(program, rows)
