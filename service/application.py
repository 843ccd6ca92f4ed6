"""The eventsourcing application, and the per-program view of it that commands work through.

Persistence details stay behind the library's factory: the environment comes
from ``service.config`` and selects SQLite or PostgreSQL with the same code.
``BackstoryApp`` holds the store (one per process, serving every account);
``Ledger`` is one program's aggregates in it; ``UnitOfWork`` loads each
aggregate once, keeps the changes of several mutations in memory, and saves
them in one transaction. Programs and busy streams are snapshotted, so loading
reads a snapshot and a short tail.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any, Iterator
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.program import Program

if TYPE_CHECKING:
    from domain.conflicts import ConflictLog
    from domain.facts import FactLog
    from domain.mutations import MutationRecord
# The other aggregates' modules load when a stream of theirs is first read or named: a read of the
# program (``show``) of a store that never synced needs only Program, and each module costs start-up time.

# uuid5(NAMESPACE_URL, "https://backstory.invalid/programs") and program_id_for("local"), the CLI's own program,
# written out: computing a uuid5 imports hashlib (OpenSSL), a few ms of every read command's start-up.
# tests/unit/test_fixed_ids.py checks them.
PROGRAM_NAMESPACE = UUID("e4123ac8-a03e-5c72-9be1-ae4b9613e930")
LOCAL_PROGRAM_ID = UUID("bb043997-0ba9-57db-969f-89889d15c6a0")


def program_id_for(account: str) -> UUID:
    return LOCAL_PROGRAM_ID if account == "local" else uuid5(PROGRAM_NAMESPACE, account)


_SCHEMA_LOCK = 0x6273_7479  # "bsty": one advisory lock id for creating backstory's tables


@contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """Hold a lock while the store is checked and its tables created, so processes starting together do not race.

    eventsourcing 9.5 runs its DDL (CREATE ... IF NOT EXISTS, CREATE OR REPLACE
    FUNCTION) whenever an application opens, and on PostgreSQL two processes
    doing so at once fail with "tuple concurrently updated". SQLite needs none.
    Before anything is created, ``prepare_store`` refuses a database that is
    not backstory's or is of a newer schema version, and marks a new one.
    """
    from service.config import parse_store
    from service.store_check import connect_postgres, prepare_store

    store = parse_store(url)
    if store.is_sqlite:
        prepare_store(url)
        yield
        return
    with connect_postgres(store) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [_SCHEMA_LOCK])
        try:
            prepare_store(url)
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [_SCHEMA_LOCK])


def open_app(url: str) -> BackstoryApp:
    """The application on a store URL, its tables created once even when processes start together."""
    from service.config import parse_store

    with schema_lock(url):
        return BackstoryApp(parse_store(url).env)


class DateAsISO(Transcoding):
    """Dates as ISO strings in stored events."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


@cache
def snapshot_every() -> dict[type, int]:
    """How often each busy stream is snapshotted (in events)."""
    from domain.accounts import Device
    from domain.facts import FactLog
    from domain.outbox import Outbox

    return {Program: 100, FactLog: 200, Device: 100, Outbox: 50}


@cache
def lendable() -> tuple[type, ...]:
    """The aggregates a unit of work may borrow from memory instead of loading them again."""
    from domain.accounts import Device
    from domain.conflicts import ConflictLog
    from domain.facts import FactLog

    return (Program, FactLog, Device, ConflictLog)


