"""The SQLAlchemy engine of the read models: the same database (and schema) as the event store.

``make_engine`` turns a store URL in ``service.config`` form into an engine:
``sqlite:///path`` opens the very same file as the event store; a
``postgresql://...?schema=NAME`` URL opens the same database with
``search_path`` set to that schema (the ``schema`` parameter itself is not a
libpq option and is removed), through the ``postgresql+psycopg`` driver, with
``synchronous_commit`` off (read models are rebuilt from the store; see ``make_engine``).

Writers and readers share one engine. ``writer(engine)`` marks a connection as
a writer: on SQLite its transactions start with ``BEGIN IMMEDIATE`` (one writer
at a time, taken up front so two catch-ups never both read a position and then
both write); on PostgreSQL writers rely on ``SELECT ... FOR UPDATE`` of the
tracking rows. ``reader(engine)`` gives readers one consistent snapshot per
transaction. ``retrying`` re-runs a unit of work when the database reports a
lock or serialization failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from service.config import StoreConfigError, parse_store

T = TypeVar("T")
WRITE = "backstory_write"
LOCK_TIMEOUT_S = 30


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """An engine on the store's own database (and schema)."""
    store = parse_store(url)
    if store.is_sqlite:
        return _sqlite(store.env["SQLITE_DBNAME"])
    parsed = make_url(url)
    schema = parsed.query.get("schema")
    if isinstance(schema, tuple):
        schema = schema[0]
    parsed = parsed.difference_update_query(["schema"]).set(drivername="postgresql+psycopg")
    # The read models' commits do not wait for their WAL to reach the disk: a crash may lose the last
    # few steps, but each whole (rows and tracking positions together), so they are applied again
    # after a restart, exactly once; the event store's own commits are untouched (its connections).
    options = ["-csynchronous_commit=off"]
    if schema:
        if '"' in schema:
            raise StoreConfigError(f"schema name {schema!r} may not contain a double quote")
        options.append(f'-csearch_path="{schema}"')
    connect_args = {"connect_timeout": 10, "options": " ".join(options)}
    return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)


def _sqlite(path: str) -> Engine:
    engine = create_engine(URL.create("sqlite", database=path), connect_args={"timeout": LOCK_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself, so a writer can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {LOCK_TIMEOUT_S * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

    return engine


def writer(engine: Engine) -> Engine:
    """The engine for transactions that change the read models."""
    return engine.execution_options(**{WRITE: True})


def reader(engine: Engine) -> Engine:
    """The engine for queries: each transaction sees one committed state."""
    if is_sqlite(engine):
        return engine
    return engine.execution_options(isolation_level="REPEATABLE READ")


def _transient(error: DBAPIError) -> bool:
    text = str(error.orig).lower() if error.orig is not None else str(error).lower()
    code = getattr(error.orig, "sqlstate", None)
    return (isinstance(error, OperationalError) and ("locked" in text or "busy" in text)) or code in (
        "40001", "40P01", "55P03",  # serialization failure, deadlock, lock not available
    )


def retrying(work: Callable[[], T], attempts: int = 20, wait: float = 0.05) -> T:
    """Run ``work``; on a lock or serialization failure, wait a little and run it again."""
    for attempt in range(attempts):
        try:
            return work()
        except DBAPIError as error:
            if attempt == attempts - 1 or not _transient(error):
                raise
            time.sleep(min(wait * (2 ** attempt), 1.0))
    raise AssertionError("unreachable")
