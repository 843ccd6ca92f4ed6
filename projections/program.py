"""The program read models: the current program, and the bitemporal timeline of its fields.

Both are fed by the effects of each ``Program`` decision (``effects()``: the
absolute values it gives to (entity, field)). The ``timeline`` keeps every
effect with its valid-time key, version and recorded-time key, so the program
as of D as known at T is one window query (``projections.queries``). The
``program`` projection keeps, per field, only the effect latest in valid time
(the program as of the end of time, as known now; for the program's start, the
earliest: ``domain.timeline.earliest_wins``) and the materialized view of it: the
program row and one row per exercise.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, delete, insert, select, tuple_

from domain.timeline import earliest_wins, time_key
from domain.view import materialize
from projections.base import Context, Item, Projection
from projections.bulk import bulk_insert
from projections.tables import program_exercises, program_fields, programs, timeline

PROGRAM = "domain.program:Program."


def decisions(items: list[Item]) -> list[Item]:
    """The items that are program decisions (``Program.Started`` included)."""
    return [i for i in items if i.is_a(PROGRAM) and hasattr(i.event, "effects")]


def effect_rows(item: Item) -> list[dict[str, Any]]:
    e = item.event
    okey, rkey = time_key(e.occurred_at), time_key(e.timestamp)
    return [{"program_id": item.stream, "entity": entity, "field": field, "occurred_key": okey,
             "version": e.originator_version, "idx": idx, "recorded_key": rkey, "value": value}
            for idx, (entity, field, value) in enumerate(e.effects())]


class TimelineProjection(Projection):
    """Every effect of every decision, along valid and recorded time."""

    name = "timeline"
    tables = (timeline,)

    def apply(self, conn: Connection, items: list[Item], ctx: Context) -> None:
        rows = [r for i in decisions(items) for r in effect_rows(i)]
        if rows:
            bulk_insert(conn, timeline, rows)


def _order(row: dict) -> tuple[str, int, int]:
    return row["occurred_key"], row["version"], row["idx"]


class ProgramProjection(Projection):
    """The current program: the latest value of every field, materialized."""

    name = "program"
    tables = (programs, program_fields, program_exercises)

    def apply(self, conn: Connection, items: list[Item], ctx: Context) -> None:
        by_program: dict[str, list[Item]] = defaultdict(list)
        for item in decisions(items):
            by_program[item.stream].append(item)
        for program_id, mine in by_program.items():
            self._apply_program(conn, program_id, mine)

    def _apply_program(self, conn: Connection, program_id: str, items: list[Item]) -> None:
        fields = {(r["entity"], r["field"]): dict(r) for r in conn.execute(
            select(program_fields).where(program_fields.c.program_id == program_id)).mappings()}
        head = conn.execute(select(programs).where(programs.c.program_id == program_id)).mappings().first()
        version = head["version"] if head else 0
        max_okey = head["max_occurred_key"] if head else ""
        max_rkey = head["max_recorded_key"] if head else ""
        changed: set[tuple[str, str]] = set()
        for item in items:
            for row in effect_rows(item):
                key = (row["entity"], row["field"])
                if key not in fields or (_order(row) < _order(fields[key]) if earliest_wins(*key)
                                         else _order(row) > _order(fields[key])):
                    row.pop("recorded_key")
                    fields[key] = row
                    changed.add(key)
                max_okey, max_rkey = max(max_okey, row["occurred_key"]), max(max_rkey, time_key(item.event.timestamp))
            version = max(version, item.event.originator_version)
        if changed:
            keys = list(changed)
            for chunk in range(0, len(keys), 200):
                conn.execute(delete(program_fields).where(
                    program_fields.c.program_id == program_id,
                    tuple_(program_fields.c.entity, program_fields.c.field).in_(keys[chunk:chunk + 200])))
            conn.execute(insert(program_fields), [fields[k] for k in keys])
        state: dict[str, dict[str, Any]] = defaultdict(dict)
        for (entity, field), row in fields.items():
            state[entity][field] = row["value"]
        view = materialize(state)
        conn.execute(delete(programs).where(programs.c.program_id == program_id))
        conn.execute(insert(programs).values(
            program_id=program_id, name=view.name, timezone=view.timezone, started=view.started,
            fitting=view.fitting, version=version, max_occurred_key=max_okey, max_recorded_key=max_rkey))
        conn.execute(delete(program_exercises).where(program_exercises.c.program_id == program_id))
        if view.exercises:
            conn.execute(insert(program_exercises), [
                {"program_id": program_id, "exercise_id": e.id, "name": e.name, "kind": e.kind, "added": e.added,
                 "status": e.status, "signature": e.signature, "parent": e.parent, "components": e.components,
                 "prescription": e.prescription}
                for e in view.exercises.values()])
