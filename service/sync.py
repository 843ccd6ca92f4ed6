"""Sync push: a device's batch of mutations, applied under the conflict policy of SPEC 5.

The whole batch is processed in one unit of work and saved in one transaction
together with each mutation's outcome and the device's new last ``seq``: it is
durable before the reply, and a retry of a batch whose reply was lost answers
``duplicate`` with the original results. A refused mutation never blocks the
device's queue: it is ``rejected`` (or ``conflict``) and the queue moves on;
so is a mutation the server will never take whatever the program holds (an
``occurred_at`` beyond the clock tolerance, a ``base_version`` above the
program's). A seq of the batch the device already used for another mutation is
a 409 listing those mutations (``reused``), so the device sends them again
under new seqs instead of taking them as answered.

Policy for a decision made against an older program version (``base_version``):
edits to other exercises rebase and apply; a stale progression or adaptation of
the same exercise is a conflict (the current program is kept); a stale
regression applies if it still lowers the current prescription ("the most
conservative wins"); a stale retire or deconstruct wins over the edits made
meanwhile. A progression the pain-monitoring guard stands in the way of on the server (the
device had not seen a red session, or one awaiting its next day, logged on another device) is
a conflict too (``service.guard``). A winner that arrives after the edits it wins over takes effect after them
and keeps them as conflicts (``service.overrides``), so the order of arrival does not
change the outcome. Every conflict is kept in the program's ConflictLog.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from eventsourcing.persistence import IntegrityError

from domain.accounts import Device
from domain.conflicts import ConflictLog
from domain.errors import DomainError, InvalidValue, Refused
from domain.mutations import mutation_record_id
from domain.decision_context import CLOCK_TOLERANCE
from domain.program_checks import premature_reason
from service import args as argspec
from service import guard, overrides
from service.accounts import Principal
from service.application import BackstoryApp, UnitOfWork
from service.handling import DECISIONS, remember, run
from service.mutation import conflict_id, Mutation
from service.naming import exercise_at

MAX_BATCH = 500


#: Saves lost to another device of the same account, in one push, before it answers 503 (retry).
COLLISIONS = 40


class Contention(Exception):
    """The account's other devices kept saving first: the batch was not applied (503, the device retries)."""


class _Dirty(Exception):
    """A refused mutation left changes in the unit of work: redo the batch with it refused up front."""

    def __init__(self, mutation_id: str, result: dict):
        self.mutation_id = mutation_id
        self.result = result


class SeqError(Exception):
    """A push whose seqs do not continue the device's sequence (409).

    ``reused`` lists the batch's mutations (``seq``, ``mutation_id``) whose seqs
    the server already holds from *other* mutations of this device: ids it does
    not hold, so the device must send them again under new seqs (a restored copy
    of its home, or two homes sharing one token).
    """

    def __init__(self, expected_seq: int, message: str, reused: list[dict] | None = None):
        self.expected_seq = expected_seq
        self.reused = reused
        super().__init__(message)


def _check_seqs(mutations: list[Mutation], last_seq: int) -> None:
    expected = last_seq + 1
    first = mutations[0].seq
    for i, m in enumerate(mutations):
        if m.seq != first + i:
            raise SeqError(expected, f"seqs in a batch must be contiguous and increasing; "
                                     f"mutation {i} has seq {m.seq}, expected {first + i}")
    if first > expected:
        raise SeqError(expected, f"seq gap: this device's next seq is {expected}, the batch starts at {first}")


def _reused(uow: UnitOfWork, mutations: list[Mutation], last_seq: int) -> list[dict]:
    """The batch's mutations whose seq the device already used for another mutation (an id not held here)."""
    return [{"seq": m.seq, "mutation_id": m.mutation_id} for m in mutations
            if m.seq <= last_seq and uow.mutation_record(m.mutation_id) is None]


def push(app: BackstoryApp, who: Principal, mutations: list[Mutation],
         now: datetime | None = None, tolerance: timedelta = CLOCK_TOLERANCE) -> dict[str, Any]:
    """Apply a batch from one device; raise SeqError (nothing changed) when the seqs do not follow on.

    A mutation whose ``occurred_at`` lies more than ``tolerance`` after the
    server's clock is ``rejected`` on its own (the device's clock ran fast);
    the rest of the batch goes on.
    """
    device_id = str(who.device_id)
    mutations = [m if m.device_id == device_id else replace(m, device_id=device_id) for m in mutations]
    refused: dict[str, dict] = {}
    collisions = 0
    while True:
        uow = who.ledger(app).unit_of_work()
        device = uow.get(who.device_id)
        assert isinstance(device, Device)
        if mutations:
            _check_seqs(mutations, device.last_seq)
            uow.prefetch([mutation_record_id(who.program_id, m.mutation_id) for m in mutations])
            reused = _reused(uow, mutations, device.last_seq)
            if reused:  # a protocol error: the whole batch is refused and nothing is stored
                raise SeqError(device.last_seq + 1, f"seq {reused[0]['seq']} was already used by another mutation "
                                                    f"of this device; its next seq is {device.last_seq + 1}", reused)
        moment = now or datetime.now(timezone.utc)
        try:
            results = [_one(uow, m, moment, tolerance, refused) for m in mutations]
        except _Dirty as dirty:  # at most once per mutation: each is then answered as refused
            refused[dirty.mutation_id] = dirty.result
            continue
        if mutations:
            device.accept(mutations[-1].seq)
            uow.add(device)
        try:
            uow.save()
        except IntegrityError:
            collisions += 1
            if collisions > COLLISIONS:
                raise Contention("the account kept changing while the batch was applied") from None
            # Another device of the account saved first: start again from what it saved, a little later
            # (a random wait, growing, so the devices that collided do not collide again in step).
            time.sleep(random.uniform(0, 0.004 * collisions))
            continue
        return {"results": results, "last_seq": device.last_seq}


