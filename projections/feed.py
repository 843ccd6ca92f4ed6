"""The per-program sync feed (SPEC 5, ``GET /v1/sync/pull``).

Every event of a program's own streams (the program, its fact months, its
processed-mutation records and its conflict log) gets the next position of
that program's feed, 1, 2, 3... in notification order. So does each device
paired or revoked in the program's account (kind ``device``: who paired or
revoked which device), from ``Account.DeviceAdded`` and ``DeviceRevoked`` v2 on,
which name who did it (older ones stay out, so a rebuild gives the same
positions). Device streams (they hold token hashes) and the account's other
events are never in a feed. Each entry carries the
stored event verbatim (``data.stored``) so a device can replicate it and
decode it with ``app.mapper.to_domain_event`` (see ``stored_event``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection, delete, insert, select

from domain.accounts import OPERATOR
from projections.base import Context, Item, Projection
from projections.bulk import bulk_insert
from projections.tables import feed, feed_heads

KINDS = (
    ("domain.mutations:MutationRecord.", "outcome"),
    ("domain.conflicts:ConflictLog.", "conflict"),
    ("domain.program:Program.", "event"),
    ("domain.facts:FactLog.", "event"),
    ("domain.accounts:Account.DeviceAdded", "device"),
    ("domain.accounts:Account.DeviceRevoked", "device"),
)


def _kind(item: Item) -> str | None:
    kind = next((kind for prefix, kind in KINDS if item.is_a(prefix)), None)
    if kind == "device" and _by(item.event) is None:
        return None  # recorded before who did it was kept
    return kind


def _by(e: Any) -> str | None:
    return getattr(e, "paired_by", None) or getattr(e, "revoked_by", None)


def _device(e: Any) -> dict[str, Any]:
    """What a device entry tells every device of the account: which device, what happened, and who did it."""
    revoked = hasattr(e, "revoked_by")
    return {"device": e.device_id, "name": e.name, "action": "revoked" if revoked else "paired", "by": _by(e),
            "by_name": getattr(e, "by_name", None)}


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def entry(item: Item, kind: str) -> dict[str, Any]:
    """The feed entry of one notification, without its position."""
    e, note = item.event, item.note
    data: dict[str, Any] = {"stored": {
        "originator_id": str(note.originator_id), "originator_version": note.originator_version,
        "topic": note.topic, "state": bytes(note.state).decode("utf-8"),
    }}
    if kind == "outcome":
        data.update(status=e.status, mutation_type=e.mutation_type, seq=e.seq, result=e.result)
    elif kind == "conflict" and getattr(e, "conflict_id", None):
        data["conflict_id"] = e.conflict_id
    elif kind == "device":
        data.update(_device(e))
    mutation_id = getattr(e, "mutation_id", None)
    device_id = getattr(e, "device_id", None)
    if kind == "device":  # the device that paired or revoked (the operator is no device)
        device_id = None if _by(e) == OPERATOR else _by(e)
    return {
        "notification_id": item.id, "kind": kind, "type": item.type,
        "mutation_id": str(mutation_id) if mutation_id is not None else None,
        "device_id": str(device_id) if device_id is not None else None,
        "occurred_at": _iso(getattr(e, "occurred_at", None)), "recorded_at": e.timestamp.isoformat(),
        "data": data,
    }


class FeedProjection(Projection):
    """Appends each program's entries with contiguous positions."""

    name = "feed"
    tables = (feed, feed_heads)

    def apply(self, conn: Connection, items: list[Item], ctx: Context) -> None:
        wanted = [(i, k) for i in items if i.program_id and (k := _kind(i))]
        if not wanted:
            return
        programs = list({i.program_id for i, _ in wanted})
        heads = dict(conn.execute(select(feed_heads.c.program_id, feed_heads.c.position)
                                  .where(feed_heads.c.program_id.in_(programs))).all())
        known = set(heads)
        rows = []
        for item, kind in wanted:
            position = heads.get(item.program_id, 0) + 1
            heads[item.program_id] = position
            rows.append({"program_id": item.program_id, "position": position, **entry(item, kind)})
        bulk_insert(conn, feed, rows)
        if known:  # one delete and one insert, whatever the number of programs in the batch
            conn.execute(delete(feed_heads).where(feed_heads.c.program_id.in_(list(known))))
        conn.execute(insert(feed_heads), [{"program_id": p, "position": n} for p, n in heads.items()])


def read(conn: Connection, program_id: str, after: int, limit: int) -> tuple[list[dict], bool]:
    """Entries after position ``after``, at most ``limit``, and whether more follow."""
    rows = conn.execute(
        select(feed).where(feed.c.program_id == program_id, feed.c.position > after)
        .order_by(feed.c.position).limit(limit + 1)
    ).mappings().all()
    entries = [{"position": r["position"], "kind": r["kind"], "type": r["type"], "mutation_id": r["mutation_id"],
                "device_id": r["device_id"], "occurred_at": r["occurred_at"], "recorded_at": r["recorded_at"],
                "data": r["data"]} for r in rows[:limit]]
    _name_pairers(conn, program_id, entries)
    return entries, len(rows) > limit


def _name_pairers(conn: Connection, program_id: str, entries: list[dict]) -> None:
    """A pairing names the device that paired by its name (its event keeps only the id), so a sync
    report says "tablet paired by phone", not an id: the names come from the account's device entries."""
    unnamed = [e["data"] for e in entries if e["kind"] == "device" and e["data"].get("by_name") is None
               and e["data"].get("by") not in (None, OPERATOR)]
    if not unnamed:
        return
    names = {d["device"]: d["name"] for (d,) in conn.execute(
        select(feed.c.data).where(feed.c.program_id == program_id, feed.c.kind == "device"))
        if d.get("action") == "paired" and d.get("name")}
    for data in unnamed:
        if data["by"] in names:
            data["by_name"] = names[data["by"]]


def stored_event(entry: dict) -> StoredEvent:
    """The stored event an entry carries, ready for ``app.mapper.to_domain_event`` (or a recorder)."""
    s = entry["data"]["stored"]
    return StoredEvent(originator_id=UUID(s["originator_id"]), originator_version=s["originator_version"],
                       topic=s["topic"], state=s["state"].encode("utf-8"))
