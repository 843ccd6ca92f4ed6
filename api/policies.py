"""``GET /v1/policies``: the insight rules in force, as ``backstory policy show --json`` prints them.

Changing a rule is a ``policy-set`` mutation pushed like any other decision.
"""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import fields

from api.blueprint import ApiBlueprint
from api.query_dates import Zone, moment, read_models
from api.schemas import Iso, Strict, When
from service.policies import describe

blp = ApiBlueprint("policies", __name__, url_prefix="/v1", description="The rules behind the insights")


class PolicyQuerySchema(Strict):
    as_of = When(metadata={"description": "The rules in force then (default now); a date means the end of that day"})


class PolicySchema(Strict):
    id = fields.String()
    version = fields.Integer(metadata={"description": "the version of the rule's logic"})
    params = fields.Dict(keys=fields.String(), metadata={"description": "the parameters in force"})
    defaults = fields.Dict(keys=fields.String())
    changed_at = Iso(metadata={"description": "valid time of the change in force, null for the defaults"})
    summary = fields.String()


class PoliciesSchema(Strict):
    at = Iso()
    policies = fields.List(fields.Nested(PolicySchema))
    note = fields.String(metadata={"description": "the rules are heuristics, not a diagnosis"})


@blp.route("/policies", methods=["GET"])
@blp.protected()
@blp.arguments(PolicyQuerySchema, location="query")
@blp.response(200, PoliciesSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def policies(query):
    """Every insight rule (pain monitoring, micro-breaks, fittings, tension, signature evidence, kit) in force."""
    at = moment(query, "as_of", "end", Zone()) or datetime.now(UTC)
    projections, program_id = read_models()
    return projections.with_record(program_id, lambda record: describe(record.policies, at))
