"""The fast paths of the projections: bulk inserts, per-day sums, and rebuilding a table laid out anew.

``projections.bulk.bulk_insert`` loads rows with ``COPY`` on PostgreSQL and an
``INSERT`` on SQLite: both must read back the very same values (JSON ``null``
and nested JSON, text with tabs, newlines, backslashes and non-ASCII, booleans,
floats). Pain by day is kept as sums that new facts are added to: its averages
must be those of the facts themselves, however the batches fell. A read model
whose tables are laid out otherwise than the code says (an upgrade added a
column) is rebuilt when the projections are opened, and ends equal to the
table built before.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from projections import Projections
from projections.bulk import COPY_FROM, bulk_insert
from projections.tables import decisions
from service.fact_reads import facts_between

from tests.integration.test_projections import NOW, START, World, app, dump  # noqa: F401 - app: the fixture

AWKWARD = ["tab\there", "line\nbreak", "back\\slash", "quote ' \" and \\N", "é ü 漢字 🙂", ""]


def _decision(n: int, version: int) -> dict:
    return {"program_id": f"p{n % 2}", "version": version, "occurred_key": f"k{version:08d}",
            "command": "progress", "exercise_ids": ["a", AWKWARD[version % len(AWKWARD)]],
            "occurred_at": "2026-01-01T00:00:00+00:00", "recorded_at": "2026-01-01T00:00:01+00:00",
            "reason": AWKWARD[version % len(AWKWARD)] or None, "reason_code": None,
            "before": None if version % 3 == 0 else {"sets": version, "note": AWKWARD[version % len(AWKWARD)]},
            "after": [1, 2.5, True, None, "x"], "device_id": None, "mutation_id": f"m{version}"}


def test_bulk_insert_reads_back_what_an_insert_reads_back(app, store_url):
    projections = Projections(app, store_url)
    try:
        many = [_decision(n, n + 1) for n in range(COPY_FROM * 3)]  # COPY on PostgreSQL
        few = [_decision(n, 1000 + n) for n in range(COPY_FROM - 1)]  # always a plain INSERT
        with projections.engine.begin() as conn:
            bulk_insert(conn, decisions, many)
            bulk_insert(conn, decisions, few)
            bulk_insert(conn, decisions, [])
        with projections.engine.connect() as conn:
            stored = {r["version"]: dict(r) for r in conn.execute(select(decisions)).mappings()}
            nulls = conn.execute(text("select count(*) from proj_decisions where before is null")).scalar()
        assert stored == {r["version"]: r for r in many + few}
        assert nulls == 0  # None in a JSON column is JSON null, as sqlalchemy.JSON stores it, both ways
    finally:
        projections.close()


def test_pain_by_day_is_the_facts_own_averages(app, store_url):
    world = World(app, "sam", seed=31)
    projections = Projections(app, store_url)
    try:
        world.run(70, after_step=lambda step: projections.catch_up(limit=5) if step % 2 else None)
        projections.catch_up()
        zone = ZoneInfo(world.zone)
        by_day: dict[str, list[dict]] = defaultdict(list)
        for f in facts_between(world.ledger, START - timedelta(days=60), NOW + timedelta(days=1)):
            if not f["voided"]:
                by_day[datetime.fromisoformat(f["occurred_at"]).astimezone(zone).date().isoformat()].append(f)

        def avg(values):
            present = [v for v in values if v is not None]
            return round(mean(present), 2) if present else None

        rows = projections.pain_by_day(world.program_id)
        assert [r["day"] for r in rows] == sorted(by_day)
        for row in rows:
            logs = [f for f in by_day[row["day"]] if f["type"] == "log"]
            checkins = [f for f in by_day[row["day"]] if f["type"] == "checkin"]
            during = [f["pain_during"] for f in logs if f.get("pain_during") is not None]
            assert row == {
                "day": row["day"], "sessions": len(logs),
                "pain_before_avg": avg([f.get("pain_before") for f in logs]),
                "pain_during_max": max(during) if during else None,
                "pain_after_avg": avg([f.get("pain_after") for f in logs]),
                "checkins": len(checkins), "checkin_pain_avg": avg([f.get("pain") for f in checkins]),
                "breaks": sum(1 for f in by_day[row["day"]] if f["type"] == "break"),
                "flares": sum(1 for f in by_day[row["day"]] if f["type"] == "flare-start"),
            }
        assert any(r["pain_before_avg"] is not None for r in rows) and any(r["checkins"] for r in rows)
    finally:
        projections.close()


def test_a_table_laid_out_otherwise_is_rebuilt_when_opened(app, store_url):
    World(app, "sam", seed=32).run(40)
    first = Projections(app, store_url)
    first.catch_up()
    before = dump(first)
    head = first.status()[0]["head"]
    with first.engine.begin() as conn:  # as an older release made it: no sums beside the averages
        conn.execute(text("ALTER TABLE proj_pain_days DROP COLUMN checkin_n"))
    first.close()
    second = Projections(app, store_url)
    try:
        positions = {s["name"]: s["position"] for s in second.status()}
        assert positions.pop("sessions") == 0
        assert set(positions.values()) == {head}
        assert second.catch_up() == head
        assert dump(second) == before
    finally:
        second.close()
