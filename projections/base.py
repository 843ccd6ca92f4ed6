"""What every projection is given and must provide.

The runner decodes each notification once into an ``Item`` (the notification,
its domain event, and which program or account its stream belongs to) and
hands a projection only the items after that projection's own position, in
notification order, inside the transaction that then moves its tracking row.
A projection's ``apply`` must therefore be a pure function of the items and
the projection's own tables, so that a rebuild gives the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from eventsourcing.persistence import Notification
from sqlalchemy import Connection, Table, delete


@dataclass
class Item:
    """One notification, decoded, with the program (or account) of its stream."""

    note: Notification
    event: Any
    program_id: str | None = None
    account_id: str | None = None

    @property
    def id(self) -> int:
        return self.note.id

    @property
    def topic(self) -> str:
        return self.note.topic

    @property
    def type(self) -> str:
        """The event class's qualified name, e.g. ``Program.ExerciseProgressed``."""
        return self.note.topic.split(":", 1)[-1]

    @property
    def stream(self) -> str:
        return str(self.note.originator_id)

    def is_a(self, prefix: str) -> bool:
        """Whether the event's topic starts with ``prefix`` (e.g. ``domain.facts:FactLog.``)."""
        return self.note.topic.startswith(prefix)


class Context:
    """What a projection may ask about streams: each program's time zone as of a notification."""

    def __init__(self, timezones: dict[str, tuple[str | None, int]]):
        self._timezones = timezones

    def timezone(self, program_id: str | None, at: int) -> ZoneInfo:
        """The program's time zone as known just before notification ``at`` (UTC before its start)."""
        tz, since = self._timezones.get(program_id or "", (None, 0))
        return ZoneInfo(tz if tz and since < at else "UTC")

    def day(self, program_id: str | None, at: int, moment: datetime) -> str:
        return moment.astimezone(self.timezone(program_id, at)).date().isoformat()


class Projection:
    """A named read model: its tables, and how a run of items changes them."""

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]

    def apply(self, conn: Connection, items: list[Item], ctx: Context) -> None:
        raise NotImplementedError

    def clear(self, conn: Connection) -> None:
        for table in self.tables:
            conn.execute(delete(table))
