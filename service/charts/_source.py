"""What the charts read, read once: the program, its time zone and the period's facts.

A ``Source`` is shared by every chart drawn for one answer (the report draws
them all), so the month streams of facts are loaded once, and so are the insights
a chart and the report both show (the sessions' lights, the micro-break days). Voided facts are left
out; corrections are applied (``service.fact_reads.facts_between``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from service.application import Ledger, UnitOfWork, require_program
from service.record import Remembering

Reader = Ledger | UnitOfWork


@dataclass
class Source:
    reader: Reader
    since: datetime | None
    until: datetime | None
    now: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.reader, Remembering):
            self.reader = Remembering(self.reader)

    @cached_property
    def program(self) -> Any:
        return require_program(self.reader)

    @cached_property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.program.view().timezone)

    @cached_property
    def start(self) -> datetime:
        """``since``, else the program's start less the outcomes' look-back (a baseline taken at the clinic)."""
        from service.outcomes import LOOK_BACK

        if self.since is not None:
            return self.since
        return datetime.fromisoformat(self.program.view().started).replace(tzinfo=timezone.utc) - LOOK_BACK

    @cached_property
    def end(self) -> datetime:
        return self.until or self.now or datetime.now(timezone.utc)

    @cached_property
    def facts(self) -> list[dict]:
        from service.fact_reads import facts_between

        return [f for f in facts_between(self.reader, self.start, self.end) if not f["voided"]]

    @cached_property
    def _by_type(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for f in self.facts:
            out.setdefault(f["type"], []).append(f)
        return out

    def of(self, *types: str) -> list[dict]:
        """The facts of these types, in time order."""
        if len(types) == 1:
            return list(self._by_type.get(types[0], []))
        wanted = set(types)
        return [f for f in self.facts if f["type"] in wanted]

    @cached_property
    def record(self) -> Any:
        """The insights' ``Record`` of this reader (``service.record.ledger_record``), built once."""
        from service.record import ledger_record

        return ledger_record(self.reader)

    @cached_property
    def sessions(self) -> list[dict]:
        """The period's sessions with their traffic lights (``service.insights.lights.judged_sessions``)."""
        from service.insights.lights import judged_sessions

        return judged_sessions(self.record, self.start, self.end)

    @cached_property
    def breaks(self) -> dict:
        """``backstory breaks``'s answer for the period (``service.insights.breaks``): a chart and the report."""
        from service.insights.breaks import breaks

        now = (self.now or datetime.now(self.zone)).astimezone(self.zone)
        return breaks(self.record, self.start, self.end, now)

    @cached_property
    def decisions(self) -> list[Any]:
        """Every decision of the program (any valid time), in valid-time order."""
        from domain.timeline import time_key

        return sorted(self.reader.decisions(), key=lambda e: (time_key(e.occurred_at), e.originator_version))

    @cached_property
    def _local(self) -> dict[str, datetime]:
        return {}

    def local(self, iso: str) -> datetime:
        """An ISO time in the program's zone (remembered: several charts read the same facts)."""
        found = self._local.get(iso)
        if found is None:
            found = self._local[iso] = datetime.fromisoformat(iso).astimezone(self.zone)
        return found
