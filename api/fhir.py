"""``GET /v1/export/fhir``: the token's own record as one FHIR R4 ``Bundle`` (service.fhir).

The record can be large, so the events come by period: ``since`` and
``until`` at most ``MAX_RECAP_DAYS`` (366) days apart (default: the 366 days
up to the end of today); a longer record is fetched as several periods (each bundle holds the whole plan,
so every reference resolves inside it). Read from the store itself, not the
projections, so it matches ``backstory export --format fhir`` byte for byte
in content. It costs ``RECAP_COST`` requests of the rate limits.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from marshmallow import fields

from api import limits
from api.blueprint import ApiBlueprint
from api.context import backend, principal
from api.query_dates import Zone, check_period, check_span, moment
from api.schemas import Strict, When

blp = ApiBlueprint("fhir", __name__, url_prefix="/v1", description="The record as FHIR R4 for a clinic")


class FhirQuerySchema(Strict):
    since = When(metadata={"description": "Events from (a date: the start of that day; default "
                                          f"{limits.MAX_RECAP_DAYS} days before until); "
                                          f"at most {limits.MAX_RECAP_DAYS} days before until"})
    until = When(metadata={"description": "Events until (a date: the end of that day; default the end of today)"})


class BundleSchema(Strict):
    resourceType = fields.String(metadata={"enum": ["Bundle"]})
    id = fields.String(metadata={"description": "uuid5 of the program and the period: stable"})
    type = fields.String(metadata={"enum": ["collection"]})
    entry = fields.List(fields.Dict(), metadata={
        "description": "{fullUrl: urn:uuid:ID, resource}: Patient, CarePlan, ServiceRequest (the whole plan), "
                       "Procedure, Observation and QuestionnaireResponse (the events in the period)"})


@blp.route("/export/fhir", methods=["GET"])
@blp.protected()
@blp.arguments(FhirQuerySchema, location="query")
@blp.response(200, BundleSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def export_fhir(query):
    """The record as a FHIR R4 Bundle (type collection): the plan whole, sessions, pain and assessments by period.

    ``since`` and ``until`` at most 366 days apart (default: the 366 days up to today); the same store and
    period give the same bundle. See the README, "FHIR export", for the mapping.
    """
    from service.fhir import bundle

    zone = Zone()
    now = datetime.now(zone.get())
    until = moment(query, "until", "end", zone) or datetime.combine(now.date(), time.max, zone.get())
    since = moment(query, "since", "start", zone)
    check_period(since, until)
    since = since or until - timedelta(days=limits.MAX_RECAP_DAYS)
    check_span(since, until, "an export")
    ctx = backend()
    return ctx.retrying(lambda: bundle(principal().ledger(ctx.app), since, until))
