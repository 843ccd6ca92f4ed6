"""``GET /v1/pending``: the sessions awaiting their next-day response, as ``backstory pending --json``.

A session awaits its next day when its exercise was added or progressed since the
exercise's previous session and no next-day response names it yet; progressing that
exercise is refused (or kept as a conflict when pushed) until one is recorded or the
progression is forced. Computed by ``service.insights.lights`` from the read models.
"""

from __future__ import annotations

from marshmallow import fields

from api.blueprint import ApiBlueprint
from api.query_dates import read_models
from api.schemas import Iso, NoQuerySchema, Strict
from service.insights.lights import pending as query

blp = ApiBlueprint("pending", __name__, url_prefix="/v1", description="How the back responded (pain monitoring)")


class PendingSessionSchema(Strict):
    session_id = fields.String(metadata={"description": "the logged session's fact id"})
    exercise = fields.String(allow_none=True)
    occurred_at = Iso()


class PendingSchema(Strict):
    pending = fields.List(fields.Nested(PendingSessionSchema), metadata={
        "description": "oldest first: the first session after an add or a progression, no next-day response yet"})


@blp.route("/pending", methods=["GET"])
@blp.protected()
@blp.arguments(NoQuerySchema, location="query")
@blp.response(200, PendingSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def pending(_query):
    """Sessions awaiting their next-day response (a heuristic of the pain-monitoring model, not a diagnosis).

    It reads the whole history: it costs ``RECAP_COST`` (10) requests of the rate limits.
    """
    return pending_of()


def pending_of() -> dict:
    """The caller's sessions awaiting their next-day response (the API's and the dashboard's)."""
    projections, program_id = read_models()
    return projections.with_record(program_id, query)
