"""Is a database backstory's, and of a schema version this code reads? Checked before anything is created.

Every store carries a marker: a ``backstory_meta`` table whose ``schema_version``
row says which layout of tables wrote it (``SCHEMA_VERSION`` today). Opening a
store first inspects it, read-only:

- nothing there (no file, an empty file, a SQLite file or PostgreSQL schema
  without tables): a new store; the marker is written, then the tables;
- the marker, at this version or older: backstory's, opened as usual;
- the marker of a newer version: refused (``NewerStore``), nothing changed;
- no marker, but backstory's own tables and events: a store made before the
  marker existed, taken as version 1 and marked;
- anything else (a text file, another application's tables or events):
  refused (``ForeignStore``), nothing changed, no table created.

``check_store(url)`` only inspects; ``prepare_store(url)`` inspects and writes
the marker when it is missing. Both raise before the event store or the read
models touch the database, so a foreign file stays byte-for-byte as it was.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from service.config import Store, StoreConfigError, parse_store

SCHEMA_VERSION = 1
META_TABLE = "backstory_meta"
# eventsourcing's own names: plain on SQLite, prefixed by the application's name on PostgreSQL
EVENTS_TABLE = {"sqlite": "stored_events", "postgres": "backstory_events"}
OWN_TABLES = {"stored_events", "stored_snapshots", "backstory_events", "backstory_snapshots", META_TABLE}
OWN_PREFIX = "proj_"  # the read models' tables
OWN_TOPICS = ("domain.", "eventsourcing.")
SQLITE_MAGIC = b"SQLite format 3\x00"

NEW, UNMARKED, MARKED = "new", "unmarked", "marked"


class ForeignStore(StoreConfigError):
    """The database belongs to something else; backstory leaves it alone."""

    kind = "not a backstory store"


class NewerStore(StoreConfigError):
    """The store was written by a newer backstory, whose tables this version may not understand."""

    kind = "store of a newer backstory"


def check_store(url: str) -> str:
    """Inspect the store without changing it: ``NEW``, ``UNMARKED`` or ``MARKED``, or raise."""
    store = parse_store(url)
    return _inspect_sqlite(store) if store.is_sqlite else _inspect_postgres(store)


def prepare_store(url: str) -> None:
    """Check the store and write its marker when it has none (a new store, or one made before markers)."""
    store = parse_store(url)
    state = check_store(url)
    if state == MARKED:
        return
    if store.is_sqlite:
        _mark_sqlite(store)
    else:
        _mark_postgres(store)


# ----- judging what was found -------------------------------------------------------------------


def _events_table(store: Store) -> str:
    return EVENTS_TABLE["sqlite" if store.is_sqlite else "postgres"]


def _judge(store: Store, tables: set[str], version: str | None, first_topic: str | None) -> str:
    if version is not None:
        return _judge_version(store, version)
    where = _where(store)
    if not tables:
        return NEW
    foreign = sorted(t for t in tables if t not in OWN_TABLES and not t.startswith(OWN_PREFIX))
    if foreign or _events_table(store) not in tables:
        named = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        hint = "a new file" if store.is_sqlite else "a schema of its own (?schema=NAME)"
        raise ForeignStore(f"{where} holds tables of another application ({named or ', '.join(sorted(tables))}); "
                           f"nothing was changed: give --db {hint}")
    if first_topic is not None and not first_topic.startswith(OWN_TOPICS):
        raise ForeignStore(f"{where} holds events of another application ({first_topic[:60]!r}); "
                           f"nothing was changed")
    return UNMARKED


def _judge_version(store: Store, version: str) -> str:
    where = _where(store)
    if not version.isdigit():
        raise ForeignStore(f"{where} has a {META_TABLE} table whose schema_version is {version[:20]!r}, "
                           f"not a number; nothing was changed")
    if int(version) > SCHEMA_VERSION:
        raise NewerStore(f"{where} has schema version {int(version)}, and this backstory reads up to "
                         f"{SCHEMA_VERSION}; nothing was changed (upgrade backstory to open it)")
    return MARKED


# ----- SQLite -----------------------------------------------------------------------------------


def _inspect_sqlite(store: Store) -> str:
    path = Path(store.env["SQLITE_DBNAME"])
    where = _where(store)
    if not path.exists():
        return NEW
    if not path.is_file():
        raise ForeignStore(f"{where} is not a file")
    with path.open("rb") as f:
        head = f.read(20)
    if not head:
        return NEW
    if head[:len(SQLITE_MAGIC)] != SQLITE_MAGIC:
        raise ForeignStore(f"{where} is not a SQLite database file; nothing was changed")
    try:
        conn = sqlite3.connect(_read_only_uri(path, head), uri=True, timeout=30)
    except sqlite3.Error as e:
        raise ForeignStore(f"{where} cannot be opened: {e}") from None
    try:
        tables = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'")}
        version = _one(conn, f"SELECT value FROM {META_TABLE} WHERE key = 'schema_version'", META_TABLE in tables)
        events = _events_table(store)
        topic = _one(conn, f"SELECT topic FROM {events} LIMIT 1", events in tables)
    except sqlite3.DatabaseError as e:
        raise ForeignStore(f"{where} cannot be read as a SQLite database ({e}); nothing was changed") from None
    finally:
        conn.close()
    return _judge(store, tables, version, topic)


def _read_only_uri(path: Path, head: bytes) -> str:
    """A URI that reads the file without writing anything, not even a -wal or -shm file beside it.

    A read-only connection to a WAL database still creates those two files. A
    WAL database without a -wal file is open nowhere and holds all of its
    pages in the main file, so it is read as immutable (no locks, no files);
    any other is read with the usual locks, read-only.
    """
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    is_wal = len(head) >= 20 and head[18] == 2
    if is_wal and not Path(f"{path}-wal").exists():
        uri += "&immutable=1"
    return uri


def _one(conn, statement: str, present: bool) -> str | None:
    if not present:
        return None
    row = conn.execute(statement).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def _mark_sqlite(store: Store) -> None:
    conn = sqlite3.connect(store.env["SQLITE_DBNAME"], timeout=30)
    try:
        with conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute(f"INSERT OR IGNORE INTO {META_TABLE} VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    finally:
        conn.close()


# ----- PostgreSQL -------------------------------------------------------------------------------


def connect_postgres(store: Store):
    """An autocommit psycopg connection to the store's PostgreSQL database."""
    import psycopg

    from service.config import StoreConfigError

    env = store.env
    try:
        return psycopg.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], dbname=env["POSTGRES_DBNAME"],
                               user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"] or None,
                               connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]), autocommit=True)
    except psycopg.OperationalError as e:  # no server there, no such database, a refused login: a bad setting
        reason = " ".join(str(e).split())
        raise StoreConfigError(f"cannot connect to the {store.describe()}: {reason}; "
                               "check BACKSTORY_DB or --db") from None


