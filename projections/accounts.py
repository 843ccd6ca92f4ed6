"""Conflicts of each program and devices of each account, as the domain's own dicts.

The conflict and device entries are built by the domain events' own
``apply`` (on a stand-in for the aggregate), so a row's ``data`` is exactly
the dict ``ConflictLog.conflicts`` or ``Account.devices`` holds; the position
(notification id of the first event) keeps the aggregate's order.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, insert, select, tuple_, update

from projections.base import Context, Item, Projection
from projections.tables import conflicts, devices


class _Holder:
    """Stands in for a ConflictLog or an Account: the entries a batch touches."""

    def __init__(self) -> None:
        self.conflicts: dict[str, dict] = {}
        self.devices: dict[str, dict] = {}


def _load(conn: Connection, table, owner: str, key: str, keys: list[tuple[str, str]]) -> list[dict]:
    out = []
    for chunk in range(0, len(keys), 200):
        out += [dict(r) for r in conn.execute(select(table).where(
            tuple_(table.c[owner], table.c[key]).in_(keys[chunk:chunk + 200]))).mappings()]
    return out


class ConflictsProjection(Projection):
    """Every recorded conflict, with its resolution once there is one."""

    name = "conflicts"
    tables = (conflicts,)

    def apply(self, conn: Connection, items: list[Item], ctx: Context) -> None:
        mine = [i for i in items if i.type in ("ConflictLog.Recorded", "ConflictLog.Resolved") and i.program_id]
        if not mine:
            return
        holders: dict[str, _Holder] = defaultdict(_Holder)
        positions: dict[tuple[str, str], int] = {}
        for row in _load(conn, conflicts, "program_id", "conflict_id",
                         list({(i.program_id, i.event.conflict_id) for i in mine})):
            holders[row["program_id"]].conflicts[row["conflict_id"]] = row["data"]
            positions[(row["program_id"], row["conflict_id"])] = row["position"]
        known = set(positions)
        for item in mine:
            key = (item.program_id, item.event.conflict_id)
            if key not in positions and item.type == "ConflictLog.Resolved":
                continue
            item.event.apply(holders[item.program_id])
            positions.setdefault(key, item.id)
        touched = {(i.program_id, i.event.conflict_id) for i in mine} & set(positions)
        new = sorted(touched - known, key=positions.get)
        if new:
            conn.execute(insert(conflicts), [{"program_id": p, "conflict_id": c, "position": positions[(p, c)],
                                              "data": holders[p].conflicts[c]} for p, c in new])
        for p, c in touched & known:
            conn.execute(update(conflicts).where(conflicts.c.program_id == p, conflicts.c.conflict_id == c)
                         .values(data=holders[p].conflicts[c]))


_COLUMNS = ("name", "paired_at", "revoked_at")


def _row(device: dict) -> dict:
    return {k: device[k] for k in _COLUMNS}


class DevicesProjection(Projection):
    """Every device of every account: name, when it was paired, when it was revoked."""

    name = "devices"
    tables = (devices,)

    def apply(self, conn: Connection, items: list[Item], ctx: Context) -> None:
        mine = [i for i in items if i.type in ("Account.DeviceAdded", "Account.DeviceRevoked")]
        if not mine:
            return
        holders: dict[str, _Holder] = defaultdict(_Holder)
        positions: dict[tuple[str, str], int] = {}
        for row in _load(conn, devices, "account_id", "device_id",
                         list({(i.stream, i.event.device_id) for i in mine})):
            holders[row["account_id"]].devices[row["device_id"]] = {
                "name": row["name"], "paired_at": row["paired_at"], "revoked_at": row["revoked_at"]}
            positions[(row["account_id"], row["device_id"])] = row["position"]
        known = set(positions)
        for item in mine:
            key = (item.stream, item.event.device_id)
            if key not in positions and item.type == "Account.DeviceRevoked":
                continue
            item.event.apply(holders[item.stream])
            positions.setdefault(key, item.id)
        touched = {(i.stream, i.event.device_id) for i in mine} & set(positions)
        for a, d in sorted(touched - known, key=positions.get):
            conn.execute(insert(devices).values(account_id=a, device_id=d, position=positions[(a, d)],
                                                **_row(holders[a].devices[d])))
        for a, d in touched & known:
            conn.execute(update(devices).where(devices.c.account_id == a, devices.c.device_id == d)
                         .values(**_row(holders[a].devices[d])))
