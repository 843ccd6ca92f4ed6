"""A ``service.record.Record`` read from the read models, so the API's insights match the CLI's."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from domain.policies import PolicyBook
from domain.timeline import time_key
from projections import queries
from projections.tables import decisions, facts
from service.record import Record


def projected_record(conn: Connection, program_id: str) -> Record:
    """The program's facts (``proj_facts``), decisions (``proj_decisions``), view and policies."""
    head = queries.require_program(conn, program_id)
    decided: list[list[dict]] = []

    def read_decisions() -> list[dict]:
        if not decided:  # every decision, read once and only when a question needs them
            decided.append(queries.history(conn, program_id)["entries"])
        return decided[0]

    def read_facts(since: datetime, until: datetime) -> list[dict]:
        rows = conn.execute(
            select(facts.c.data).where(facts.c.program_id == program_id, facts.c.occurred_key >= time_key(since),
                                       facts.c.occurred_key <= time_key(until))
            .order_by(facts.c.occurred_key, facts.c.position)).all()
        return [r.data for r in rows]

    return Record(
        timezone=ZoneInfo(head["timezone"]), started=datetime.fromisoformat(head["started"] + "+00:00"),
        policies=_policies(conn, program_id), read_facts=read_facts, read_decisions=read_decisions,
        view_at=lambda as_of: queries.view_at(conn, program_id, as_of, None),
    )


def _policies(conn: Connection, program_id: str) -> PolicyBook:
    """The program's policy changes alone, in valid-time order (ties: recorded order)."""
    rows = conn.execute(
        select(decisions.c.occurred_at, decisions.c.after).where(
            decisions.c.program_id == program_id, decisions.c.command == "policy-set")
        .order_by(decisions.c.occurred_key, decisions.c.version)).all()
    return PolicyBook.from_changes((r.after["policy"], datetime.fromisoformat(r.occurred_at), r.after["params"])
                                   for r in rows)
