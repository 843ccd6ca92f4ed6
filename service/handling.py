"""The one command path: every change enters as a mutation and is handled here.

``handle`` parses the mutation's arguments, runs the matching handler against
the domain, and saves the changed aggregates together with the mutation's
record in one transaction. A mutation whose id was already processed is not
applied again: the original result comes back with status ``duplicate``. A
concurrent writer shows up as a version conflict and the mutation is re-run
against the newer state. The handlers live by kind: ``service.decision_handlers`` and
``service.fact_handlers``; the mutation's shape in ``service.mutation``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from eventsourcing.persistence import IntegrityError

from domain.errors import DomainError, InvalidValue, NotFound, Refused
from domain.mutations import MutationRecord
from service import args as argspec
from service.application import Ledger, UnitOfWork
from service.decision_handlers import (
    _on_change, _on_fitting, _on_status, on_add, on_deconstruct, on_demote, on_init, on_policy_set, on_promote,
)
from service.fact_handlers import (
    _on_simple_fact, on_assess, on_correct, on_log, on_next_day, on_sleep, on_void,
)
from service.mutation import Mutation, Step

RETRIES = 8


def handle(ledger: Ledger, m: Mutation, recorded_at: datetime | None = None) -> dict[str, Any]:
    """Apply one mutation exactly once; raise ``DomainError`` when it is refused (nothing is stored)."""
    parsed = argspec.parse(m.type, m.args)
    for _ in range(RETRIES):
        uow = ledger.unit_of_work()
        done = _processed(uow, m)
        if done is not None:
            return done
        now = recorded_at or datetime.now(timezone.utc)
        try:
            step = run(uow, m, parsed, now)
        except DomainError:
            # The same mutation may have landed from another process after the check above,
            # and the refusal be the effect of it: then the answer is "duplicate".
            done = _processed(ledger.unit_of_work(), m)
            if done is not None:
                return done
            raise
        remember(uow, m, "applied", step.result, now)
        try:
            uow.save()
        except IntegrityError:
            continue
        return {"mutation_id": m.mutation_id, "type": m.type, "status": "applied", "result": step.result}
    raise Refused("busy", "the program kept changing while this was applied; try again")


def run(uow: UnitOfWork, m: Mutation, parsed: dict, now: datetime) -> Step:
    """Run a mutation's handler in a unit of work; its new aggregates join the unit only if it succeeds."""
    step = HANDLERS[m.type](uow, m, parsed, now)
    uow.add(*step.aggregates)
    return step


def remember(uow: UnitOfWork, m: Mutation, status: str, result: dict, now: datetime,
             seq: int | None = None) -> MutationRecord:
    """Record the mutation's outcome in the same unit, so it is saved with the change itself."""
    record = MutationRecord.processed(uow.program_id, m.mutation_id, m.type, m.device_id, m.occurred_at, m.args,
                                      status, result, now, seq=seq, base_version=m.base_version)
    uow.add(record)
    return record


def _processed(uow: UnitOfWork, m: Mutation) -> dict[str, Any] | None:
    done = uow.mutation_record(m.mutation_id)
    if done is None:
        return None
    return {"mutation_id": m.mutation_id, "type": done.mutation_type, "status": "duplicate",
            "original_status": done.status, "result": done.result}


def on_resolve(uow, m, parsed, now) -> Step:
    """Resolve a conflict: keep the current program, or apply the conflicted decision now."""
    if parsed.get("keep_current") == parsed.get("apply_mine"):
        raise InvalidValue("keep_current", "give exactly one of keep_current or apply_mine")
    log = uow.conflict_log()
    if log is None:
        raise NotFound("conflict", "conflict: there are no conflicts")
    conflict = log.find(parsed["conflict"])
    if conflict["resolution"] is not None:
        raise Refused("conflict_resolved", f"conflict {conflict['id'][:8]} was already resolved "
                                           f"({conflict['resolution']})")
    resolution = "apply-mine" if parsed.get("apply_mine") else "keep-current"
    step = Step([log], {"conflict_id": conflict["id"], "resolution": resolution})
    if resolution == "apply-mine":
        # Applying a kept progression is decided seeing the conflict's reason: it goes past the
        # pain-monitoring guard as a forced one, recorded with the evidence it overrides.
        args = {**conflict["args"], "force": True} if conflict["type"] == "progress" else conflict["args"]
        mine = Mutation(mutation_id=m.mutation_id, type=conflict["type"],
                        occurred_at=datetime.fromisoformat(conflict["occurred_at"]), device_id=m.device_id,
                        args=args, supersede_later=m.supersede_later)
        applied = run(uow, mine, argspec.parse(mine.type, mine.args), now)
        step.aggregates += applied.aggregates
        step.result["applied"] = applied.result
    log.resolve(conflict["id"], resolution, m.device_id, m.mutation_id, m.occurred_at, now)
    return step


HANDLERS: dict[str, Callable[..., Step]] = {
    "init": on_init, "add": on_add,
    "progress": _on_change("progress"), "regress": _on_change("regress"), "adapt": _on_change("adapt"),
    "pause": _on_status("pause"), "resume": _on_status("resume"), "retire": _on_status("retire"),
    "rebuild": _on_status("rebuild"), "deconstruct": on_deconstruct, "promote": on_promote,
    "demote": on_demote, "policy-set": on_policy_set, "fitting-open": _on_fitting("open"), "fitting-close": _on_fitting("close"),
    "log": on_log, "next-day": on_next_day, "break": _on_simple_fact("break"),
    "checkin": _on_simple_fact("checkin"), "flare-start": _on_simple_fact("flare-start"),
    "flare-end": _on_simple_fact("flare-end"), "sleep": on_sleep, "assess": on_assess, "correct": on_correct, "void": on_void,
    "resolve": on_resolve,
}


DECISIONS = ("init", "add", "progress", "regress", "adapt", "pause", "resume", "retire", "rebuild",
             "deconstruct", "promote", "demote", "policy-set", "fitting-open", "fitting-close", "resolve")
assert set(HANDLERS) == set(argspec.SPECS), "every mutation type needs a handler"
