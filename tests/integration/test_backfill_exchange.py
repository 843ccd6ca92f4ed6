"""A backfilled program exported and imported into an empty program gives the same history and views.

The start moves on the import exactly as it did on the original (the mutations replay in recorded
order through the one command path), so ``history`` (the moves of the start among it) and
``show`` at every date, also as known at past recorded times, are identical.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from service import queries
from service.exchange import export_lines, import_mutations, read_export
from service.handling import handle
from service.mutation import Mutation
from tests.conftest import open_ledger

NOW = datetime(2026, 12, 6, 9, tzinfo=timezone.utc)
BERLIN = timezone(timedelta(hours=1))


def backfill(ledger) -> list[datetime]:
    """``init`` now, then three months of decisions and facts, each recorded a minute after the last."""
    steps = [
        ("init", NOW, {"name": "Sam", "timezone": "Europe/Berlin"}),
        ("add", NOW - timedelta(days=42), {"name": "Dead bug", "position": "1", "sets": 3, "reps": 8}),
        ("add", NOW - timedelta(days=90), {"name": "Bridge", "position": "1:supine", "sets": 3, "reps": 12}),
        ("progress", NOW - timedelta(days=60), {"exercise": "Bridge", "sets": 4, "reason": "easy"}),
        ("log", NOW - timedelta(days=59), {"exercise": "Bridge", "sets": 4, "reps": 12, "pain_before": 3}),
        ("checkin", NOW - timedelta(days=93), {"pain": 5}),
        ("fitting-open", NOW - timedelta(days=92), {"notes": "first"}),
    ]
    recorded = []
    for i, (kind, at, args) in enumerate(steps):
        recorded.append(NOW + timedelta(minutes=i))
        handle(ledger, Mutation(f"m-{i}", kind, at.astimezone(BERLIN), "phone", args), recorded_at=recorded[-1])
    return recorded


def test_a_backfilled_program_round_trips_through_export_and_import(store_url):
    original, copy = open_ledger(store_url, "sam"), open_ledger(store_url, "sam-restored")
    try:
        recorded = backfill(original)
        assert original.program().started_at() == NOW - timedelta(days=93)
        text = list(export_lines(original, NOW + timedelta(hours=1)))
        assert datetime.fromisoformat(json.loads(text[0])["program"]["started"]) == NOW - timedelta(days=93)
        counts = import_mutations(copy, read_export(text))
        assert (counts["applied"], counts["refused"]) == (7, [])

        history = queries.history(original)
        assert queries.history(copy) == history
        moves = [(e["to"]["cause"], e["from"]["started"], e["to"]["started"]) for e in history["entries"]
                 if e["type"] == "start-moved-back"]
        assert [(c, f[:10], t[:10]) for c, f, t in moves] == [
            ("checkin", "2026-09-07", "2026-09-04"), ("add", "2026-10-25", "2026-09-07"), ("add", "2026-12-06", "2026-10-25")]
        for days in (95, 93, 92, 89, 60, 42, 0):
            as_of = NOW - timedelta(days=days) + timedelta(hours=1)
            for known_at in (None, recorded[1], recorded[4]):
                assert queries.show(copy, as_of, known_at) == queries.show(original, as_of, known_at)
        before = queries.show(copy, NOW - timedelta(days=94))
        assert (before["program"]["started"], before["exercises"]) == (False, [])
    finally:
        original.app.close()
        copy.app.close()