def _project(aggregate: Any, events: Any) -> Any:
    """The library's projector without its per-event ``isinstance`` check against a runtime protocol,
    which cost a fifth of reading five years of month logs (Python 3.11's protocol checks are slow)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class Shelf:
    """Saved aggregates kept in memory between units of work, each lent to one unit at a time.

    A server loads the same program, month logs and device for every push;
    decoding their snapshots again was a large part of a push. A unit of work
    takes an aggregate off the shelf (no other unit can have it meanwhile),
    brings it up to date with the events stored since, and puts it back only
    after its own changes were saved. A unit that fails puts nothing back, so
    a refused or conflicting change never leaves a trace in memory.
    """

    def __init__(self, size: int = 64):
        self.size = size
        self._items: OrderedDict[UUID, Any] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, aggregate_id: UUID) -> Any | None:
        with self._lock:
            return self._items.pop(aggregate_id, None)

    def put(self, aggregates: list[Any]) -> None:
        with self._lock:
            for aggregate in aggregates:
                if isinstance(aggregate, lendable()) and not aggregate.pending_events:
                    self._items[aggregate.id] = aggregate
                    self._items.move_to_end(aggregate.id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class BackstoryApp(Application):
    """The event store of every program it holds."""

    name = "Backstory"
    is_snapshotting_enabled = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.shelf = Shelf()

    def save(self, *aggregates: Any, **kwargs: Any) -> Any:
        """Save, then snapshot from memory each aggregate that crossed its interval.

        The library's own snapshotting replays the aggregate from the store at
        every multiple of the interval, which made a 500-fact push into a busy
        month slower with each batch; one snapshot of the state already in
        memory costs only its encoding.
        """
        before = {a.id: a.version - len(a.pending_events) for a in aggregates if a is not None}
        recordings = super().save(*aggregates, **kwargs)
        for aggregate in aggregates:
            every = snapshot_every().get(type(aggregate))
            if every and aggregate is not None and before[aggregate.id] // every != aggregate.version // every:
                self.snapshots.put([Snapshot.take(aggregate)])
        return recordings

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def find(self, aggregate_id: UUID) -> Any | None:
        try:
            return self.repository.get(aggregate_id, projector_func=_project)
        except AggregateNotFoundError:
            return None

    def borrow(self, aggregate_id: UUID) -> Any | None:
        """An aggregate for a unit of work: from the shelf, brought up to date, or else from the store."""
        aggregate = self.shelf.take(aggregate_id)
        if aggregate is None:
            return self.find(aggregate_id)
        for event in self.events.get(aggregate_id, gt=aggregate.version):
            aggregate = event.mutate(aggregate)
        return aggregate

    def existing(self, stream_ids: list[UUID]) -> set[UUID]:
        """Which of these streams exist, in one query (the library reads one stream at a time).

        Reaches into the recorder's table and connection, which eventsourcing 9.5
        exposes as attributes of its SQLite and PostgreSQL recorders.
        """
        if not stream_ids:
            return set()
        recorder = self.recorder
        table = recorder.events_table_name
        if self.env.get("PERSISTENCE_MODULE", "").endswith("sqlite"):
            marks = ",".join("?" * len(stream_ids))
            with recorder.datastore.transaction(commit=False) as c:
                c.execute(f"SELECT originator_id FROM {table} WHERE originator_version=1 "
                          f"AND originator_id IN ({marks})", [i.hex for i in stream_ids])
                return {UUID(hex=row["originator_id"]) for row in c.fetchall()}
        from psycopg.sql import SQL, Identifier

        statement = SQL("SELECT originator_id FROM {}.{} WHERE originator_version = 1 "
                        "AND originator_id = ANY(%s)").format(Identifier(recorder.datastore.schema), Identifier(table))
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [list(stream_ids)])
            return {row["originator_id"] for row in curs.fetchall()}

    def find_small(self, aggregate_id: UUID) -> Any | None:
        """An aggregate that is never snapshotted, from its events alone (no snapshot lookup)."""
        aggregate = None
        for event in self.events.get(aggregate_id):
            aggregate = event.mutate(aggregate)
        return aggregate

    def ledger(self, program_id: UUID) -> Ledger:
        return Ledger(self, program_id)


class Ledger:
    """One program's aggregates in a store: the program, its fact months, mutations, conflicts."""

    def __init__(self, app: BackstoryApp, program_id: UUID):
        self.app = app
        self.program_id = program_id

    def program(self) -> Program | None:
        return self.app.find(self.program_id)

    def fact_log(self, month: str) -> FactLog | None:
        from domain.facts import fact_log_id

        return self.app.find(fact_log_id(self.program_id, month))

    def mutation_record(self, mutation_id: str) -> MutationRecord | None:
        from domain.mutations import mutation_record_id

        return self.app.find_small(mutation_record_id(self.program_id, mutation_id))

    def conflict_log(self) -> ConflictLog | None:
        from domain.conflicts import conflict_log_id

        return self.app.find(conflict_log_id(self.program_id))

    def decisions(self) -> list[Program.Event]:
        """Every stored decision event of the program, in recorded order."""
        return list(self.app.events.get(self.program_id))

    def decisions_after(self, version: int) -> list[Program.Event]:
        return list(self.app.events.get(self.program_id, gt=version))

    def save(self, *aggregates: Any) -> None:
        self.app.save(*aggregates)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self)

    def mutation_records(self, batch: int = 1000) -> Iterator[MutationRecord.Processed]:
        """Every processed mutation of this program in recorded order (from the notification log)."""
        from domain.mutations import mutation_record_id

        topics = ["domain.mutations:MutationRecord.Processed"]
        start = 1
        while True:
            notes = self.app.recorder.select_notifications(start, batch, topics=topics)
            for n in notes:
                event = self.app.mapper.to_domain_event(n)
                # The record's id derives from its program (v1 records carry no program_id).
                if event.originator_id == mutation_record_id(self.program_id, event.mutation_id):
                    yield event
            if len(notes) < batch:
                return
            start = notes[-1].id + 1


