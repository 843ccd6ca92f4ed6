"""The one command path: every change enters as a mutation and is handled here.

``handle`` parses the mutation's arguments, runs the matching handler against
the domain, and saves the changed aggregates together with the mutation's
record in one transaction. A mutation whose id was already processed is not
applied again: the original result comes back with status ``duplicate``. A
concurrent writer shows up as a version conflict and the mutation is re-run
against the newer state.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from domain.errors import DomainError, InvalidValue, NotFound, Refused
from domain.evidence import evidence_inputs, signature_rule
from domain.facts import FactLog, month_of, sleep_values, validate
from domain.mutations import MutationRecord
from domain.decision_context import Context
from domain.program import Program
from domain.timeline import time_key
from domain.view import ExerciseView, ProgramView
from service import args as argspec
from service import guard, overrides
from service.application import Ledger, UnitOfWork, require_program
from service.fact_reads import facts_between, months_between  # noqa: F401 - read here and by callers

IDS = uuid5(NAMESPACE_URL, "https://backstory.invalid/ids")
RETRIES = 8


@dataclass(frozen=True)
class Mutation:
    """One change as a device asks for it (SPEC 5 wire format)."""

    mutation_id: str
    type: str
    occurred_at: datetime
    device_id: str
    args: dict[str, Any] = field(default_factory=dict)
    base_version: int | None = None
    seq: int | None = None
    # Set by the sync policy for a late retire/deconstruct, which wins over edits made meanwhile.
    supersede_later: bool = False
    # Applied before, elsewhere (an import): a fact about an exercise this program lacks is still kept.
    accepted: bool = False
    # An import of a decision the sync policy kept as a conflict: that conflict, restored as it was.
    conflict: dict[str, Any] | None = None
    # Set by the sync policy for a stale decision that wins over concurrent edits (``service.overrides``):
    # the valid time it takes effect at, and the mutation ids of the edits it overrides.
    effective_at: datetime | None = None
    overrides: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A time zone's rules (a CLI's zone-aware --at) become the fixed offset of that instant: what a
        # replay, an import or the server reads back from the ISO text, so date arithmetic on the first
        # run (a next-day's 3 days, an evidence window) gives the same result as on every later one.
        at = self.occurred_at
        if at.tzinfo is not None and not isinstance(at.tzinfo, timezone) and at.utcoffset() is not None:
            object.__setattr__(self, "occurred_at", at.replace(tzinfo=timezone(at.utcoffset())))


@dataclass
class Step:
    """What a handler decided: the aggregates to save and the plain result to report."""

    aggregates: list[Any]
    result: dict[str, Any]


def derived_id(mutation_id: str, what: str) -> str:
    """Ids made from the mutation id, so every replica and every re-import makes the same ones."""
    return str(uuid5(IDS, f"{mutation_id}:{what}"))


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


# ----- helpers ---------------------------------------------------------------------------------


def resolve_exercise(view: ProgramView, text: str) -> ExerciseView:
    """An exercise by name (case-insensitive, current ones first) or by id prefix."""
    wanted = unicodedata.normalize("NFC", text.strip()).casefold()  # names are stored NFC
    named = [e for e in view.exercises.values() if e.name.casefold() == wanted]
    named.sort(key=lambda e: e.status == "retired")
    if named:
        return named[0]
    if len(wanted) >= 4:
        by_id = [e for e in view.exercises.values() if e.id.startswith(wanted)]
        if len(by_id) == 1:
            return by_id[0]
        if by_id:
            raise NotFound("exercise", f"exercise: the prefix {text.strip()} matches {len(by_id)} exercises: "
                                       f"{', '.join(e.name for e in by_id[:5])}" + (", ..." if len(by_id) > 5 else "")
                                       + "; give more of the id or the name")
    raise NotFound("exercise", f"exercise: no exercise named {text!r}{_near(view, wanted)}")


def _near(view: ProgramView, wanted: str) -> str:
    """A few names close to ``wanted`` (all of them when the program has only a few), never the whole store."""
    from difflib import get_close_matches

    names = {e.name.casefold(): e.name for e in view.exercises.values()}
    if not names:
        return "; the program has no exercises yet"
    close = get_close_matches(wanted, list(names), n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(names[c]) for c in close) + "?"
    if len(names) <= 5:
        return "; its exercises: " + ", ".join(repr(n) for n in names.values())
    return "; `backstory show` lists the exercises"


def exercise_at(reader: UnitOfWork, text: str, when: datetime) -> ExerciseView:
    """The exercise ``text`` names at valid time ``when``: a name taken again later means another exercise."""
    view = reader.current_view()
    wanted = text.strip().casefold()
    named = [e for e in view.exercises.values() if e.name.casefold() == wanted]
    if len(named) == 1 and named[0].added <= time_key(when):
        return named[0]
    then = reader.program().view(when)
    try:
        return resolve_exercise(then, text)
    except NotFound:
        later = [e for e in named if e.added > time_key(when)]
        if not later:
            raise
    zone = ZoneInfo(view.timezone or "UTC")  # the program's zone (``then`` may lie before its start: no zone)
    local = when.astimezone(zone)
    added = datetime.fromisoformat(later[0].added).replace(tzinfo=timezone.utc).astimezone(zone)
    if local.date() == added.date():  # the same day, earlier: say the times
        raise NotFound("exercise", f"exercise: no exercise was named {text!r} at {local:%Y-%m-%dT%H:%M}: "
                                   f"{later[0].name!r} was added at {added:%Y-%m-%dT%H:%M}; give a time at or "
                                   f"after it")
    raise NotFound("exercise", f"exercise: no exercise was named {text!r} on {local.date()}: {later[0].name!r} "
                               f"was added on {added.date()}; give a date on or after it")


def decision_context(m: Mutation, parsed: dict, now: datetime) -> Context:
    return Context(occurred_at=m.effective_at or m.occurred_at, device_id=m.device_id, mutation_id=m.mutation_id,
                   recorded_at=now, reason=parsed.get("reason"), reason_code=parsed.get("reason_code", "unspecified"),
                   supersede_later=m.supersede_later)


def _rx_changes(parsed: dict) -> dict:
    names = {"position": "position", "load": "load", "direction": "direction", "sets": "sets",
             "reps": "reps", "hold": "hold_s", "range": "range", "per_side": "per_side",
             "target": "target", "protect": "protect", "cues": "cues"}
    return {names[k]: v for k, v in parsed.items() if k in names}


# ----- decisions -------------------------------------------------------------------------------


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


def conflict_id(mutation_id: str) -> str:
    """The id of the conflict a mutation is kept as: the same whichever way it became one."""
    return derived_id(mutation_id, "conflict")


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


# ----- facts -----------------------------------------------------------------------------------


def _fact_log(uow: UnitOfWork, occurred_at: datetime) -> FactLog:
    month = month_of(occurred_at)
    return uow.fact_log(month) or FactLog.open(uow.program_id, month)


def _record_fact(uow, m, now, command: str, **attrs) -> Step:
    log = _fact_log(uow, m.occurred_at)
    fact_id = derived_id(m.mutation_id, "fact")
    log.record(command, fact_id, m.occurred_at, now, m.device_id, m.mutation_id, **attrs)
    program = uow.program()
    if program is None:
        return Step([log], {"fact_id": fact_id, "month": log.month})
    # A fact dated before the program's start (a backfill) moves the start back to it, like a decision.
    program.cover(command, Context(occurred_at=m.occurred_at, device_id=m.device_id, mutation_id=m.mutation_id,
                                   recorded_at=now))
    return Step([log, program], {"fact_id": fact_id, "month": log.month})


def _with_hold(parsed: dict) -> dict:
    out = dict(parsed)
    if "hold" in out:
        out["hold_s"] = out.pop("hold")
    return out


def fact_exercise(uow: UnitOfWork, m: Mutation, name: str) -> tuple[str | None, str]:
    """The exercise a fact is about, as (id, name); (None, name) for one the program does not have.

    An unknown name is refused, except when the fact was applied before (an
    import) or the exercise was to come from a deconstruction kept as a
    conflict: the device logged its components offline, and facts are never
    refused because the plan changed.
    """
    try:
        ex = exercise_at(uow, name, m.occurred_at)
    except NotFound:
        # A pushed fact (it has a seq) was taken by its device: one dated before any exercise had
        # the name is kept without one rather than refused or given to the exercise named so later.
        if m.accepted or _named_by_conflict(uow, name) or (m.seq is not None and _named_now(uow, name)):
            return None, name.strip()
        raise
    return ex.id, ex.name


def _named_now(uow: UnitOfWork, name: str) -> bool:
    wanted = name.strip().casefold()
    return any(e.name.casefold() == wanted for e in uow.current_view().exercises.values())


def _named_by_conflict(uow: UnitOfWork, name: str) -> bool:
    log = uow.conflict_log()
    wanted = name.strip().casefold()
    return log is not None and any(
        wanted in [n.strip().casefold() for n in c["args"].get("into") or []]
        for c in log.conflicts.values() if c["type"] == "deconstruct")


def on_log(uow, m, parsed, now) -> Step:
    require_program(uow)
    ex_id, ex_name = fact_exercise(uow, m, parsed["exercise"])
    session = validate("log", _with_hold(parsed))
    step = _record_fact(uow, m, now, "log", exercise_id=ex_id, exercise_name=ex_name, session=session)
    step.result.update(exercise_id=ex_id, exercise=ex_name)
    return step


def on_next_day(uow, m, parsed, now) -> Step:
    require_program(uow)
    ex_id, ex_name = fact_exercise(uow, m, parsed["exercise"])
    response = validate("next-day", parsed)
    sessions = [f for f in facts_between(uow, m.occurred_at - timedelta(days=3), m.occurred_at)
                if f["type"] == "log" and f.get("exercise_id") == ex_id and not f["voided"]
                and (ex_id is not None or f.get("exercise") == ex_name)]
    session_id = sessions[-1]["id"] if sessions else None
    step = _record_fact(uow, m, now, "next-day", exercise_id=ex_id, exercise_name=ex_name,
                        session_id=session_id, response=response)
    step.result.update(exercise_id=ex_id, exercise=ex_name, session_id=session_id)
    return step


def _on_simple_fact(command: str) -> Callable[..., Step]:
    def handler(uow, m, parsed, now) -> Step:
        return _record_fact(uow, m, now, command, details=validate(command, parsed))
    return handler


def on_sleep(uow, m, parsed, now) -> Step:
    """A night's sleep, dated the morning it is recorded (``backstory day`` shows it on that date)."""
    return _record_fact(uow, m, now, "sleep", details=sleep_values(parsed))