def _implausible(uow: UnitOfWork, m: Mutation, now: datetime, tolerance: timedelta) -> DomainError | None:
    """Why the server will not take this mutation whatever the program holds, or None.

    Answered per mutation, never for the batch: a device whose clock ran fast,
    or that claims a program version the server never had, must not block its
    own queue (SPEC 5).
    """
    if m.occurred_at > now + tolerance:
        return InvalidValue("occurred_at", f"{m.occurred_at.isoformat()} is more than "
                                           f"{int(tolerance.total_seconds() // 60)} minutes ahead of the server's "
                                           f"clock ({now.isoformat(timespec='seconds')}); check the device's clock "
                                           "and record it again with the right date")
    if m.type in DECISIONS and m.base_version is not None:
        program = uow.program()
        version = program.version if program is not None else 0
        if m.base_version > version:
            return InvalidValue("base_version", f"{m.base_version} is above the program's version ({version}): "
                                                "a device can only have seen versions the server has")
    return None


def _one(uow: UnitOfWork, m: Mutation, now: datetime, tolerance: timedelta,
         refused: dict[str, dict]) -> dict[str, Any]:
    done = uow.mutation_record(m.mutation_id)
    out = {"mutation_id": m.mutation_id, "seq": m.seq}
    if done is not None:
        return {**out, "status": "duplicate", "original_status": done.status, "result": done.result}
    uow.begin()
    try:
        if m.mutation_id in refused:
            status, result = "rejected", refused[m.mutation_id]
        elif (problem := _implausible(uow, m, now, tolerance)) is not None:
            raise problem
        else:
            parsed = argspec.parse(m.type, m.args)
            status, result = _apply(uow, m, parsed, now)
    except DomainError as e:
        status, result = "rejected", {"error": e.to_dict()}
        if uow.changed():
            raise _Dirty(m.mutation_id, result) from e
    remember(uow, m, status, result, now, seq=m.seq)
    out.update(status=status, result=result)
    if status == "rejected":
        out["reason"] = result["error"]["message"]
    if status == "conflict":
        out["conflict"] = result["conflict"]
        out["reason"] = result["conflict"]["reason"]
    return out


def _apply(uow: UnitOfWork, m: Mutation, parsed: dict, now: datetime) -> tuple[str, dict]:
    try:
        return _decide(uow, m, parsed, now)
    except Refused as e:
        if e.rule != "progression_guard":
            raise
        # The device had not seen what the server knows (a red session, a session awaiting its next day,
        # logged on another device): the progression is kept as a conflict, never silently applied.
        target = exercise_at(uow, parsed["exercise"], m.occurred_at)
        why = premature_reason(target.name, guard.progression_evidence(uow, target.id, m.occurred_at),
                               uow.program().view().timezone, ids=False)
        return _conflict(uow, m, target, [], now, f"a progression the device decided without knowing that {why}; "
                                                   "the current prescription is kept (resolve: apply mine to "
                                                   "progress anyway, recorded with this evidence)")


def _decide(uow: UnitOfWork, m: Mutation, parsed: dict, now: datetime) -> tuple[str, dict]:
    program = uow.program()
    stale = (m.type in DECISIONS and m.base_version is not None and program is not None
             and program.version > m.base_version and "exercise" in parsed)
    if not stale:
        return "applied", run(uow, m, parsed, now).result
    target = exercise_at(uow, parsed["exercise"], m.occurred_at)
    # The device's own later decisions were in its outbox, so it saw them when it decided this one.
    theirs = [e for e in uow.decisions_after(m.base_version)
              if target.id in e.exercise_ids and e.device_id != m.device_id]
    if not theirs:
        return "applied", run(uow, m, parsed, now).result
    if m.type in ("progress", "adapt"):
        return _conflict(uow, m, target, theirs, now,
                         f"{target.name} changed since version {m.base_version}; a stale {m.type} is not "
                         "applied, the current prescription is kept")
    if m.type in overrides.OVERRIDES:
        m = overrides.plan(m, theirs, uow.conflict_log(), conflict_id)
    try:
        return "applied", run(uow, m, parsed, now).result
    except DomainError as e:
        return _conflict(uow, m, target, theirs, now, f"{target.name} changed since version {m.base_version}: {e}")


def _conflict(uow: UnitOfWork, m: Mutation, target, theirs: list, now: datetime, reason: str) -> tuple[str, dict]:
    log = uow.conflict_log() or ConflictLog.open(uow.program_id)
    current = uow.program().view().exercises[target.id]
    cid = conflict_id(m.mutation_id)
    summary = overrides.summarize(theirs)
    kept = {"status": current.status, "prescription": current.prescription}
    log.record(cid, now, mutation_id=m.mutation_id, mutation_type=m.type, device_id=m.device_id,
               occurred_at=m.occurred_at, args=m.args, base_version=m.base_version,
               program_version=uow.program().version, exercise_id=target.id, exercise_name=target.name,
               reason=reason, theirs=summary, kept=kept)
    uow.add(log)
    return "conflict", {"conflict": {"id": cid, "reason": reason, "exercise": target.name,
                                     "theirs": summary, "kept": kept}}