def _where(store: Store) -> str:
    if store.is_sqlite:
        return store.describe()
    return f"schema {_schema(store)} of {store.describe()}"


def _schema(store: Store) -> str:
    return store.env.get("POSTGRES_SCHEMA") or "public"


def _inspect_postgres(store: Store) -> str:
    from psycopg.sql import SQL, Identifier

    schema = _schema(store)
    with connect_postgres(store) as conn:
        tables = {name for (name,) in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')", [schema])}

        def one(statement: str, table: str) -> str | None:
            if table not in tables:
                return None
            row = conn.execute(SQL(statement).format(Identifier(schema), Identifier(table))).fetchone()
            return None if row is None or row[0] is None else str(row[0])

        version = one("SELECT value FROM {}.{} WHERE key = 'schema_version'", META_TABLE)
        topic = one("SELECT topic FROM {}.{} LIMIT 1", _events_table(store))
    return _judge(store, tables, version, topic)


def _mark_postgres(store: Store) -> None:
    from psycopg.sql import SQL, Identifier

    schema = Identifier(_schema(store))
    with connect_postgres(store) as conn, conn.transaction():
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [_schema(store)]).fetchone() is None:
            conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
        conn.execute(SQL("CREATE TABLE IF NOT EXISTS {}.{} (key text PRIMARY KEY, value text NOT NULL)")
                     .format(schema, Identifier(META_TABLE)))
        conn.execute(SQL("INSERT INTO {}.{} VALUES ('schema_version', %s) ON CONFLICT (key) DO NOTHING")
                     .format(schema, Identifier(META_TABLE)), [str(SCHEMA_VERSION)])
