"""``export --format fhir``: the record as one FHIR R4 ``Bundle`` (type ``collection``) of plain dicts.

The plan (Patient, CarePlan, one ServiceRequest per exercise and prescription
version) is always whole; ``since``/``until`` bound the events (Procedures,
pain Observations, QuestionnaireResponses and their score Observations) by
valid time. Ids are uuid5 of backstory's own ids, so the same store gives the
same bundle; nothing in it depends on the clock. Left out: device ids,
tokens, reasons for decisions, tension, effort, breaks and flares.
The events are built in ``service.fhir_events``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from domain.program import Program
from domain.timeline import time_key
from service.application import Ledger, UnitOfWork
from service.application import require_program
from service.fact_reads import facts_between

NAMESPACE = uuid5(NAMESPACE_URL, "https://backstory.invalid/fhir")
LOCAL = "https://backstory.invalid/fhir/CodeSystem"  # the local code systems (README, "FHIR export")
# Which prescription versions a status maps to; a version replaced by a later one is revoked too.
STATUS = {"active": "active", "paused": "on-hold", "retired": "revoked", "deconstructed": "revoked"}
RX_COMMANDS = ("add", "progress", "regress", "adapt", "retire", "deconstruct", "rebuild")


def resource_id(program_id: UUID | str, *parts: str) -> str:
    """A resource's stable id: uuid5 of the program and the backstory ids it stands for."""
    return str(uuid5(NAMESPACE, ":".join([str(program_id), *parts])))


def ref(rid: str) -> dict[str, str]:
    return {"reference": f"urn:uuid:{rid}"}


class Context:
    """What every resource builder needs: the program's ids, its time zone and the plan's ids."""

    def __init__(self, program: Program, program_id: UUID | str):
        self.program = program
        self.program_id = str(program_id)
        self.view = program.view()
        self.zone = ZoneInfo(self.view.timezone or "UTC")
        self.patient = resource_id(program_id, "patient")
        self.careplan = resource_id(program_id, "careplan")
        self.versions: dict[str, list[dict]] = {}  # exercise id -> versions in valid-time order

    def time(self, moment: str | datetime) -> str:
        """A moment in the program's time zone, with its offset."""
        at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        if at.tzinfo is None:  # the timeline keeps UTC keys without an offset
            at = at.replace(tzinfo=timezone.utc)
        return at.astimezone(self.zone).isoformat()

    def request_for(self, exercise_id: str | None, key: str) -> str | None:
        """The ServiceRequest in effect for an exercise at a time key (its first version before it existed)."""
        versions = self.versions.get(exercise_id or "")
        if not versions:
            return None
        chosen = versions[0]
        for v in versions:
            if v["key"] <= key:
                chosen = v
        return chosen["id"]


def _dims(rx: dict) -> list[str]:
    """The prescription's dimensions as short ``name: value`` lines (the structured notes)."""
    out = []
    pos = rx.get("position") or {}
    if pos:
        out.append(f"position: stage {pos.get('stage')}" + (f" {pos['posture']}" if pos.get("posture") else ""))
    load = rx.get("load") or {}
    if load:
        amount = f" {load['magnitude']:g} {load.get('unit') or ''}".rstrip() if load.get("magnitude") is not None else ""
        out.append(f"load: {load.get('type')}{amount}")
    direction = {k: v for k, v in (rx.get("direction") or {}).items() if v}
    if direction:
        out.append("direction: " + ", ".join(f"{k} {v}" for k, v in sorted(direction.items())))
    if rx.get("sets") is not None:
        out.append(f"sets: {rx['sets']}")
    if rx.get("reps") is not None:
        out.append(f"reps: {rx['reps']}" + (" per side" if rx.get("per_side") else ""))
    if rx.get("hold_s") is not None:
        out.append(f"hold: {rx['hold_s']} s" + (" per side" if rx.get("per_side") else ""))
    if rx.get("range"):
        out.append(f"range: {rx['range']}")
    for name in ("target", "protect", "cues"):
        if rx.get(name):
            out.append(f"{name}: {', '.join(str(x) for x in rx[name])}")
    return out


def _volume(rx: dict) -> str:
    each = f"{rx['reps']} reps" if rx.get("reps") is not None else f"{rx.get('hold_s')} s hold"
    side = " per side" if rx.get("per_side") else ""
    return f"{rx.get('sets')} x {each}{side}"


