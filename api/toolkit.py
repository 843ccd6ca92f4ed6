"""The signature toolkit over HTTP, as the CLI prints it with ``--json`` (``service.insights``):

``GET /v1/exercises/{exercise}/signature-evidence`` (``signature --explain``),
``GET /v1/signature/candidates`` (``signature --candidates``), ``GET /v1/kit`` (``kit``)
and ``GET /v1/flares`` (``flares``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import fields, validate

from api.blueprint import ApiBlueprint
from api.query_dates import read_models
from api.reads import exercise_in_path
from api.read_schemas import RuleRefSchema
from api.schemas import Iso, NoQuerySchema, Strict
from service.insights import flares as flare_insight
from service.insights import kit as kit_insight
from service.insights import signature as signature_insight

blp = ApiBlueprint("toolkit", __name__, url_prefix="/v1",
                   description="The signature toolkit: the evidence rule, candidates, kits and flares")


class SignatureRuleSchema(Strict):
    rule_id = fields.String()
    version = fields.Integer()
    window_days = fields.Integer()
    min_exposures = fields.Integer()
    min_days = fields.Integer()
    max_pain_during = fields.Integer()
    min_relief_ratio = fields.Float()
    relief_points = fields.Integer()


class ClauseSchema(Strict):
    clause = fields.String(metadata={"description": "exposures, days, max_pain_during, worse_responses or "
                                                    "relief_ratio"})
    required = fields.Raw(metadata={"description": "the rule's number: at least (exposures, days, relief_ratio), "
                                                   "at most (max_pain_during, worse_responses)"})
    measured = fields.Raw(allow_none=True, metadata={"description": "what the window holds (null: no pain "
                                                                    "during recorded)"})
    met = fields.Boolean()
    summary = fields.String(metadata={"description": "the clause in words"})


class ExplainSchema(Strict):
    exercise = fields.String()
    exercise_id = fields.String()
    signature = fields.Boolean(metadata={"description": "already in the signature library"})
    at = Iso()
    rule = fields.Nested(SignatureRuleSchema, metadata={"description": "the signature-evidence rule in force now"})
    policy = fields.Nested(RuleRefSchema)
    window_start = Iso()
    clauses = fields.List(fields.Nested(ClauseSchema))
    met = fields.Boolean(metadata={"description": "every clause is met: a promotion would be accepted"})


class CandidateSchema(Strict):
    exercise = fields.String()
    exercise_id = fields.String()
    exposures = fields.Integer()
    days = fields.Integer()
    max_pain_during = fields.Integer(allow_none=True)
    relief_ratio = fields.Float()


class CandidatesSchema(Strict):
    at = Iso()
    rule = fields.Nested(SignatureRuleSchema)
    policy = fields.Nested(RuleRefSchema)
    candidates = fields.List(fields.Nested(CandidateSchema), metadata={
        "description": "active exercises that meet the rule now and are not signature"})


class KitQuerySchema(Strict):
    minutes = fields.Integer(load_default=10, validate=validate.Range(min=1, max=240),
                             metadata={"description": "the time budget in minutes"})
    for_ = fields.String(data_key="for", attribute="for", validate=validate.OneOf(kit_insight.PURPOSES),
                         metadata={"description": "travel: bodyweight or an elastic band only; flare: stages 1-2, "
                                                  "best relief in past flares first"})


class KitExerciseSchema(Strict):
    exercise = fields.String()
    exercise_id = fields.String()
    prescription = fields.Dict(metadata={"description": "the prescription in force, as /v1/program gives it"})
    minutes = fields.Float(metadata={"description": "sets x (reps x rep_seconds, or the hold), twice per side, "
                                                    "+ rest_seconds between sets"})
    flare_mean_drop = fields.Float(allow_none=True, metadata={"description": "mean pain drop in past flares "
                                                                             "(flare kits)"})


class LeftOutSchema(Strict):
    exercise = fields.String()
    exercise_id = fields.String()
    why = fields.String()


class KitSchema(Strict):
    for_ = fields.String(data_key="for", attribute="for", allow_none=True)
    minutes_budget = fields.Integer()
    minutes_estimated = fields.Float()
    exercises = fields.List(fields.Nested(KitExerciseSchema))
    left_out = fields.List(fields.Nested(LeftOutSchema))
    at = Iso()
    policy = fields.Nested(RuleRefSchema, metadata={"description": "the kit policy in force now"})
    note = fields.String()


class ExposureSchema(Strict):
    exercise = fields.String()
    exercise_id = fields.String()
    sessions = fields.Integer()
    mean_drop = fields.Float(allow_none=True, metadata={"description": "mean of pain before minus pain after"})
    worse_next_day = fields.Integer()
    facts = fields.List(fields.String(), metadata={"description": "the sessions' fact ids"})


class FlareSchema(Strict):
    start = Iso()
    end = Iso(metadata={"description": "null while the flare goes on"})
    start_id = fields.String()
    end_id = fields.String(allow_none=True)
    peak_pain = fields.Integer(allow_none=True, metadata={"description": "the highest pain recorded in it"})
    exposures = fields.List(fields.Nested(ExposureSchema), metadata={"description": "best mean drop first"})


class FlaresSchema(Strict):
    flares = fields.List(fields.Nested(FlareSchema))
    note = fields.String()


@blp.route("/exercises/<string:exercise>/signature-evidence", methods=["GET"])
@blp.protected()
@blp.arguments(NoQuerySchema, location="query")
@blp.response(200, ExplainSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No such exercise (name or id prefix) in this program")
def signature_evidence(_query, exercise):
    """Each clause of the signature-evidence rule in force for one exercise: required, measured, met."""
    return explain_of(exercise)


def explain_of(exercise: str) -> dict:
    """Each clause of the signature-evidence rule for one exercise (name or id prefix; the API's and the
    dashboard's); an unknown one is a 404."""
    exercise_in_path(exercise)
    now = datetime.now(UTC)
    projections, program_id = read_models()
    return projections.with_record(program_id, lambda record: signature_insight.explain(record, exercise, now))


@blp.route("/signature/candidates", methods=["GET"])
@blp.protected()
@blp.arguments(NoQuerySchema, location="query")
@blp.response(200, CandidatesSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def signature_candidates(_query):
    """Active exercises that meet the signature-evidence rule today and are not signature yet."""
    return candidates_of()


def candidates_of() -> dict:
    """The caller's signature candidates today (the API's and the dashboard's)."""
    now = datetime.now(UTC)
    projections, program_id = read_models()
    return projections.with_record(program_id, lambda record: signature_insight.candidates(record, now))


@blp.route("/kit", methods=["GET"])
@blp.protected()
@blp.arguments(KitQuerySchema, location="query")
@blp.response(200, KitSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def kit(query):
    """Signature exercises that fit a time budget, for an ordinary day, a travel day or a flare."""
    return kit_of(query)


def kit_of(query: dict) -> dict:
    """The caller's kit for a parsed ``KitQuerySchema`` query (the API's and the dashboard's)."""
    now = datetime.now(UTC)
    projections, program_id = read_models()
    return projections.with_record(
        program_id, lambda record: kit_insight.kit(record, query["minutes"], query.get("for"), now))


@blp.route("/flares", methods=["GET"])
@blp.protected()
@blp.arguments(NoQuerySchema, location="query")
@blp.response(200, FlaresSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def flares(_query):
    """Each flare, its peak pain, and the exercises done in it, the best mean pain drop first."""
    return flares_of()


def flares_of() -> dict:
    """The caller's flares (the API's and the dashboard's)."""
    projections, program_id = read_models()
    return projections.with_record(program_id, flare_insight.flares)
