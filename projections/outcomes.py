"""Outcome measures from the facts table: a recap's assessments, and ``outcomes`` (as ``service.outcomes``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from domain.mcid import summarize
from domain.timeline import time_key
from projections.tables import facts
from service.outcomes import assessment, measures


def _require_program(conn: Connection, program_id: str) -> None:
    from projections.queries import require_program

    require_program(conn, program_id)


def assessments(conn: Connection, program_id: str, since: datetime, until: datetime) -> list[dict]:
    rows = conn.execute(
        select(facts.c.data).where(facts.c.program_id == program_id, facts.c.voided.is_(False),
                                   facts.c.type == "assess", facts.c.occurred_key >= time_key(since),
                                   facts.c.occurred_key <= time_key(until))
        .order_by(facts.c.occurred_key, facts.c.position)).all()
    return [assessment(r.data) for r in rows]


def outcomes(conn: Connection, program_id: str) -> dict[str, Any]:
    """``service.outcomes`` from the facts table: assessments and check-in pain, corrections applied."""
    _require_program(conn, program_id)
    rows = conn.execute(
        select(facts.c.data).where(facts.c.program_id == program_id, facts.c.voided.is_(False),
                                   facts.c.type.in_(("assess", "checkin")))
        .order_by(facts.c.occurred_key, facts.c.position)).all()
    return summarize(measures(r.data for r in rows))