def _versions(ctx: Context, decisions: list) -> None:
    """Each exercise's prescription versions: a new one wherever a decision changed its prescription."""
    for e in decisions:
        if e.command not in RX_COMMANDS:
            continue
        view = ctx.program.view(e.occurred_at)
        for eid in e.exercise_ids:
            ex = view.exercises.get(eid)
            if ex is None or eid not in ctx.view.exercises:
                continue
            versions = ctx.versions.setdefault(eid, [])
            if versions and versions[-1]["prescription"] == ex.prescription:
                continue
            versions.append({"id": resource_id(ctx.program_id, "servicerequest", eid, e.mutation_id),
                             "key": time_key(e.occurred_at), "at": e.occurred_at,
                             "prescription": dict(ex.prescription)})


def _service_requests(ctx: Context) -> list[dict]:
    out = []
    for eid, versions in ctx.versions.items():
        ex = ctx.view.exercises[eid]
        for i, v in enumerate(versions):
            last = i == len(versions) - 1
            rx = v["prescription"]
            period = {"start": ctx.time(v["at"])}
            if not last:
                period["end"] = ctx.time(versions[i + 1]["at"])
            sr = {
                "resourceType": "ServiceRequest", "id": v["id"],
                "status": STATUS.get(ex.status, "unknown") if last else "revoked",
                "intent": "plan", "subject": ref(ctx.patient), "basedOn": [ref(ctx.careplan)],
                "code": {"text": ex.name},
                "category": [{"coding": [{"system": f"{LOCAL}/exercise-kind", "code": ex.kind}]}] if ex.kind else None,
                "patientInstruction": f"{ex.name}: {_volume(rx)}",
                "note": [{"text": line} for line in _dims(rx)],
                "occurrencePeriod": period,
                "identifier": [{"system": f"{LOCAL}/exercise", "value": eid}],
            }
            if i:
                sr["replaces"] = [ref(versions[i - 1]["id"])]
            out.append({k: v for k, v in sr.items() if v is not None})
    return out


def _careplan(ctx: Context) -> dict:
    statuses = {ex.status for ex in ctx.view.exercises.values()}
    plan = {
        "resourceType": "CarePlan", "id": ctx.careplan,
        "status": "active" if statuses & {"active", "paused"} or not statuses else "completed",
        "intent": "plan", "title": ctx.view.name, "subject": ref(ctx.patient),
        "activity": [{"reference": ref(versions[-1]["id"])} for versions in ctx.versions.values()],
    }
    if ctx.view.started:
        plan["period"] = {"start": ctx.time(ctx.view.started)}
    if not plan["activity"]:
        del plan["activity"]
    return plan


def _activity_names(reader: Ledger | UnitOfWork, lo: datetime, since: datetime) -> dict[str, str]:
    """The PSFS activities' names given before a period, so an assessment in it says them as the whole record
    does (a name is given once and kept until renamed)."""
    names: dict[str, str] = {}
    for f in facts_between(reader, lo, since - timedelta(microseconds=1)):
        if f["type"] == "assess" and not f["voided"]:
            names.update(f.get("activity_names") or {})
    return names


def bundle(reader: Ledger | UnitOfWork, since: datetime | None = None, until: datetime | None = None) -> dict:
    """The record as a FHIR R4 Bundle of type ``collection``; events in [since, until] of valid time."""
    from service.fhir_events import events
    from service.outcomes import LOOK_BACK

    program = require_program(reader)
    ctx = Context(program, reader.program_id)
    decisions = sorted(reader.decisions(), key=lambda e: (time_key(e.occurred_at), e.originator_version))
    _versions(ctx, decisions)
    started = datetime.fromisoformat(ctx.view.started).replace(tzinfo=timezone.utc)
    lo = since or started - LOOK_BACK
    hi = until or datetime.now(timezone.utc) + timedelta(days=1)  # a fact may lie within the clock tolerance ahead
    facts = [f for f in facts_between(reader, lo, hi) if not f["voided"]]
    named = _activity_names(reader, started - LOOK_BACK, since) if since and any(
        f["type"] == "assess" and f["instrument"] == "psfs" for f in facts) else {}
    patient = {"resourceType": "Patient", "id": ctx.patient, "name": [{"text": ctx.view.name}]}
    resources = [patient, _careplan(ctx), *_service_requests(ctx), *events(ctx, facts, named)]
    window = ":".join(time_key(t) if t else "" for t in (since, until))
    return {
        "resourceType": "Bundle", "id": resource_id(ctx.program_id, "bundle", window), "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def bundle_json(reader: Ledger | UnitOfWork, since: datetime | None = None, until: datetime | None = None) -> str:
    """The bundle as JSON text: sorted keys, so the same store gives the same bytes."""
    return json.dumps(bundle(reader, since, until), sort_keys=True, indent=2, ensure_ascii=False)
