"""``GET /v1/outcomes``: each outcome measure's baseline, latest, change and verdict (domain.mcid).

Answered by the projections (the facts table) after they catch up; the token's
own program only. The record's instruments are four at most, so it is not paged.
"""

from __future__ import annotations

from marshmallow import fields

from api.blueprint import ApiBlueprint
from api.context import backend, principal
from api.schemas import Iso, NoQuerySchema, Strict

blp = ApiBlueprint("outcomes", __name__, url_prefix="/v1", description="Outcome measures and their change")
VERDICTS = ["improved", "worsened", "no important change", "single measurement"]


def Score(**metadata) -> fields.Raw:
    """A number passed through as the command path gives it (an RMDQ 4 stays 4, an ODI 26.7 stays 26.7)."""
    return fields.Raw(metadata={"type": "number", **metadata})


class PointSchema(Strict):
    at = Iso()
    score = Score()
    source = fields.String(metadata={"enum": ["assess", "checkin"], "description": "NPRS only"})


class ActivitySchema(Strict):
    id = fields.String()
    name = fields.String(allow_none=True)
    baseline = fields.Nested(PointSchema)
    latest = fields.Nested(PointSchema)
    change = Score()
    mcid = Score()
    verdict = fields.String(metadata={"enum": VERDICTS})


class InstrumentSchema(Strict):
    instrument = fields.String(metadata={"enum": ["odi", "rmdq", "psfs", "nprs"]})
    measurements = fields.Integer()
    baseline = fields.Nested(PointSchema)
    latest = fields.Nested(PointSchema)
    change = Score(description="latest minus baseline")
    mcid = Score(description="the minimal clinically important difference, in points")
    mcid_percent_of_baseline = fields.Integer(metadata={"description": "NPRS only: 30, either suffices"})
    verdict = fields.String(metadata={"enum": VERDICTS})
    activities = fields.List(fields.Nested(ActivitySchema), metadata={"description": "PSFS only"})


class OutcomesSchema(Strict):
    instruments = fields.List(fields.Nested(InstrumentSchema))
    note = fields.String(metadata={"description": "the verdicts are heuristics, not a diagnosis"})


@blp.route("/outcomes", methods=["GET"])
@blp.protected()
@blp.arguments(NoQuerySchema, location="query")
@blp.response(200, OutcomesSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def outcomes(_query):
    """Per instrument (ODI, RMDQ, PSFS, NPRS with check-ins), baseline, latest, change and MCID verdict.

    MCIDs: NPRS 2 points or 30% of the baseline, ODI 10, RMDQ 5, PSFS 2 on the mean
    and 3 per activity. Heuristics, not a diagnosis.
    """
    return outcomes_of()


def outcomes_of() -> dict:
    """The caller's outcome measures (the API's and the dashboard's read)."""
    ctx = backend()
    ctx.catch_up()
    return ctx.projections.outcomes(principal().program_id)
