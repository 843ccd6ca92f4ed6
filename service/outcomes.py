"""``outcomes``: baseline, latest, change and verdict per instrument, over the whole record.

NPRS comes from ``assess nprs`` and from check-ins' pain alike, in valid-time
order; voided facts are left out, corrections applied.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from domain.mcid import summarize
from domain.decision_context import CLOCK_TOLERANCE
from service.application import Ledger, UnitOfWork
from service.application import require_program

# Valid time may lie before the program started (a baseline taken at the clinic): look this far back.
from service.fact_reads import facts_between
LOOK_BACK = timedelta(days=730)


def measures(facts: Iterable[dict]) -> list[dict]:
    """The measurements among facts (in time order, corrections applied): assessments and check-in pain, each
    with the id of its fact."""
    out = []
    for f in facts:
        if f["voided"]:
            continue
        if f["type"] == "assess":
            out.append({"instrument": f["instrument"], "at": f["occurred_at"], "score": f["score"], "fact_id": f.get("id"),
                        "answers": f["answers"], "names": f.get("activity_names") or {},
                        **({"source": "assess"} if f["instrument"] == "nprs" else {})})
        elif f["type"] == "checkin" and f.get("pain") is not None:
            out.append({"instrument": "nprs", "at": f["occurred_at"], "score": f["pain"], "fact_id": f.get("id"),
                        "answers": {"pain": f["pain"]}, "source": "checkin"})
    return out


def assessment(f: dict) -> dict[str, Any]:
    """One assessment as ``recap`` lists it."""
    return {"fact_id": f.get("id"), "at": f["occurred_at"], "instrument": f["instrument"],
            "instrument_version": f["instrument_version"], "score": f["score"]}


def outcomes(reader: Ledger | UnitOfWork) -> dict[str, Any]:
    """Every measurement of the record, as the read model behind ``GET /v1/outcomes`` gives them: also one
    recorded a few minutes ahead (within the clock tolerance), which ``recap`` and the export already show."""
    program = require_program(reader)
    started = datetime.fromisoformat(program.view().started).replace(tzinfo=timezone.utc)
    ahead = datetime.now(timezone.utc) + CLOCK_TOLERANCE + timedelta(minutes=1)
    return summarize(measures(facts_between(reader, started - LOOK_BACK, ahead)))
