"""WHEN parsing: ISO forms and plain-English forms, per role; the accepted range and periods (service.dates)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from cli.when import WhenError, parse_when
from service import dates
from service.dates import DateError, check_period, month_before, read_iso

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


# ----- issue 9: one reading of dates, one range, checked periods ----------------------------------

DAY_FORMS = ["2026-03-08", "20260308", "2026-W10-7", "2026W107", "2026-w10-7", "2026-067", "2026067"]


@pytest.mark.parametrize("role, expected", [
    ("at", datetime(2026, 3, 8, 12, 0, tzinfo=PARIS)),
    ("start", datetime(2026, 3, 8, 0, 0, tzinfo=PARIS)),
    ("end", datetime.combine(date(2026, 3, 8), time.max, PARIS)),
])
@pytest.mark.parametrize("text", DAY_FORMS)
def test_every_date_form_means_its_extended_form(text, role, expected):
    """Basic (20260308) and week dates (2026-W10-7) are whole days too, not the start of the day."""
    assert parse_when(text, PARIS, NOW, role) == expected


def test_basic_and_week_datetimes_are_moments_in_the_program_zone():
    assert parse_when("20260308T1830", PARIS, NOW, "end") == datetime(2026, 3, 8, 18, 30, tzinfo=PARIS)
    assert parse_when("2026-W10-7T18:30Z", PARIS, NOW, "start") == datetime(2026, 3, 8, 19, 30, tzinfo=PARIS)
    assert read_iso(" 2026-W10-7 ") == date(2026, 3, 8) and read_iso("20260308T1830") == datetime(2026, 3, 8, 18, 30)


def test_ordinal_dates_are_days_and_ordinal_datetimes_moments():
    """ISO ordinal dates (year and day of the year), which Python's fromisoformat does not read."""
    assert read_iso("2026-298") == read_iso("2026298") == date(2026, 10, 25)
    assert read_iso("2024-366") == date(2024, 12, 31) and read_iso("0001-001") == date(1, 1, 1)
    assert parse_when("2026-067T18:30", PARIS, NOW, "end") == datetime(2026, 3, 8, 18, 30, tzinfo=PARIS)
    assert parse_when("2026067T1830Z", PARIS, NOW, "start") == datetime(2026, 3, 8, 19, 30, tzinfo=PARIS)
    with pytest.raises(WhenError, match="out of range"):
        parse_when("0001-001T00:00+05:00", PARIS, NOW, "start")


@pytest.mark.parametrize("text", ["2026-366", "2026-000", "2026366", "2024-367"])
def test_an_ordinal_day_the_year_does_not_have_is_refused(text):
    with pytest.raises(WhenError, match="not a date"):
        parse_when(text, PARIS, NOW, "end")


@pytest.mark.parametrize("text", ["2026-W10", "2026W10"])
def test_a_week_without_its_day_is_refused(text):
    with pytest.raises(WhenError, match="not a date"):
        parse_when(text, PARIS, NOW, "end")


@pytest.mark.parametrize("text", ["1000000 days ago", "99999999999 weeks ago", "0001-01-01T00:00+05:00",
                                  "1899-12-30", "50000 days ago", "9999-12-31T23:00-05:00"])
def test_a_when_out_of_range_names_the_value_and_the_range(text):
    with pytest.raises(WhenError) as e:
        parse_when(text, PARIS, NOW, "start", "--since")
    assert e.value.field == "--since"
    assert e.value.message == f"{text!r} is out of range; use a time {dates.RANGE}"


@pytest.mark.parametrize("text", ["1900-01-01", "9999-12-30"])
def test_the_ends_of_the_range_are_accepted_in_any_zone(text):
    for zone in (ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12"), PARIS):
        for role in ("start", "at", "end"):
            assert dates.in_range(parse_when(text, zone, NOW, role), zone)


def test_9999_12_31_is_accepted_only_where_its_whole_day_is_a_utc_time():
    """Reads count the program's whole days: in New York the day 9999-12-31 ends in the UTC year 10000 (the API's
    /v1/day and recap answered 500), in Paris it does not."""
    assert parse_when("9999-12-31", PARIS, NOW, "end").date() == date(9999, 12, 31)
    for text in ("9999-12-31", "9999-12-31T04:00"):
        with pytest.raises(WhenError, match="out of range"):
            parse_when(text, ZoneInfo("America/New_York"), NOW, "start")


def test_a_utc_time_the_programs_zone_cannot_name_is_out_of_range():
    """9999-12-31T23:59Z is a UTC time but the year 10000 in Paris, where reads count the program's days (a
    traceback in recap, show, day, breaks, tension, charts and the report)."""
    with pytest.raises(WhenError) as e:
        parse_when("9999-12-31T23:59Z", PARIS, NOW, "end", "--until")
    assert e.value.message == f"'9999-12-31T23:59Z' is out of range; use a time {dates.RANGE}"
    assert parse_when("9999-12-31T23:59Z", ZoneInfo("UTC"), NOW, "end").year == 9999
    assert parse_when("9999-12-31T22:59Z", PARIS, NOW, "end") == datetime.combine(date(9999, 12, 31), time(23, 59), PARIS)
    with pytest.raises(DateError, match="out of range"):
        dates.checked("as_of", "9999-12-31T23:59Z", parse_when("9999-12-31T23:59Z", ZoneInfo("UTC"), NOW), PARIS)


def test_the_api_and_the_cli_share_the_range_and_the_day_bounds():
    for text in DAY_FORMS:
        assert dates.moment(read_iso(text), PARIS, "end") == parse_when(text, PARIS, NOW, "end")
    with pytest.raises(DateError, match="out of range"):
        dates.checked("as_of", "1899-12-30", dates.moment(read_iso("1899-12-30"), PARIS, "end"))


def test_a_period_in_the_future_or_upside_down_names_both_dates():
    since, until = parse_when("2026-03-10", PARIS, NOW, "start"), parse_when("2026-03-01", PARIS, NOW, "end")
    with pytest.raises(DateError) as e:
        check_period(since, until, NOW, ("--since", "--until"))
    assert (e.value.field, e.value.message) == (
        "--since", "--since 2026-03-10 is after --until 2026-03-01; give the earlier date as --since")
    with pytest.raises(DateError, match=r"^--since 2030-01-01 is in the future \(now is 2026-03-15T09:30\+01:00\)$"):
        check_period(parse_when("2030-01-01", PARIS, NOW, "start"), None, NOW, ("--since", "--until"))
    moment = datetime(2026, 3, 15, 9, 45, tzinfo=PARIS)
    with pytest.raises(DateError, match="since 2026-03-15T09:45"):
        check_period(moment, None, NOW)
    check_period(parse_when("today", PARIS, NOW, "start"), parse_when("today", PARIS, NOW, "end"), NOW)


def test_until_alone_covers_the_month_before_it():
    until = parse_when("2026-10-15", PARIS, NOW, "end")
    assert month_before(until, PARIS) == datetime(2026, 9, 15, 0, 0, tzinfo=PARIS)
    assert month_before(parse_when("2026-03-31", PARIS, NOW, "end"), PARIS) == datetime(2026, 2, 28, tzinfo=PARIS)
    early = parse_when("1900-01-10", PARIS, NOW, "end")
    assert month_before(early, PARIS) == dates.EARLIEST  # never before the range
