"""Tracking and catching up: each notification applied exactly once to each projection.

Each projection has a tracking row (its position: the id of the last
notification applied to it). A catch-up step runs in one write transaction:
it locks the tracking rows (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite
the transaction itself is the one writer, begun ``IMMEDIATE``), reads the
notifications after the lowest position, records stream owners, applies to
each projection only the notifications past its own position, and moves the
positions, all committed together. A concurrent catch-up waits for the lock
and then sees the new positions, so nothing is applied twice; a crash rolls
the whole step back, so a restart resumes exactly where the last commit left.

PostgreSQL's event store commits notification ids in order (it locks its table
for inserts), so reading "after my position" never passes over an id that
commits later.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, Engine, delete, insert, inspect, select, text, update

from projections import streams
from projections.base import Context, Item, Projection
from projections.engine import is_sqlite, reader, retrying, writer
from projections.tables import meta, metadata, tracking
from projections.tables import streams as streams_table

BATCH = 500
GROWTH = 4  # an unbounded catch-up (the follower's) that stays behind takes steps of up to BATCH * GROWTH
SKIP = ("eventsourcing.",)  # snapshots and other library records are not domain events


class Runner:
    """Applies the notification log to a set of projections, tracking each one's position."""

    def __init__(self, app, engine: Engine, projections: list[Projection], batch: int = BATCH):
        self.app = app
        self.engine = engine
        self.writer = writer(engine)
        self.reader = reader(engine)
        self.projections = projections
        self.by_name = {p.name: p for p in projections}
        self.batch = batch
        self._owners: dict[str, dict] = {}  # proj_streams rows read so far (they never change)

    # ----- setup --------------------------------------------------------------------------

    def setup(self) -> None:
        """Create missing tables, tracking rows and the database id (safe to run concurrently)."""
        retrying(self._setup)

    def _setup(self) -> None:
        with self.writer.begin() as conn:
            if not is_sqlite(self.engine):
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :what))"),
                             {"what": "/backstory-projections"})
            stale = self._stale(conn)
            metadata.create_all(conn, checkfirst=True)
            if stale:
                conn.execute(update(tracking).where(tracking.c.name.in_(stale)).values(position=0))
            have = set(conn.scalars(select(tracking.c.name)))
            missing = [{"name": p.name, "position": 0} for p in self.projections if p.name not in have]
            if missing:
                conn.execute(insert(tracking), missing)
            if conn.scalar(select(meta.c.value).where(meta.c.key == "database_id")) is None:
                conn.execute(insert(meta).values(key="database_id", value=str(uuid.uuid4())))

    def _stale(self, conn: Connection) -> list[str]:
        """Projections whose tables are missing or laid out otherwise than ``projections.tables`` says.

        Their remaining tables are dropped (to be made anew) and the caller moves them back to position 0,
        so the next catch-up rebuilds them: an upgrade that adds a table or a column needs no migration.
        """
        inspector = inspect(conn)
        stale = []
        for projection in self.projections:
            layouts = [{c["name"] for c in inspector.get_columns(t.name)} if inspector.has_table(t.name) else None
                       for t in projection.tables]
            if all(have == set(t.c.keys()) for have, t in zip(layouts, projection.tables)):
                continue
            stale.append(projection.name)
            for table, have in zip(projection.tables, layouts):
                if have is not None:
                    table.drop(conn)
        return stale

    def database_id(self) -> str:
        with self.reader.connect() as conn:
            return conn.scalar(select(meta.c.value).where(meta.c.key == "database_id"))

    # ----- positions ----------------------------------------------------------------------

    def _lock(self, conn: Connection) -> dict[str, int]:
        rows = conn.execute(select(tracking.c.name, tracking.c.position)
                            .where(tracking.c.name.in_(list(self.by_name)))
                            .order_by(tracking.c.name).with_for_update()).all()
        return {name: position for name, position in rows}

    def positions(self) -> dict[str, int]:
        with self.reader.connect() as conn:
            rows = conn.execute(select(tracking.c.name, tracking.c.position)).all()
        return {name: position for name, position in rows if name in self.by_name}

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    # ----- catching up --------------------------------------------------------------------

    def catch_up(self, limit: int | None = None) -> int:
        """Apply new notifications, at most ``limit``; return how many were applied."""
        if min(self.positions().values(), default=0) >= self.head():
            return 0  # nothing new: do not queue for the write lock
        done = 0
        size = self.batch
        while limit is None or done < limit:
            if limit is not None:
                size = min(self.batch, limit - done)
            applied = retrying(lambda size=size: self._step(size))
            done += applied
            if applied < size:
                break
            if limit is None:  # behind: larger steps spread each step's fixed round trips over more events
                size = min(size * 2, self.batch * GROWTH)
        return done

    def _early_read(self, size: int) -> tuple[int, list] | None:
        """On SQLite, the next notifications, read before the step takes the file's write lock.

        Read under that lock they need a second connection from the event store's pool, which a
        threaded server may have filled with writers queued behind that very lock: each waited out
        the pool's 5 s timeout. Positions only move under the lock, so the step checks they did not.
        """
        if not is_sqlite(self.engine):
            return None
        start = min(self.positions().values(), default=0) + 1
        return start, self.app.recorder.select_notifications(start, size)

    def _step(self, size: int) -> int:
        early = self._early_read(size)
        with self.writer.begin() as conn:
            positions = self._lock(conn)
            start = min(positions.values()) + 1
            notes = early[1] if early and early[0] == start else self.app.recorder.select_notifications(start, size)
            if not notes:
                return 0
            items = [Item(n, self.app.mapper.to_domain_event(n)) for n in notes if not n.topic.startswith(SKIP)]
            streams.record(conn, items)
            ctx = Context(streams.lookup(conn, items, self._owners))
            last = notes[-1].id
            moved = []
            for projection in self.projections:
                position = positions[projection.name]
                if position >= last:
                    continue
                mine = items if position < start else [i for i in items if i.id > position]
                if mine:
                    projection.apply(conn, mine, ctx)
                moved.append(projection.name)
            conn.execute(update(tracking).where(tracking.c.name.in_(moved)).values(position=last))
            return len(notes)

    def rebuild(self, names: list[str] | None = None) -> None:
        """Clear the named projections (all when None) and apply every notification to them again."""
        chosen = list(self.by_name) if names is None else list(names)
        unknown = sorted(set(chosen) - set(self.by_name))
        if unknown:
            raise ValueError(f"unknown projection(s): {', '.join(unknown)}; known: {', '.join(self.by_name)}")

        def reset() -> None:
            with self.writer.begin() as conn:
                self._lock(conn)
                for name in chosen:
                    self.by_name[name].clear(conn)
                    conn.execute(update(tracking).where(tracking.c.name == name).values(position=0))
                if set(chosen) == set(self.by_name):
                    conn.execute(delete(streams_table))

        retrying(reset)
        self.catch_up()
