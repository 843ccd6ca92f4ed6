"""``export --format csv``: one row per logged session, for spreadsheets.

Columns: date and time (in the program's time zone), exercise, sets, reps,
hold (seconds), load, pain before/during/after, effort, tension, the next-day
verdict answering that session, and the note. Corrections are applied, voided
sessions left out. A text cell that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is
written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from domain.facts import month_of
from service.application import Ledger

COLUMNS = ("date", "time", "exercise", "sets", "reps", "hold_s", "load", "pain_before", "pain_during",
           "pain_after", "effort", "tension", "next_day", "note")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA) else value


def _load(load: dict | None) -> str:
    if not load:
        return ""
    if load.get("magnitude") is None:
        return load["type"]
    kind = "" if load["type"] == "free_weight" else f"{load['type']} "
    return f"{kind}{load['magnitude']:g} {load['unit']}"


def _tension(observations: list[dict] | None) -> str:
    return "; ".join(" ".join(str(t[k]) for k in ("muscle", "side", "kind", "intensity") if t.get(k) is not None)
                     for t in observations or [])


def _facts(ledger: Ledger) -> list[dict]:
    months = sorted({month_of(r.occurred_at) for r in ledger.mutation_records()
                     if r.mutation_type in ("log", "next-day") and r.status == "applied"})
    facts: list[dict] = []
    for month in months:
        log = ledger.fact_log(month)
        if log is not None:
            facts.extend(f for f in log.facts.values() if not f["voided"])
    facts.sort(key=lambda f: f["key"])
    return facts


def rows(ledger: Ledger) -> Iterator[list[Any]]:
    """The header, then each logged session in time order."""
    yield list(COLUMNS)
    program = ledger.program()
    if program is None:
        return
    zone = ZoneInfo(program.view().timezone)
    facts = _facts(ledger)
    verdicts = {f["session_id"]: f["verdict"] for f in facts if f["type"] == "next-day" and f.get("session_id")}
    for f in facts:
        if f["type"] != "log":
            continue
        at = datetime.fromisoformat(f["occurred_at"]).astimezone(zone)
        yield [at.strftime("%Y-%m-%d"), at.strftime("%H:%M"), _text(f.get("exercise")), f.get("sets"), f.get("reps"),
               f.get("hold_s"), _load(f.get("load")), f.get("pain_before"), f.get("pain_during"), f.get("pain_after"),
               f.get("effort"), _tension(f.get("tension")), verdicts.get(f["id"], ""), _text(f.get("note"))]


def csv_lines(ledger: Ledger) -> Iterator[str]:
    """The CSV text, one record at a time (a note's line breaks stay inside its quoted cell)."""
    for row in rows(ledger):
        out = io.StringIO()
        csv.writer(out).writerow(["" if v is None else v for v in row])
        yield out.getvalue().removesuffix("\r\n")
