"""WHEN parsing: ISO forms and plain-English forms, per role."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cli.when import WhenError, parse_when

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 15, 9, 30, tzinfo=PARIS)


@pytest.mark.parametrize("text, role, expected", [
    ("2026-03-01", "at", datetime(2026, 3, 1, 12, 0, tzinfo=PARIS)),
    ("2026-03-01", "start", datetime(2026, 3, 1, 0, 0, tzinfo=PARIS)),
    ("2026-03-01", "end", datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=PARIS)),
    ("2026-03-15", "at", NOW),
    ("2026-03-01T18:30", "at", datetime(2026, 3, 1, 18, 30, tzinfo=PARIS)),
    ("2026-03-01T18:30:00+00:00", "end", datetime(2026, 3, 1, 19, 30, tzinfo=PARIS)),
    ("now", "end", NOW),
    ("today", "at", NOW),
    ("today", "start", datetime(2026, 3, 15, 0, 0, tzinfo=PARIS)),
    ("yesterday", "at", NOW - timedelta(days=1)),
    ("yesterday", "end", datetime(2026, 3, 14, 23, 59, 59, 999999, tzinfo=PARIS)),
    ("3 days ago", "at", NOW - timedelta(days=3)),
    ("1 day ago", "start", datetime(2026, 3, 14, 0, 0, tzinfo=PARIS)),
    ("2 weeks ago", "at", NOW - timedelta(weeks=2)),
    ("last week", "at", NOW - timedelta(weeks=1)),
    ("last month", "start", datetime(2026, 2, 15, 0, 0, tzinfo=PARIS)),
    ("  Last   Month ", "at", datetime(2026, 2, 15, 9, 30, tzinfo=PARIS)),
])
def test_forms(text, role, expected):
    got = parse_when(text, PARIS, NOW, role)
    assert got == expected
    assert got.tzinfo is not None


def test_last_month_clamps_to_month_end():
    now = datetime(2026, 3, 31, 10, 0, tzinfo=PARIS)
    assert parse_when("last month", PARIS, now, "start").date().isoformat() == "2026-02-28"


@pytest.mark.parametrize("text", ["tomorrowish", "3 fortnights ago", "2026-13-01", "", "-1 days ago"])
def test_bad_text_names_the_forms(text):
    with pytest.raises(WhenError) as e:
        parse_when(text, PARIS, NOW)
    assert "N days ago" in str(e.value)