def require_program(reader: Ledger | UnitOfWork) -> Program:
    """The reader's program; a ``NotFound`` that says how to start one when there is none yet."""
    program = reader.program()
    if program is None:
        from domain.errors import NotFound

        raise NotFound("program", "there is no program yet; start one with `backstory init --name NAME`")
    return program


class UnitOfWork:
    """Aggregates loaded once and changed in memory by several mutations, saved together.

    A refused mutation leaves no trace: the domain checks everything before it
    records an event, and new aggregates join the unit only once their
    mutation succeeded (``add``).
    """

    _MISSING = object()

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.program_id = ledger.program_id
        self._cache: dict[UUID, Any] = {}
        self._touched: dict[UUID, tuple[Any, int]] = {}
        self._view: tuple[int, Any] | None = None

    def _get(self, aggregate_id: UUID, small: bool = False) -> Any | None:
        found = self._cache.get(aggregate_id, self._MISSING)
        if found is self._MISSING:
            app = self.ledger.app
            found = app.find_small(aggregate_id) if small else app.borrow(aggregate_id)
            self._cache[aggregate_id] = found
        if found is not None and aggregate_id not in self._touched:
            # Its pending events when the mutation first reached it: ``changed`` compares with these.
            self._touched[aggregate_id] = (found, len(found.pending_events))
        return found

    def prefetch(self, stream_ids: list[UUID]) -> None:
        """Learn in one query which of these streams are absent, so looking them up costs nothing."""
        wanted = [i for i in stream_ids if i not in self._cache]
        present = self.ledger.app.existing(wanted)
        for i in wanted:
            if i not in present:
                self._cache[i] = None

    def begin(self) -> None:
        """Start watching which aggregates the next mutation reaches (see ``changed``)."""
        self._touched = {}

    def add(self, *aggregates: Any) -> None:
        """Join aggregates to the unit, last: saved in the order they changed (an outcome after its effects)."""
        for aggregate in aggregates:
            self._cache.pop(aggregate.id, None)
            self._cache[aggregate.id] = aggregate

    def program(self) -> Program | None:
        return self._get(self.program_id)

    def fact_log(self, month: str) -> FactLog | None:
        from domain.facts import fact_log_id

        return self._get(fact_log_id(self.program_id, month))

    def mutation_record(self, mutation_id: str) -> MutationRecord | None:
        from domain.mutations import mutation_record_id

        return self._get(mutation_record_id(self.program_id, mutation_id), small=True)

    def current_view(self) -> Any:
        """The program as of now, computed once per program version in this unit."""
        program = self.program()
        if self._view is None or self._view[0] != program.version:
            self._view = (program.version, program.view())
        return self._view[1]

    def conflict_log(self) -> ConflictLog | None:
        from domain.conflicts import conflict_log_id

        return self._get(conflict_log_id(self.program_id))

    def get(self, aggregate_id: UUID) -> Any | None:
        return self._get(aggregate_id)

    def decisions(self) -> list[Program.Event]:
        program = self.program()
        pending = list(program.pending_events) if program else []
        return self.ledger.decisions() + pending

    def decisions_after(self, version: int) -> list[Program.Event]:
        program = self.program()
        pending = list(program.pending_events) if program else []
        return self.ledger.decisions_after(version) + [e for e in pending if e.originator_version > version]

    def changed(self) -> bool:
        """Whether an aggregate reached since ``begin`` got pending events since: a refusal must leave none.

        Reaching an aggregate (reading the program to resolve a name) is not a change; comparing the
        set of aggregates reached instead made every refused mutation redo its whole batch.
        """
        return any(len(a.pending_events) != n for a, n in self._touched.values())

    def pending(self) -> list[Any]:
        from domain.mutations import MutationRecord

        changed = [a for a in self._cache.values() if a is not None and a.pending_events]
        # Outcomes last: a month log changed again by a later mutation would otherwise be saved after an
        # earlier mutation's record, and a feed page cut there would show that outcome without its fact.
        return sorted(changed, key=lambda a: isinstance(a, MutationRecord))

    def save(self) -> None:
        changed = self.pending()
        if changed:
            self.ledger.save(*changed)
        self.ledger.app.shelf.put([a for a in self._cache.values() if a is not None])
