"""``Projections``: the one object the API and the CLI use for the read side.

It opens the read models in the event store's own database, creates their
tables when missing, catches up from the notification log, reports each
projection's position and lag, rebuilds on demand, and answers the read
queries. Reads answer from what has been applied so far: call ``catch_up()``
first when a reader must see its own writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from sqlalchemy import Connection

from projections import feed as feed_model
from projections import queries
from projections.engine import make_engine
from projections.registry import all_projections
from projections.runner import Runner
from service.record import Record

T = TypeVar("T")


class Projections:
    """The read models of one store: catch-up, status, rebuild, and the queries they serve."""

    def __init__(self, app, url: str, batch: int = 500):
        self.app = app
        self.url = url
        self.engine = make_engine(url)
        self.runner = Runner(app, self.engine, all_projections(), batch=batch)
        self.runner.setup()
        self._database_id: str | None = None

    # ----- keeping up ----------------------------------------------------------------------

    def catch_up(self, limit: int | None = None) -> int:
        """Apply new notifications (at most ``limit``); return how many. Safe to call concurrently."""
        return self.runner.catch_up(limit)

    def status(self) -> list[dict]:
        """Each projection's position, the head of the notification log, and the lag between them."""
        head = self.runner.head()
        positions = self.runner.positions()
        return [{"name": p.name, "position": positions.get(p.name, 0), "head": head,
                 "lag": max(head - positions.get(p.name, 0), 0)} for p in self.runner.projections]

    def lag(self, name: str) -> int:
        """How many notifications the named projection has not applied yet."""
        return max(self.runner.head() - self.runner.positions().get(name, 0), 0)

    def rebuild(self, names: list[str] | None = None) -> None:
        """Clear the named projections (all when None) and re-apply every notification."""
        self.runner.rebuild(names)

    def database_id(self) -> str:
        """A random id of this database, made once when the read models were first created."""
        if self._database_id is None:
            self._database_id = self.runner.database_id()
        return self._database_id

    # ----- queries ------------------------------------------------------------------------

    def _read(self, query: Callable[[Connection], T]) -> T:
        with self.runner.reader.begin() as conn:
            return query(conn)

    def feed(self, program_id: UUID | str, after: int, limit: int) -> tuple[list[dict], bool]:
        """The program's feed entries after position ``after`` (at most ``limit``), and whether more follow."""
        return self._read(lambda c: feed_model.read(c, str(program_id), after, limit))

    def timezone(self, program_id: UUID | str) -> str | None:
        """The program's time zone as the read models hold it; None when they hold no such program."""
        return self._read(lambda c: queries.timezone(c, str(program_id)))

    def program(self, program_id: UUID | str, as_of: datetime, known_at: datetime | None = None) -> dict:
        return self._read(lambda c: queries.program(c, str(program_id), as_of, known_at))

    def history(self, program_id: UUID | str, exercise: str | None = None, since: datetime | None = None,
                until: datetime | None = None, after: list | None = None, limit: int | None = None) -> dict:
        """Decisions; with ``limit``, one page after the keyset ``after``, with ``last_key`` and ``has_more``."""
        return self._read(lambda c: queries.history(c, str(program_id), exercise, since, until, after, limit))

    def sessions(self, program_id: UUID | str, since: datetime | None = None, until: datetime | None = None,
                 after: list | None = None, limit: int | None = None, exercise: str | None = None) -> dict:
        """Sessions with their lights (of one exercise, if named); with ``limit``, one page after the keyset
        ``after``, with ``last_key`` and ``has_more``."""
        return self._read(lambda c: queries.sessions(c, str(program_id), since, until, after, limit, exercise))

    def recap(self, program_id: UUID | str, since: datetime, until: datetime, tz) -> dict:
        return self._read(lambda c: queries.recap(c, str(program_id), since, until, tz))

    def outcomes(self, program_id: UUID | str) -> dict:
        from projections.outcomes import outcomes

        return self._read(lambda c: outcomes(c, str(program_id)))

    def with_record(self, program_id: UUID | str, question: Callable[[Record], T]) -> T:
        """Answer an insight question (``service.insights``) from the read models of one program."""
        from projections.record import projected_record

        return self._read(lambda c: question(projected_record(c, str(program_id))))

    def signature(self, program_id: UUID | str) -> dict:
        return self._read(lambda c: queries.signature(c, str(program_id)))

    def conflicts(self, program_id: UUID | str) -> list[dict]:
        return self._read(lambda c: queries.conflicts(c, str(program_id)))

    def conflicts_page(self, program_id: UUID | str, after: list | None, limit: int) -> tuple[list[dict], list | None, bool]:
        """One page of conflicts after the keyset ``after``, its last key, and whether more follow."""
        return self._read(lambda c: queries.conflicts_page(c, str(program_id), after, limit))

    def devices(self, account_id: UUID | str) -> list[dict]:
        return self._read(lambda c: queries.devices(c, str(account_id)))

    def pain_by_day(self, program_id: UUID | str, since: str | None = None, until: str | None = None,
                    after: str | None = None) -> list[dict]:
        """Pain, sessions, check-ins, breaks and flares per local day (``YYYY-MM-DD``), after the day ``after``."""
        return self._read(lambda c: queries.pain_by_day(c, str(program_id), since, until, after))

    def close(self) -> None:
        self.engine.dispose()
