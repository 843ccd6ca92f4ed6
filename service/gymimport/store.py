"""Recording an import plan: every mutation through the one command path, all or nothing.

The whole plan runs in one unit of work before anything is stored: a mutation
already recorded (same id) is left out, any refusal refuses the import, and
then a standalone store saves everything in one transaction, while a linked
device queues the new mutations for sync (the server drops those it has).
``dry_run`` runs the same checks and stores nothing. A program is started (at
midnight of the first workout's day) when the store has none; the start of one
that starts after the file's first workout moves back to it (a backfill, as for
any decision dated before the start: ``Program.StartMovedBack``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from domain.errors import DomainError, Refused
from domain.mutations import mutation_record_id
from domain.prescription import apply_changes
from service import args as argspec
from service.application import UnitOfWork
from service.device import DeviceStore, outbox_item
from service.gymimport.mapping import Plan, kind_of, local, mutation_id
from service.handling import RETRIES, remember, run
from service.mutation import Mutation

DECISIONS = ("progress", "regress", "adapt")


def _start(uow: UnitOfWork, plan: Plan, zone: str, name: str, device_id: str) -> list[tuple[int, Mutation]]:
    """The init the import needs: none if the program exists (its start moves back to an earlier workout)."""
    earliest = plan.earliest
    if earliest is None or uow.program() is not None:
        return []
    tz = ZoneInfo(zone)
    midnight = local(datetime.combine(earliest.astimezone(tz).date(), time()), tz)
    return [(plan.mutations[0].row, Mutation(mutation_id(plan.source, "init"), "init", midnight, device_id,
                                             {"name": name, "timezone": zone}))]


def _rx_args(args: dict) -> dict:
    dims = {k: v for k, v in args.items() if k in ("sets", "reps", "hold", "load")}
    parsed = argspec.parse("adapt", {"exercise": args["exercise"], **dims})
    return {("hold_s" if k == "hold" else k): v for k, v in parsed.items() if k != "exercise"}


def _decided(uow: UnitOfWork, m: Mutation) -> Mutation | None:
    """A change as the store's program orders it at that date (a hand-made decision may stand between); None if none."""
    view = uow.program().view(m.occurred_at)
    wanted = m.args["exercise"].casefold()
    ex = next((e for e in view.in_program() if e.name.casefold() == wanted), None)
    if ex is None:
        return None
    kind = kind_of(ex.prescription, apply_changes(ex.prescription, _rx_args(m.args)))
    if kind == "progress":  # done in the gym, where no next-day response was asked: past the lights' guard
        return replace(m, type=kind, args={**m.args, "force": True})
    return None if kind is None else replace(m, type=kind)


def _check(uow: UnitOfWork, plan: Plan, zone: str, name: str, device_id: str, base_version: int | None,
           pending: set[str], now: datetime) -> tuple[list[Mutation], list[str]]:
    """Run every new mutation of the plan in ``uow``; return them, and the exercises already in the program."""
    uow.prefetch([mutation_record_id(uow.program_id, p.mutation_id) for p in plan.mutations])
    todo = _start(uow, plan, zone, name, device_id)
    todo += [(p.row, Mutation(p.mutation_id, p.type, p.occurred_at, device_id, p.args, base_version=base_version))
             for p in plan.mutations]
    done: list[Mutation] = []
    kept: list[str] = []
    folded: set[str] = set()
    for row, m in todo:
        if m.mutation_id in pending or uow.mutation_record(m.mutation_id) is not None:
            continue
        if m.type == "add" and any(e.name.casefold() == m.args["name"].casefold()
                                   for e in uow.current_view().in_program()):
            kept.append(m.args["name"])  # added by hand or by another import: its sessions are still logged
            folded.add(m.args["name"].casefold())
            continue
        if m.type in DECISIONS:
            if m.args["exercise"].casefold() in folded:
                continue
            m = _decided(uow, m)
            if m is None:
                continue
        try:
            step = run(uow, m, argspec.parse(m.type, m.args), now)
        except DomainError as e:
            what = m.args.get("exercise") or m.args.get("name")
            message = f"row {row}: {m.type} {what}: {e}; nothing was imported"
            raise Refused(getattr(e, "rule", e.kind), message) from None
        remember(uow, m, "applied", step.result, now)
        done.append(m)
    return done, kept


def record(device: DeviceStore, plan: Plan, *, zone: str, name: str, dry_run: bool,
           now: datetime) -> tuple[dict[str, Any], list[str]]:
    """Check the whole plan, then store what is new (unless ``dry_run``).

    Returns the summary and the names of exercises already in the program, kept as they were.
    """
    for _ in range(RETRIES):
        outbox = device.outbox()
        if outbox.linked:
            uow = device.overlay(outbox)
            replica = device.replica(outbox).program()
            done, kept = _check(uow, plan, zone, name, device.device_id, replica.version if replica else None,
                                {i["mutation_id"] for i in outbox.pending()}, now)
        else:
            uow = device.local.unit_of_work()
            done, kept = _check(uow, plan, zone, name, device.device_id, None, set(), now)
        stored = bool(done) and not dry_run
        try:
            if stored and outbox.linked:
                outbox.queue([outbox_item(m) for m in done])
                device.app.save(outbox)
            elif stored:
                uow.save()
        except IntegrityError:
            continue
        return summary(plan, done, stored), kept
    raise Refused("busy", "the program kept changing while this was imported; try again")


def summary(plan: Plan, done: list[Mutation], stored: bool) -> dict[str, Any]:
    count = lambda *types: sum(1 for m in done if m.type in types)  # noqa: E731
    return {"source": plan.source, "workouts": plan.workouts, "sessions": count("log"), "exercises": count("add"),
            "decisions": count(*DECISIONS), "skipped": [{"row": s.row, "why": s.why} for s in plan.skipped],
            "stored": stored}

