"""Facts as tables: every fact with its corrections (``sessions``), pain by day, and tension.

The ``sessions`` projection keeps each fact exactly as ``FactLog.facts`` holds
it (the domain's own ``apply`` builds and corrects the dict), indexed by
program, valid-time key and local day (in the program's time zone), and a
``pain_days`` row per program and day. That row keeps the sums and counts its
averages come from: a new fact is added to them (a busy day's facts are not
read again at every batch), and a day whose earlier fact is corrected or voided
is counted again from its facts; both give the same row. The ``tension``
projection keeps one row per tension observation of a logged session, by
muscle and side.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import mean
from typing import Any

from sqlalchemy import Connection, and_, delete, select, tuple_, update

from domain.timeline import time_key
from projections.base import Context, Item, Projection
from projections.bulk import bulk_insert
from projections.tables import PAIN_SUMS, facts, pain_days, tension, tension_facts

FACTS = "domain.facts:FactLog."
Key = tuple[str, str]


def fact_items(items: list[Item]) -> list[Item]:
    return [i for i in items if i.is_a(FACTS) and hasattr(i.event, "fact_id") and i.program_id]


def target_of(item: Item) -> str:
    return getattr(item.event, "target_id", None) or item.event.fact_id


def earlier_targets(items: list[Item]) -> list[Key]:
    """The facts that corrections and voids in ``items`` change (they may have arrived in earlier batches)."""
    return list({(i.program_id, i.event.target_id) for i in items if getattr(i.event, "target_id", None)})


def _load(conn: Connection, table, keys: list[Key]) -> list[dict]:
    out = []
    for chunk in range(0, len(keys), 200):
        out += [dict(r) for r in conn.execute(select(table).where(
            tuple_(table.c.program_id, table.c.fact_id).in_(keys[chunk:chunk + 200]))).mappings()]
    return out


class _Log:
    """Stands in for a ``FactLog``: the facts of one program that the events of a batch touch."""

    def __init__(self) -> None:
        self.facts: dict[str, dict] = {}


def avg(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return round(mean(present), 2) if present else None


PAIN_COUNTS = ("sessions", "checkins", "breaks", "flares")


def _add(sums: dict, fact: dict) -> None:
    """Count one (not voided) fact into a day's sums; pain values are whole numbers (``domain.values.pain``)."""
    kind = fact["type"]
    if kind == "log":
        sums["sessions"] += 1
        for name, total, n in (("pain_before", "before_sum", "before_n"), ("pain_after", "after_sum", "after_n")):
            if fact.get(name) is not None:
                sums[total] += fact[name]
                sums[n] += 1
        during = fact.get("pain_during")
        if during is not None and (sums["pain_during_max"] is None or during > sums["pain_during_max"]):
            sums["pain_during_max"] = during
    elif kind == "checkin":
        sums["checkins"] += 1
        if fact.get("pain") is not None:
            sums["checkin_sum"] += fact["pain"]
            sums["checkin_n"] += 1
    elif kind == "break":
        sums["breaks"] += 1
    elif kind == "flare-start":
        sums["flares"] += 1


def _avg(total: int, n: int) -> float | None:
    return round(total / n, 2) if n else None


def _finish(sums: dict) -> dict:
    """The day's row: its sums, and the averages made from them (the same whichever way the sums were added)."""
    return {**sums, "pain_before_avg": _avg(sums["before_sum"], sums["before_n"]),
            "pain_after_avg": _avg(sums["after_sum"], sums["after_n"]),
            "checkin_pain_avg": _avg(sums["checkin_sum"], sums["checkin_n"])}


def _empty(program_id: str, day: str) -> dict:
    return {"program_id": program_id, "day": day, "pain_during_max": None, **dict.fromkeys(PAIN_SUMS + PAIN_COUNTS, 0)}


def pain_day(program_id: str, day: str, rows: list[dict]) -> dict:
    """One day's sessions, pain, check-ins, breaks and flares (voided facts left out)."""
    sums = _empty(program_id, day)
    for fact in rows:
        _add(sums, fact)
    return _finish(sums)