def on_assess(uow, m, parsed, now) -> Step:
    """An outcome measure: its answers scored here; a score the mutation carries (an export) must match."""
    from domain import outcomes

    require_program(uow)
    instrument = outcomes.instrument_of("instrument", parsed["instrument"])
    answers, names = outcomes.parse_answers(instrument, parsed)
    score = outcomes.checked_score(instrument, answers, parsed.get("score"))
    step = _record_fact(uow, m, now, "assess", instrument=instrument, instrument_version=outcomes.VERSIONS[instrument],
                        answers=answers, activity_names=names, score=score)
    step.result.update(instrument=instrument, score=score)
    return step


def find_fact(uow: UnitOfWork, prefix: str, now: datetime) -> tuple[FactLog, str]:
    """The month log holding the fact whose id starts with ``prefix``, and the full id (newest months first)."""
    prefix = prefix.strip().lower()
    if len(prefix) < 6:
        raise NotFound("fact", "fact: give at least 6 characters of the fact's id")
    program = require_program(uow)
    started = datetime.fromisoformat(program.view().started).replace(tzinfo=timezone.utc)
    for month in reversed(months_between(started - timedelta(days=730), now + timedelta(days=1))):
        log = uow.fact_log(month)
        if log is not None:
            hits = [fid for fid in log.facts if fid.startswith(prefix)]
            if len(hits) == 1:
                return log, hits[0]
    raise NotFound("fact", f"fact: no fact with id {prefix!r}")


def on_correct(uow, m, parsed, now) -> Step:
    log, target = find_fact(uow, parsed["fact"], now)
    values = _with_hold({k: v for k, v in parsed.items() if k not in ("fact", "reason")})
    log.correct(target, values, parsed.get("reason"), derived_id(m.mutation_id, "fact"), m.occurred_at, now,
                m.device_id, m.mutation_id)
    return Step([log], {"fact_id": target, "changes": log.pending_events[-1].changes})


def on_void(uow, m, parsed, now) -> Step:
    log, target = find_fact(uow, parsed["fact"], now)
    log.void(target, parsed.get("reason"), derived_id(m.mutation_id, "fact"), m.occurred_at, now,
             m.device_id, m.mutation_id)
    return Step([log], {"fact_id": target})


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
