"""What the insight queries read, whichever store holds it: the ``Record`` of one program.

An insight (``service.insights``) is a pure function of a ``Record``: the facts in a
valid-time range (corrections applied, voided ones flagged, oldest first), the decisions
(as ``history`` entries), the program as of a moment, its time zone and its policies. The
CLI builds a ``Record`` from the event store (``ledger_record``); the API builds one from
the read models (``projections.record``). Both give the same answers, so a device and the
server agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from domain.policies import PolicyBook
from domain.view import ProgramView
from service.application import Ledger, UnitOfWork, require_program

EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)


@dataclass
class Record:
    """One program's facts, decisions, policies and zone, read from one store."""

    timezone: ZoneInfo
    started: datetime
    policies: PolicyBook
    read_facts: Callable[[datetime, datetime], list[dict]]
    read_decisions: Callable[[], list[dict]]
    view_at: Callable[[datetime], ProgramView]

    def facts(self, since: datetime | None = None, until: datetime | None = None,
              types: Iterable[str] | None = None, voided: bool = False) -> list[dict]:
        """Facts with valid time in [since, until] (default: all), oldest first; voided ones only if asked."""
        wanted = set(types) if types is not None else None
        return [f for f in self.read_facts(since or EARLIEST, until or datetime.now(timezone.utc) + timedelta(days=1))
                if (wanted is None or f["type"] in wanted) and (voided or not f["voided"])]

    def decisions(self) -> list[dict]:
        """Every decision as a ``history`` entry, oldest first."""
        return self.read_decisions()

    def view(self, as_of: datetime) -> ProgramView:
        return self.view_at(as_of)


class Remembering:
    """A reader that loads the program, its decisions and each fact month once: an insight may read overlapping
    periods (a day, its next days' responses, back to the last flare), a report asks several times."""

    def __init__(self, reader: Ledger | UnitOfWork):
        self._reader = reader
        self._decisions: list | None = None
        self._months: dict[str, Any] = {}
        self._program: Any = None

    def program(self) -> Any:
        if self._program is None:
            self._program = self._reader.program()
        return self._program

    def decisions(self) -> list:
        if self._decisions is None:
            self._decisions = list(self._reader.decisions())
        return list(self._decisions)

    def fact_log(self, month: str) -> Any:
        if month not in self._months:
            self._months[month] = self._reader.fact_log(month)
        return self._months[month]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


def ledger_record(reader: Ledger | UnitOfWork) -> Record:
    """A ``Record`` read from the event store (what the CLI asks)."""
    from service.fact_reads import facts_between
    from service.queries import history

    remembering = Remembering(reader)
    program = require_program(remembering)
    return Record(
        timezone=ZoneInfo(program.view().timezone), started=program.started_at(),
        policies=program.policy_book(),
        read_facts=lambda since, until: facts_between(
            remembering, max(since, program.started_at() - timedelta(days=1)), until),
        read_decisions=lambda: history(remembering)["entries"],
        view_at=program.view,
    )
