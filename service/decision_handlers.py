"""The handlers of decisions (add, progress, pause, deconstruct, promote, policy, fitting...): each reads the
program, runs the Program's command and returns the ``Step`` to save (``service.handling`` runs them)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from domain.errors import Refused
from domain.evidence import evidence_inputs, signature_rule
from domain.program import Program
from domain.view import ExerciseView
from service import guard, overrides
from service.application import UnitOfWork, require_program
from service.fact_reads import facts_between
from service.mutation import Mutation, Step, conflict_id, decision_context, derived_id
from service.naming import exercise_at


def _rx_changes(parsed: dict) -> dict:
    names = {"position": "position", "load": "load", "direction": "direction", "sets": "sets",
             "reps": "reps", "hold": "hold_s", "range": "range", "per_side": "per_side",
             "target": "target", "protect": "protect", "cues": "cues"}
    return {names[k]: v for k, v in parsed.items() if k in names}


def on_init(uow, m, parsed, now) -> Step:
    if uow.program() is not None:
        raise Refused("program_exists", "a program already exists in this store")
    ctx = decision_context(m, parsed, now)
    program = Program.start(uow.program_id, parsed["name"], parsed.get("timezone", "UTC"), ctx)
    return Step([program], {"program": parsed["name"], "timezone": parsed.get("timezone", "UTC")})


def on_add(uow, m, parsed, now) -> Step:
    program = require_program(uow)
    exercise_id = derived_id(m.mutation_id, "exercise")
    rx = _rx_changes(parsed)
    rx.setdefault("load", {"type": "bodyweight", "magnitude": None, "unit": None})
    program.add_exercise(exercise_id, parsed["name"], parsed.get("kind"), rx, decision_context(m, parsed, now))
    return Step([program], {"exercise_id": exercise_id, "exercise": program.view().exercises[exercise_id].name})


def _on_change(kind: str) -> Callable[..., Step]:
    def handler(uow, m, parsed, now) -> Step:
        program = require_program(uow)
        ex = exercise_at(uow, parsed["exercise"], m.occurred_at)
        restore, records = overrides.overridden(uow, m)
        premature = (guard.progression_evidence(uow, ex.id, m.occurred_at)
                     if kind == "progress" and ex.status in ("active", "paused") else None)  # else refused anyway
        if premature is not None and m.accepted and not parsed.get("force"):
            premature = None  # applied before (an import replays it): it was judged where it was made
        program.change_prescription(kind, ex.id, _rx_changes(parsed), decision_context(m, parsed, now),
                                    restore=restore or None, premature=premature, force=bool(parsed.get("force")))
        event = program.pending_events[-1]
        result = {"exercise_id": ex.id, "exercise": ex.name, "changes": event.changes}
        if getattr(event, "override", None) is not None:
            result["override"] = event.override
        return _won(uow, m, ex, records, now, result)
    return handler


def _on_status(command: str) -> Callable[..., Step]:
    def handler(uow, m, parsed, now) -> Step:
        program = require_program(uow)
        ex = exercise_at(uow, parsed["exercise"], m.occurred_at)
        restore, records = overrides.overridden(uow, m)
        program.change_status(command, ex.id, decision_context(m, parsed, now), restore=restore or None)
        return _won(uow, m, ex, records, now, {"exercise_id": ex.id, "exercise": ex.name})
    return handler


def on_deconstruct(uow, m, parsed, now) -> Step:
    program = require_program(uow)
    ex = exercise_at(uow, parsed["exercise"], m.occurred_at)
    restore, records = overrides.overridden(uow, m)
    new_ids = [derived_id(m.mutation_id, f"component:{i}") for i in range(len(parsed["into"]))]
    program.deconstruct(ex.id, parsed["into"], new_ids, decision_context(m, parsed, now), restore=restore or None)
    comps = program.pending_events[-1].components
    return _won(uow, m, ex, records, now, {"exercise_id": ex.id, "exercise": ex.name,
                                           "components": [{"id": c["id"], "name": c["name"]} for c in comps]})


def _won(uow: UnitOfWork, m: Mutation, ex: ExerciseView, records: list, now: datetime, result: dict) -> Step:
    """The decision's step; a stale winner also keeps the edits it overrode as conflicts."""
    kept = overrides.keep_overridden(uow, m, ex, records, now, conflict_id, result)
    return Step([uow.program(), *kept], result)


def on_promote(uow, m, parsed, now) -> Step:
    program = require_program(uow)
    ex = exercise_at(uow, parsed["exercise"], m.occurred_at)
    at = m.occurred_at
    rule = signature_rule(program.policy_book().at("signature-evidence", at))
    # A day wider than the window, which the rule measures in the program's zone (domain.evidence.window_start).
    exposures, worse = evidence_inputs(facts_between(uow, at - timedelta(days=rule.window_days + 1), at), ex.id)
    program.promote(ex.id, rule, exposures, worse, parsed.get("force", False), decision_context(m, parsed, now))
    event = program.pending_events[-1]
    return Step([program], {"exercise_id": ex.id, "exercise": ex.name, "forced": event.forced,
                            "evidence": event.evidence})


def on_demote(uow, m, parsed, now) -> Step:
    program = require_program(uow)
    ex = exercise_at(uow, parsed["exercise"], m.occurred_at)
    program.demote(ex.id, decision_context(m, parsed, now))
    return Step([program], {"exercise_id": ex.id, "exercise": ex.name})


def on_policy_set(uow, m, parsed, now) -> Step:
    program = require_program(uow)
    program.set_policy(parsed["policy"], parsed["params"], decision_context(m, parsed, now))
    event = program.pending_events[-1]
    return Step([program], {"policy": event.policy, "version": event.version, "params": event.params,
                            "previous": event.previous})


def _on_fitting(action: str) -> Callable[..., Step]:
    def handler(uow, m, parsed, now) -> Step:
        program = require_program(uow)
        program.fitting(action, parsed.get("notes"), decision_context(m, parsed, now))
        return Step([program], {"fitting": program.pending_events[-1].number})
    return handler
