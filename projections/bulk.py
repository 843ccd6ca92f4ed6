"""Inserting many read-model rows at once: ``COPY`` on PostgreSQL, an ``executemany`` on SQLite.

psycopg's ``executemany`` sends one ``INSERT`` per row (pipelined, but each is
parsed, planned and executed on its own); multi-row ``INSERT`` statements and
SQLAlchemy's "insertmanyvalues" measured slower still. ``COPY ... FROM STDIN``
on the transaction's own connection loads the rows of a batch in one
statement. The values are written as SQLAlchemy would bind them: JSON columns
as JSON text (``None`` as JSON ``null``, as ``sqlalchemy.JSON`` stores it), so a
row inserted either way reads back the same. SQLite keeps the plain
``insert(table)`` path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import JSON, Connection, Table, insert

#: Below this many rows an ``INSERT`` costs no more than setting up a ``COPY``.
COPY_FROM = 8


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict]) -> None:
    """Insert ``rows`` (dicts keyed by column name; a missing key is NULL) into ``table``."""
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        conn.execute(insert(table), list(rows))
        return
    columns = [c for c in table.columns if any(c.name in row for row in rows)]
    as_json = [isinstance(c.type, JSON) for c in columns]
    names = ", ".join(conn.dialect.identifier_preparer.quote(c.name) for c in columns)
    target = conn.dialect.identifier_preparer.format_table(table)
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row.get(c.name)) if j else row.get(c.name)
                            for c, j in zip(columns, as_json)])
