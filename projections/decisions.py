"""The decision log of each program (for ``history`` and ``recap``) and its promotions (signature library).

A row per decision keeps what ``service.queries.history`` shows of it (its
command, both times, reason, from/to values, device and mutation) and a link
row per exercise it touched, so an exercise's history is an indexed lookup.
``promotions`` keeps, per exercise, its latest promotion (the evidence that
admitted it); which exercises are in the library now comes from the current
program.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, tuple_

from domain.timeline import time_key
from projections.base import Context, Item, Projection
from projections.bulk import bulk_insert
from projections.program import decisions as program_decisions
from projections.tables import decision_exercises, decisions, promotions


def decision_row(item: Item) -> dict:
    e = item.event
    before, after = e.change()
    return {
        "program_id": item.stream, "version": e.originator_version, "occurred_key": time_key(e.occurred_at),
        "command": e.command, "exercise_ids": list(e.exercise_ids),
        "occurred_at": e.occurred_at.isoformat(), "recorded_at": e.timestamp.isoformat(),
        "reason": e.reason, "reason_code": e.reason_code, "before": before, "after": after,
        "device_id": e.device_id, "mutation_id": e.mutation_id,
    }


class DecisionsProjection(Projection):
    """Every decision of every program, with the exercises it touched."""

    name = "decisions"
    tables = (decisions, decision_exercises)

    def apply(self, conn: Connection, items: list[Item], ctx: Context) -> None:
        rows = [decision_row(i) for i in program_decisions(items)]
        if not rows:
            return
        bulk_insert(conn, decisions, rows)
        links = {(r["program_id"], x, r["version"]) for r in rows for x in r["exercise_ids"]}
        if links:
            bulk_insert(conn, decision_exercises, [
                {"program_id": p, "exercise_id": x, "version": v} for p, x, v in sorted(links)])


class SignatureProjection(Projection):
    """Each exercise's latest promotion: when, forced or earned, why, and the evidence."""

    name = "signature"
    tables = (promotions,)

    def apply(self, conn: Connection, items: list[Item], ctx: Context) -> None:
        latest: dict[tuple[str, str], dict] = {}
        for item in program_decisions(items):
            e = item.event
            if e.command == "promote":
                latest[(item.stream, e.exercise_id)] = {
                    "program_id": item.stream, "exercise_id": e.exercise_id, "version": e.originator_version,
                    "promoted_at": e.occurred_at.isoformat(), "forced": e.forced, "reason": e.reason,
                    "evidence": e.evidence,
                }
        if not latest:
            return
        keys = list(latest)
        for chunk in range(0, len(keys), 200):
            conn.execute(delete(promotions).where(
                tuple_(promotions.c.program_id, promotions.c.exercise_id).in_(keys[chunk:chunk + 200])))
        conn.execute(insert(promotions), list(latest.values()))
