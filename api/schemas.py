"""The marshmallow schemas: they validate every request, shape every response, and make the OpenAPI document.

This module holds what every schema shares (``Strict``, the time fields, problems, pages,
health); the rest live by purpose: ``api.sync_schemas`` (push and pull),
``api.device_schemas`` (pairing, devices) and ``api.read_schemas`` (the read endpoints).
Unknown fields are refused everywhere (``RAISE``, in the body and in the query
string). Field names and shapes follow the wire format of SPEC 5; fields may
be added, never removed.
"""

from __future__ import annotations

from datetime import date, datetime

import marshmallow as ma
from marshmallow import fields, validate

from api import limits
from service import dates


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True


class Iso(fields.Field):
    """A moment in a response: an ISO 8601 string (a datetime is formatted, a string passed through)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        return str(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or isinstance(value, str):
            return value
        raise self.make_error("invalid")

    default_error_messages = {"invalid": "Not a valid ISO 8601 string."}


class When(fields.String):
    """A query moment: an ISO date (``2026-03-01``, ``20260301``, ``2026-W09-7``, ``2026-060``) or datetime.

    Deserialized to a ``date`` or a ``datetime`` (naive when given without an
    offset); the view turns it into a moment in the program's time zone.
    """

    default_error_messages = {"when": "Not an ISO date or datetime, e.g. 2026-03-01, 20260301, 2026-W09-7, 2026-060 "
                                      "or 2026-03-01T18:30:00+01:00."}

    def __init__(self, **kwargs):
        given = kwargs.pop("metadata", {})
        description = "ISO date or datetime (without an offset: in the program's time zone)"
        metadata = {"example": "2026-03-01", **given,
                    "description": f"{given['description']}. {description}" if "description" in given else description}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            return None
        if len(text) > 64:
            raise self.make_error("when")
        try:
            return dates.read_iso(text)  # the CLI's reading: every date form is a whole day
        except ValueError:
            raise self.make_error("when") from None


class ProblemSchema(Strict):
    """RFC 9457 problem details."""

    type = fields.String(required=True, metadata={"description": "A URI naming the kind of problem"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String(metadata={"description": "urn:uuid of this request (also X-Request-ID)"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Each bad field by its dotted path, e.g. mutations.0.occurred_at; "
                                                  f"at most {limits.MAX_LISTED_ERRORS} fields, "
                                                  f"{limits.MAX_LISTED_MESSAGES} messages each"})
    more_errors = fields.Integer(metadata={"description": "How many more bad fields there were than listed"})
    expected_seq = fields.Integer(metadata={"description": "409 seq gap: the seq this device must send next"})
    reused = fields.List(fields.Dict(), metadata={
        "description": "409: the batch's mutations ({seq, mutation_id}) whose seqs this server already holds from "
                       "other mutations of the device; it does not hold these ids: send them again under new seqs"})
    max_bytes = fields.Integer()
    max_items = fields.Integer()
    lag = fields.Integer()
    what = fields.String()
    rule = fields.String()
    confirm = fields.String(metadata={"description": "409 confirmation-required: send the request again with "
                                                     "?confirm= this value"})
    reasons = fields.List(fields.String(), metadata={"description": "409 confirmation-required: why it is asked"})


_PAGE_COST = (f"Costs 1 request of the rate limits, plus 1 per {limits.PAGE_COST_ITEMS} items asked beyond the "
              f"first {limits.PAGE_COST_ITEMS}")


class PageQuerySchema(Strict):
    after = fields.String(load_default="", validate=validate.Length(max=limits.MAX_CURSOR_CHARS),
                          metadata={"description": "A next_cursor from the previous page of this list; "
                                                   "empty or absent: the first page"})
    limit = fields.Integer(load_default=limits.READ_LIMIT_DEFAULT,
                           validate=validate.Range(min=1, max=limits.READ_LIMIT_MAX),
                           metadata={"description": f"Page size. {_PAGE_COST}"})


def next_cursor_field(item: str) -> fields.String:
    return fields.String(required=True, metadata={
        "description": f"Give it as `after` for the {item} after this page (the given one when the page is empty)"})


def has_more_field(item: str) -> fields.Boolean:
    return fields.Boolean(required=True, metadata={"description": f"Whether more {item} follow this page"})


class NoQuerySchema(Strict):
    """Endpoints without query parameters refuse any."""


class HealthSchema(Strict):
    status = fields.String(required=True)


class ProjectionStatusSchema(Strict):
    name = fields.String()
    position = fields.Integer(allow_none=True)
    head = fields.Integer(allow_none=True)
    lag = fields.Integer(allow_none=True)


class ReadySchema(Strict):
    """``{"status": "ready"}``; the other fields only for the operator's token (``api.health``)."""

    status = fields.String(required=True)
    database = fields.String()
    lag = fields.Integer(allow_none=True)
    projections = fields.List(fields.Nested(ProjectionStatusSchema))
