"""``GET /v1/fittings/report``: what changed in a fitting and when the next is due, as
``backstory fitting report --json`` prints it (``service.insights.fittings``)."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import fields, validate

from api.blueprint import ApiBlueprint
from api.query_dates import read_models
from api.read_schemas import DecisionSchema, RuleRefSchema, SuggestionSchema
from api.schemas import Iso, Strict
from service.insights.fittings import report

blp = ApiBlueprint("fittings", __name__, url_prefix="/v1", description="Fittings: the program's 1-2 week cycles")


class FittingQuerySchema(Strict):
    number = fields.Integer(validate=validate.Range(min=1, max=1_000_000), metadata={
        "description": "The fitting's number (default: the open one, else the last)"})



class FittingSchema(Strict):
    number = fields.Integer()
    opened_at = Iso(metadata={"description": "valid time of its fitting-open"})
    closed_at = Iso(metadata={"description": "valid time of its fitting-close; null while open"})


class LightCountsSchema(Strict):
    green = fields.Integer()
    amber = fields.Integer()
    red = fields.Integer()


class NextDayCountsSchema(Strict):
    better = fields.Integer()
    same = fields.Integer()
    worse = fields.Integer()
    missing = fields.Integer(metadata={"description": "sessions without a next-day response"})


class FittingExerciseSchema(Strict):
    exercise = fields.String()
    exercise_id = fields.String()
    sessions = fields.Integer(metadata={"description": "sessions logged within the fitting"})
    lights = fields.Nested(LightCountsSchema, metadata={"description": "their pain-monitoring lights"})
    next_day = fields.Nested(NextDayCountsSchema, metadata={"description": "their next-day verdicts"})



class FittingReportSchema(Strict):
    fitting = fields.Nested(FittingSchema)
    decisions = fields.List(fields.Nested(DecisionSchema), metadata={"description": "decisions within it"})
    exercises = fields.List(fields.Nested(FittingExerciseSchema))
    suggestions = fields.List(fields.Nested(SuggestionSchema), metadata={
        "description": "what the insights suggest for the period; never applied by themselves"})
    next_due = Iso(metadata={"description": "when the next fitting is due: max_days after an open one began; "
                                            "after a closed one, once it closed and min_days after it began"})
    due = fields.Boolean(metadata={"description": "the fitting is open and past next_due"})
    days = fields.Float(metadata={"description": "days from its opening to its close (or now)"})
    policy = fields.Nested(RuleRefSchema, metadata={"description": "the fittings policy in force when it opened"})
    note = fields.String(metadata={"description": "heuristics, not a diagnosis"})


@blp.route("/fittings/report", methods=["GET"])
@blp.protected()
@blp.arguments(FittingQuerySchema, location="query")
@blp.response(200, FittingReportSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program, no fitting yet, or no fitting of that number")
def fitting_report(query):
    """A fitting's decisions, each exercise's lights and next-day responses, suggestions, and the next due date."""
    return fitting_report_of(query)


def fitting_report_of(query: dict) -> dict:
    """The caller's fitting report for a parsed ``FittingQuerySchema`` query (the API's and the dashboard's)."""
    now = datetime.now(UTC)
    projections, program_id = read_models()
    return projections.with_record(program_id, lambda record: report(record, query.get("number"), now))
