"""``GET /v1/day`` and ``GET /v1/breaks``: the 23-hour day and micro-break adherence, as ``backstory day --json``
and ``backstory breaks --json`` print them (``service.insights.day`` and ``.breaks``, policy ``micro-breaks``).

Answered from the read models (``projections.record``). Sleep, breaks and check-ins are recorded by pushing
``sleep``, ``break`` and ``checkin`` mutations like any other fact.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from marshmallow import fields

from api.blueprint import ApiBlueprint
from api.query_dates import Zone, check_period, check_span, moment, read_models
from api.read_schemas import RuleRefSchema, SessionSchema
from api.schemas import Iso, Strict, When
from service import dates

blp = ApiBlueprint("day", __name__, url_prefix="/v1", description="The 23-hour day: micro-breaks, sleep, flares")

STRETCH = ("the longest gap, in minutes, within waking hours between their start, each break or logged session "
           "and their end; null until the day is over")
def Minutes(**kwargs) -> fields.Raw:
    """A number of minutes as the CLI prints it (60 stays 60, 59.5 stays 59.5)."""
    return fields.Raw(allow_none=True, metadata={"type": "number", **kwargs})


MET = "whether the longest stretch stayed within the policy's max_gap_min; null until the day is over"



class DayQuerySchema(Strict):
    date = When(metadata={"description": "The day (default today, in the program's time zone); a datetime "
                                         "means the day it falls on there"})


class BreakSchema(Strict):
    at = Iso(metadata={"description": "valid time of the break, as recorded"})
    kind = fields.String(metadata={"enum": ["stand", "walk", "extend", "rotate", "reset"]})
    seconds = fields.Integer(allow_none=True)





class SleepSchema(Strict):
    id = fields.String(metadata={"description": "the sleep fact's id"})
    occurred_at = Iso()
    hours = fields.Raw(allow_none=True, metadata={"type": "number", "description": "0..24, whole or half hours"})
    quality = fields.Integer(allow_none=True, metadata={"description": "0 worst .. 10 best"})
    position = fields.String(allow_none=True, metadata={"enum": ["back", "side", "front", "mixed"]})
    pain_morning = fields.Integer(allow_none=True, metadata={"description": "pain on waking, 0..10"})
    note = fields.String(allow_none=True)


class CheckinSchema(Strict):
    id = fields.String()
    occurred_at = Iso()
    pain = fields.Integer()
    starts = fields.String(allow_none=True)
    travels = fields.List(fields.String())
    note = fields.String(allow_none=True)


class DaySchema(Strict):
    date = fields.String(metadata={"description": "the local date (YYYY-MM-DD) in the program's time zone"})
    sessions = fields.List(fields.Nested(SessionSchema))
    breaks = fields.List(fields.Nested(BreakSchema), metadata={"description": "every break of the day, also "
                                                                               "outside waking hours"})
    longest_without_break_min = Minutes(description=STRETCH)
    breaks_target = fields.Integer(metadata={
        "description": "the fewest evenly spaced breaks that keep every stretch of the waking hours within "
                       "max_gap_min: ceil(waking minutes / max_gap_min) - 1 (13 for the defaults)"})
    met_target = fields.Boolean(allow_none=True, metadata={"description": MET})
    sleep = fields.Nested(SleepSchema, allow_none=True, metadata={
        "description": "the sleep fact whose valid time falls on this date (the latest if several)"})
    checkins = fields.List(fields.Nested(CheckinSchema))
    in_flare = fields.Boolean(metadata={"description": "a flare started on or before this day and had not ended "
                                                       "before it"})
    policy = fields.Nested(RuleRefSchema,
                           metadata={"description": "the micro-breaks policy in force at the day's start"})


class BreaksQuerySchema(Strict):
    since = When(metadata={"description": "From (a date: the start of that day; default a month before until)"})
    until = When(metadata={"description": "Until (a date: the end of that day; default today)"})


class BreaksDaySchema(Strict):
    date = fields.String()
    breaks = fields.Integer()
    longest_without_break_min = Minutes(description=STRETCH)
    met_target = fields.Boolean(allow_none=True, metadata={"description": MET})


class BreaksSchema(Strict):
    since = Iso()
    until = Iso()
    days = fields.List(fields.Nested(BreaksDaySchema), metadata={"description": "the days with anything recorded"})
    share_days_met = fields.Float(allow_none=True, metadata={
        "description": "share (0..1, two decimals) of the listed days that are over and met the target; null "
                       "when none is over"})
    policy = fields.Nested(RuleRefSchema, metadata={
        "description": "the policy in force at until (each day is judged under the one at its start)"})


@blp.route("/day", methods=["GET"])
@blp.protected()
@blp.arguments(DayQuerySchema, location="query")
@blp.response(200, DaySchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def day(query):
    """One day's micro-breaks, longest stretch without one, sessions with their light, sleep, check-ins and flare.

    Heuristics from the clinical literature, not a diagnosis.
    """
    return day_of(query)


def day_of(query: dict) -> dict:
    """The caller's day for a parsed ``DayQuerySchema`` query (the API's and the dashboard's)."""
    from service.insights.day import day as question

    zone = Zone()
    now = datetime.now(UTC)
    when = moment(query, "date", "start", zone) or now
    projections, program_id = read_models()
    return projections.with_record(program_id, lambda record: question(
        record, when.astimezone(record.timezone).date(), now))


@blp.route("/breaks", methods=["GET"])
@blp.protected()
@blp.arguments(BreaksQuerySchema, location="query")
@blp.response(200, BreaksSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def breaks(query):
    """Micro-breaks day by day over a period (default: the month up to today) and the share of finished days
    that met the target; at most ``MAX_RECAP_DAYS`` (366) days. It costs ``RECAP_COST`` (10) requests of the rate
    limits, as a recap does.

    Heuristics from the clinical literature, not a diagnosis.
    """
    return breaks_of(query)


def breaks_of(query: dict) -> dict:
    """The caller's micro-breaks over a parsed ``BreaksQuerySchema`` query's period (the API's and the
    dashboard's)."""
    from service.insights.breaks import breaks as question

    zone = Zone()
    now = datetime.now(UTC)
    until = moment(query, "until", "end", zone) or datetime.combine(now.astimezone(zone.get()).date(), time.max,
                                                                     zone.get())
    since = moment(query, "since", "start", zone)
    check_period(since, until)
    since = since or dates.month_before(until, zone.get())
    check_span(since, until, "a breaks report")
    projections, program_id = read_models()
    return projections.with_record(program_id, lambda record: question(record, since, until, now))
