"""Export and import: the person's record as JSON lines of processed mutations.

The first line is a header; each following line is one applied mutation as it
was processed (id, type, args, valid time, device, recorded time), in recorded
order. Importing re-runs them through the one command path with their
original ids and recorded times, so a restore into an empty store rebuilds the
same program, history and recap, and importing twice stores nothing twice.
A malformed file is refused before anything is applied.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any, Iterable, Iterator

from domain.errors import DomainError, InvalidValue
from service.application import Ledger
from service.handling import Mutation, handle

FORMAT = "backstory-mutations"
VERSION = 1


def export_lines(ledger: Ledger, exported_at: datetime) -> Iterator[str]:
    yield json.dumps({"format": FORMAT, "version": VERSION, "exported_at": exported_at.isoformat()})
    for event in ledger.mutation_records():
        if event.status != "applied":
            continue
        yield json.dumps({
            "mutation_id": event.mutation_id, "type": event.mutation_type,
            "occurred_at": event.occurred_at.isoformat(), "device_id": event.device_id,
            "args": event.args, "recorded_at": event.timestamp.isoformat(),
        }, ensure_ascii=False, sort_keys=True)


def _parse(number: int, line: str) -> tuple[Mutation, datetime]:
    where = f"line {number}"
    try:
        row = json.loads(line)
        mutation = Mutation(
            mutation_id=str(row["mutation_id"]), type=str(row["type"]),
            occurred_at=datetime.fromisoformat(row["occurred_at"]), device_id=str(row["device_id"]),
            args=dict(row.get("args") or {}),
        )
        recorded = datetime.fromisoformat(row["recorded_at"])
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidValue(where, f"is not an exported mutation ({e.__class__.__name__}: {e})") from None
    if recorded.tzinfo is None or mutation.occurred_at.tzinfo is None:
        raise InvalidValue(where, "times need a time zone offset")
    return mutation, recorded


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
    if header.get("version") != VERSION:
        raise InvalidValue("line 1", f"export version {header.get('version')!r} is not supported (this is {VERSION})")
    return [_parse(n, line) for n, line in rows[1:]]


def import_mutations(ledger: Ledger, rows: list[tuple[Mutation, datetime]]) -> dict[str, Any]:
    """Apply each exported mutation once; report what was applied, already there, or refused."""
    counts: dict[str, Any] = {"applied": 0, "duplicate": 0, "refused": []}
    for mutation, recorded_at in rows:
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