class SessionsProjection(Projection):
    """Every fact (sessions first among them), corrections applied, and pain by day."""

    name = "sessions"
    tables = (facts, pain_days)

    def apply(self, conn: Connection, items: list[Item], ctx: Context) -> None:
        mine = fact_items(items)
        if not mine:
            return
        logs: dict[str, _Log] = defaultdict(_Log)
        rows: dict[Key, dict] = {}
        for row in _load(conn, facts, earlier_targets(mine)):
            rows[(row["program_id"], row["fact_id"])] = row
            logs[row["program_id"]].facts[row["fact_id"]] = row["data"]
        new: list[Key] = []
        dirty: set[Key] = set()
        for item in mine:
            e, program_id = item.event, item.program_id
            key = (program_id, target_of(item))
            if key[1] != e.fact_id and key not in rows:
                continue  # a correction of a fact this store never had: nothing to change
            e.apply(logs[program_id])
            if key not in rows:
                rows[key] = {"program_id": program_id, "fact_id": e.fact_id, "position": item.id,
                             "type": e.command, "occurred_key": time_key(e.occurred_at),
                             "day": ctx.day(program_id, item.id, e.occurred_at),
                             "exercise_id": getattr(e, "exercise_id", None)}
                new.append(key)
            dirty.add(key)
        for key in dirty:
            rows[key].update(data=logs[key[0]].facts[key[1]], voided=logs[key[0]].facts[key[1]]["voided"])
        fresh = set(new)
        if new:
            bulk_insert(conn, facts, [rows[k] for k in new])
        for key in dirty - fresh:
            conn.execute(update(facts).where(facts.c.program_id == key[0], facts.c.fact_id == key[1])
                         .values(data=rows[key]["data"], voided=rows[key]["voided"]))
        # A day with an earlier fact corrected or voided is counted again from its facts; a day that only
        # gains new facts adds them to the sums it has (no re-reading of a busy day's every fact).
        recount = {(rows[k]["program_id"], rows[k]["day"]) for k in dirty - fresh}
        self._recount(conn, recount)
        self._add_days(conn, [rows[k] for k in new if (rows[k]["program_id"], rows[k]["day"]) not in recount])

    @staticmethod
    def _recount(conn: Connection, touched: set[tuple[str, str]]) -> None:
        by_program: dict[str, list[str]] = defaultdict(list)
        for program_id, day in sorted(touched):
            by_program[program_id].append(day)
        for program_id, days in by_program.items():
            found: dict[str, list[dict]] = defaultdict(list)
            for r in conn.execute(select(facts.c.day, facts.c.data).where(
                    facts.c.program_id == program_id, facts.c.day.in_(days), facts.c.voided.is_(False))
                    .order_by(facts.c.occurred_key, facts.c.position)):
                found[r.day].append(r.data)
            conn.execute(delete(pain_days).where(pain_days.c.program_id == program_id, pain_days.c.day.in_(days)))
            rows = [pain_day(program_id, day, found[day]) for day in days if found[day]]
            if rows:
                bulk_insert(conn, pain_days, rows)

    @staticmethod
    def _add_days(conn: Connection, added: list[dict]) -> None:
        """Add new facts (not voided) to their days' sums: one read, one delete and one insert for the batch."""
        counted = [f for f in added if not f["voided"]]
        keys = sorted({(f["program_id"], f["day"]) for f in counted})
        if not keys:
            return
        days = {(r["program_id"], r["day"]): r for r in _load_days(conn, keys)}
        had = list(days)
        for fact in counted:
            key = (fact["program_id"], fact["day"])
            if key not in days:
                days[key] = _empty(*key)
            _add(days[key], fact["data"])
        for chunk in range(0, len(had), 200):
            conn.execute(delete(pain_days).where(
                tuple_(pain_days.c.program_id, pain_days.c.day).in_(had[chunk:chunk + 200])))
        bulk_insert(conn, pain_days, [_finish(days[k]) for k in keys])


def _load_days(conn: Connection, keys: list[tuple[str, str]]) -> list[dict]:
    out = []
    for chunk in range(0, len(keys), 200):
        out += [dict(r) for r in conn.execute(select(pain_days).where(
            tuple_(pain_days.c.program_id, pain_days.c.day).in_(keys[chunk:chunk + 200]))).mappings()]
    return out


def _observations(key: Key, fact: dict, observations: list[dict] | None) -> list[dict]:
    return [{"program_id": key[0], "fact_id": key[1], "idx": n, "occurred_key": fact["occurred_key"],
             "day": fact["day"], "muscle": t["muscle"], "side": t["side"], "kind": t.get("kind"),
             "intensity": t.get("intensity"), "voided": fact["voided"]}
            for n, t in enumerate(observations or [])]


class TensionProjection(Projection):
    """Tension observations of logged sessions, by muscle and side, corrections and voids applied."""

    name = "tension"
    tables = (tension_facts, tension)

    def apply(self, conn: Connection, items: list[Item], ctx: Context) -> None:
        mine = [i for i in fact_items(items) if i.type in ("FactLog.SessionLogged", "FactLog.FactCorrected",
                                                           "FactLog.FactVoided")]
        if not mine:
            return
        known = {(r["program_id"], r["fact_id"]): r for r in _load(conn, tension_facts, earlier_targets(mine))}
        new: set[Key] = set()
        observed: dict[Key, list[dict]] = {}  # the observations of facts whose list changed
        for item in mine:
            e, key = item.event, (item.program_id, target_of(item))
            if item.type == "FactLog.SessionLogged":
                known[key] = {"program_id": key[0], "fact_id": key[1], "occurred_key": time_key(e.occurred_at),
                              "day": ctx.day(key[0], item.id, e.occurred_at), "voided": False}
                new.add(key)
                observed[key] = list(e.session.get("tension") or [])
            elif key in known and item.type == "FactLog.FactVoided":
                known[key] = {**known[key], "voided": True}
                observed.setdefault(key, None)
            elif key in known and "tension" in e.changes:
                observed[key] = list(e.changes["tension"]["to"] or [])
        if new:
            bulk_insert(conn, tension_facts, [known[k] for k in sorted(new)])
        rows: list[dict] = []
        for key, observations in observed.items():
            if key not in new:
                where = and_(tension.c.program_id == key[0], tension.c.fact_id == key[1])
                conn.execute(update(tension_facts).where(
                    tension_facts.c.program_id == key[0], tension_facts.c.fact_id == key[1])
                    .values(voided=known[key]["voided"]))
                if observations is None:
                    conn.execute(update(tension).where(where).values(voided=known[key]["voided"]))
                    continue
                conn.execute(delete(tension).where(where))
            rows += _observations(key, known[key], observations)
        bulk_insert(conn, tension, rows)
