"""Stale decisions that win over concurrent edits (SPEC 5), whichever arrives first.

A stale ``regress`` that still lowers the prescription, a stale ``retire`` and a stale
``deconstruct`` win over the edits other devices made to the same exercise meanwhile. Had
those edits arrived second, they would have been conflicts; so that the outcome does not depend
on the order of arrival, a winner that arrives second:

- takes effect in valid time at the latest of its own time and the concurrent decisions' (it is
  in force after them: a regression backdated before a concurrent progression would otherwise
  leave the progression in force, a retire would be followed by an edit);
- gives back the dimensions the edits it overrides had changed (a regression starts from the
  prescription before them; a retire or deconstruct records them as ``restored``, and the new
  components of a deconstruction start from that prescription);
- keeps each overridden edit in the conflict log, as it would have been kept had it come second.

The sync policy (``service.sync``) decides which edits are overridden and when the winner takes
effect, and puts both on the mutation (``effective_at``, ``overrides``); the handlers do the rest
here, so an import re-running the exported mutation does exactly the same.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Callable

from domain.conflicts import ConflictLog

# What each winning decision overrides among the concurrent decisions of the same exercise.
OVERRIDES = {
    "regress": ("progress", "adapt"),
    "retire": ("progress", "adapt", "regress"),
    "deconstruct": ("progress", "adapt", "regress"),
}


def summarize(events: list) -> list[dict[str, Any]]:
    """Decisions as a conflict lists them (``theirs``)."""
    return [{"type": e.command, "version": e.originator_version, "device_id": e.device_id,
             "mutation_id": e.mutation_id, "occurred_at": e.occurred_at.isoformat(),
             "from": e.change()[0], "to": e.change()[1]} for e in events]


def plan(m: Any, theirs: list, log: ConflictLog | None, conflict_id: Callable[[str], str]) -> Any:
    """The winning mutation with when it takes effect and which concurrent edits it overrides.

    ``theirs``: the other devices' decisions on the exercise since the mutation's base version.
    An edit already kept as a conflict (overridden by an earlier winner) is not overridden twice.
    """
    kept = log.conflicts if log is not None else {}
    overrides = tuple(e.mutation_id for e in theirs
                      if e.command in OVERRIDES[m.type] and conflict_id(e.mutation_id) not in kept)
    effective = max([m.occurred_at, *(e.occurred_at for e in theirs)])
    return replace(m, effective_at=effective if effective > m.occurred_at else None, overrides=overrides)


def overridden(uow: Any, m: Any) -> tuple[dict[str, Any], list]:
    """The records of the edits ``m`` overrides, and the dimensions' values from before them."""
    records = [r for r in (uow.mutation_record(mid) for mid in m.overrides) if r is not None]
    restore: dict[str, Any] = {}
    for r in records:
        for dim, change in (r.result.get("changes") or {}).items():
            restore.setdefault(dim, change["from"])
    return restore, records


def device_called(uow: Any, device_id: str) -> str:
    """A device as a person reads it in a conflict's reason: by its name, never its id."""
    from uuid import UUID

    from domain.accounts import Device

    try:
        device = uow.get(UUID(device_id))
    except (ValueError, TypeError, LookupError):  # not an account's device (an id like "dev-a"), or not stored
        device = None
    return f"the device {device.name}" if isinstance(device, Device) else "another device"


def keep_overridden(uow: Any, m: Any, exercise: Any, records: list, now: datetime,
                    conflict_id: Callable[[str], str], result: dict[str, Any]) -> list:
    """Keep each overridden edit as a conflict with the winner; note both on the winner's result.

    Returns the aggregates to save (the conflict log, when it changed).
    """
    if m.effective_at is not None:
        result["effective_at"] = m.effective_at.isoformat()
    if not m.overrides:
        return []
    result["overrides"] = list(m.overrides)
    program = uow.program()
    winner = program.pending_events[-1]
    current = program.view().exercises[exercise.id]
    kept = {"status": current.status, "prescription": current.prescription}
    log = uow.conflict_log() or ConflictLog.open(uow.program_id)
    for r in records:
        cid = conflict_id(r.mutation_id)
        if cid in log.conflicts:
            continue
        reason = (f"{exercise.name}: this {r.mutation_type} was overridden by a concurrent {m.type} from "
                  f"{device_called(uow, m.device_id)}, which wins (\"the most conservative wins\"; a retire or "
                  f"deconstruct wins over edits); the {m.type} is kept")
        log.record(cid, now, mutation_id=r.mutation_id, mutation_type=r.mutation_type, device_id=r.device_id,
                   occurred_at=r.occurred_at, args=r.args, base_version=r.base_version,
                   program_version=program.version, exercise_id=exercise.id, exercise_name=exercise.name,
                   reason=reason, theirs=summarize([winner]), kept=kept)
    return [log]
