"""Which program (or account) each event stream belongs to.

Only a stream's first event says whose it is: ``Program.Started`` (the stream
is the program), ``FactLog.Opened`` and ``ConflictLog.Opened`` (they carry
``program_id``), ``Account.Opened`` and ``Device.Paired`` (the account). The runner records
these before any projection sees the batch; the map only ever grows and never
changes, so a projection rebuilt later reads the same answers. A
``MutationRecord.Processed`` (v2) names its program itself (a v1 record,
``program_id`` None, belongs to no feed). The program's
time zone is kept with the notification id that set it, so a fact is dated in
the time zone known when it arrived, on every rebuild alike.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from projections.base import Item
from projections.tables import streams

OPENERS = {
    "domain.program:Program.Started": "program",
    "domain.facts:FactLog.Opened": "facts",
    "domain.conflicts:ConflictLog.Opened": "conflicts",
    "domain.accounts:Account.Opened": "account",
    "domain.accounts:Device.Paired": "device",
}
# A processed-mutation record is a stream of one event that names its own program: it needs no map row.
SELF_OWNED = "domain.mutations:MutationRecord.Processed"


def _row(item: Item) -> dict | None:
    kind = OPENERS.get(item.topic)
    if kind is None:
        return None
    e = item.event
    row = {"stream_id": item.stream, "kind": kind, "program_id": None, "account_id": None, "timezone": None,
           "position": item.id}
    if kind == "program":
        row.update(program_id=item.stream, timezone=e.timezone)
    elif kind == "account":
        row.update(account_id=item.stream, program_id=e.program_id)
    elif kind == "device":
        row.update(account_id=e.account_id)
    else:
        row.update(program_id=getattr(e, "program_id", None))
    return row


def record(conn: Connection, items: list[Item]) -> None:
    """Remember the owner of every stream that starts in ``items`` (already known ones are kept)."""
    rows = {r["stream_id"]: r for r in map(_row, items) if r is not None}
    if not rows:
        return
    known = set(conn.scalars(select(streams.c.stream_id).where(streams.c.stream_id.in_(list(rows)))))
    new = [r for sid, r in rows.items() if sid not in known]
    if new:
        conn.execute(insert(streams), new)


def _find(conn: Connection, ids: set[str], known: dict[str, dict]) -> None:
    """Add the map rows of ``ids`` to ``known``, reading only those it does not hold yet."""
    missing = [i for i in ids if i not in known]
    for chunk in range(0, len(missing), 500):
        for row in conn.execute(select(streams).where(streams.c.stream_id.in_(missing[chunk:chunk + 500]))).mappings():
            known[row["stream_id"]] = dict(row)


def lookup(conn: Connection, items: list[Item], known: dict[str, dict] | None = None) -> dict[str, tuple[str | None, int]]:
    """Set each item's program and account; return the time zones of the programs involved.

    ``known`` keeps the map rows already read, across batches: a row never changes once written (and is
    the same whoever writes it), so a follower reads each stream's owner once, not at every batch.
    """
    known = {} if known is None else known
    for item in items:
        if item.topic == SELF_OWNED:
            item.program_id = item.event.program_id
    _find(conn, {i.stream for i in items if i.topic != SELF_OWNED}, known)
    for item in items:
        row = None if item.topic == SELF_OWNED else known.get(item.stream)
        if row is not None:
            item.program_id, item.account_id = row["program_id"], row["account_id"]
    programs = {i.program_id for i in items if i.program_id}
    _find(conn, programs, known)
    return {sid: (known[sid]["timezone"], known[sid]["position"]) for sid in programs
            if sid in known and known[sid]["kind"] == "program"}
