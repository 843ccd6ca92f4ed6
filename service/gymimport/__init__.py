"""Importing history from gym apps (Hevy, Strong): parse the CSV export, map it, record it.

``parse`` reads a whole file (``hevy.py``, ``strong.py``) into workouts
(``model.py``) or raises ``BadFile`` naming the row, the column and what was
expected; ``mapping.plan`` turns workouts into mutations with ids derived from
the source rows; ``store.record`` checks them all against the store and then
records them through the one command path, or nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from service.gymimport.model import SOURCES, Parsed


def parse(source: str, text: str) -> Parsed:
    """A whole export of ``source`` (hevy or strong), read and checked."""
    from service.gymimport import hevy, strong

    parsers = {"hevy": hevy.parse, "strong": strong.parse}
    if source not in parsers:
        from domain.errors import InvalidValue

        raise InvalidValue("from", f"{source!r} is not allowed; use one of: {', '.join(SOURCES)}")
    return parsers[source](text)


def import_text(device: Any, source: str, text: str, *, zone: str, name: str, unit: str | None = None,
                dry_run: bool = False, now: datetime) -> tuple[dict[str, Any], list[str]]:
    """Parse, map and record an export; the summary (see ``store.summary``) and the exercises kept as they were."""
    from service.gymimport.mapping import plan
    from service.gymimport.store import record

    planned = plan(parse(source, text), ZoneInfo(zone), unit, now)
    return record(device, planned, zone=zone, name=name, dry_run=dry_run, now=now)
