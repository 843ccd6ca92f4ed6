"""``GET /v1/tension``: tension as data, the same JSON as ``backstory tension --json``.

Answered from the read models through ``service.insights.tension`` (one computation for
both faces). It replaces the read models' bare count by muscle and side, which no endpoint
served.
"""

from __future__ import annotations

from datetime import datetime, time

from marshmallow import fields, validate

from api.blueprint import ApiBlueprint
from api.query_dates import Zone, check_period, moment, read_models
from api.read_schemas import RangeQuerySchema, RuleRefSchema, SuggestionSchema
from api.schemas import Iso, Strict, When
from domain.body import MUSCLES, SIDES, TENSION_KINDS
from service.insights import HEURISTICS_NOTE

blp = ApiBlueprint("tension", __name__, url_prefix="/v1", description="What the tension observations say")


class TensionQuerySchema(RangeQuerySchema):
    since = When(metadata={"description": "From (a date: the start of that day; default: the whole history)"})
    until = When(metadata={"description": "Until (a date: the end of that day; default: today)"})
    muscle = fields.String(validate=validate.OneOf(MUSCLES), metadata={"description": "Only this muscle"})
    side = fields.String(validate=validate.OneOf(SIDES), metadata={"description": "Only this side in `muscles`"})


class MuscleSchema(Strict):
    muscle = fields.String(metadata={"enum": list(MUSCLES)})
    side = fields.String(metadata={"enum": list(SIDES)})
    count = fields.Integer(metadata={"description": "observations of this muscle and side"})
    mean_intensity = fields.Float(allow_none=True, metadata={
        "description": "mean intensity (0..10) of the observations that gave one; null if none did"})
    kinds = fields.Dict(keys=fields.String(validate=validate.OneOf(TENSION_KINDS)), values=fields.Integer(),
                        metadata={"description": "observations by kind"})
    exercises = fields.List(fields.String(), metadata={"description": "exercises it was observed in, by name"})


class AsymmetrySchema(Strict):
    muscle = fields.String(metadata={"enum": list(MUSCLES)})
    kind = fields.String(metadata={"enum": ["means-differ", "one-sided"], "description":
                                   "means differ by asymmetry_points over asymmetry_sessions sessions with both "
                                   "sides, or one side reported in one_sided_sessions sessions and the other never"})
    side = fields.String(metadata={"enum": ["left", "right"], "description":
                                   "the side that stands out: the higher mean, or the only one reported"})
    left_mean = fields.Float(allow_none=True, metadata={
        "description": "mean of each counted session's highest left intensity; null if never observed"})
    right_mean = fields.Float(allow_none=True, metadata={"description": "as left_mean, for the right side"})
    exposures = fields.Integer(metadata={"description": "the sessions counted"})
    facts = fields.List(fields.String(), metadata={"description": "their session (log fact) ids"})




class TensionSchema(Strict):
    since = Iso()
    until = Iso()
    sessions = fields.Integer(metadata={"description": "logged sessions in the period"})
    muscles = fields.List(fields.Nested(MuscleSchema))
    asymmetries = fields.List(fields.Nested(AsymmetrySchema))
    suggestions = fields.List(fields.Nested(SuggestionSchema), metadata={
        "description": "never events; each under the policy in force at its exercise's last session. "
                       + HEURISTICS_NOTE})
    policy = fields.Nested(RuleRefSchema, metadata={
        "description": "the policy the asymmetries were judged under: in force at the period's last session"})


@blp.route("/tension", methods=["GET"])
@blp.protected()
@blp.arguments(TensionQuerySchema, location="query")
@blp.response(200, TensionSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def tension(query):
    """Muscles that grab, sides that differ, and what the rule `tension-suggestions` suggests over a period."""
    return tension_of(query)


def tension_of(query: dict) -> dict:
    """The caller's tension over a parsed ``TensionQuerySchema`` query's period (the API's and the dashboard's)."""
    from service.insights.tension import tension as answer

    zone = Zone()
    until = moment(query, "until", "end", zone) or datetime.combine(datetime.now(zone.get()).date(), time.max,
                                                                     zone.get())
    since = moment(query, "since", "start", zone)
    check_period(since, until)
    projections, program_id = read_models()
    return projections.with_record(program_id, lambda record: answer(record, since, until, query.get("muscle"),
                                                                     query.get("side")))
