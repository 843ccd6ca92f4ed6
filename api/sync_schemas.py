"""The schemas of sync (SPEC 5): a push of mutations and its results, a pull of the feed."""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
from flask import current_app
from marshmallow import fields, validate

from api import limits
from api.errors import ApiProblem
from api.schemas import Iso, Strict
from service import dates
from service.args import MUTATION_TYPES


STATUSES = ("applied", "duplicate", "conflict", "rejected")


class MutationSchema(Strict):
    mutation_id = fields.UUID(required=True, metadata={"description": "Made by the client; the idempotency key"})
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**53 - 1),
                         metadata={"description": "Per device, contiguous, starting at 1"})
    type = fields.String(required=True, validate=validate.OneOf(MUTATION_TYPES),
                         metadata={"description": "The CLI command name"})
    occurred_at = fields.AwareDateTime(
        required=True, format="iso",
        metadata={"description": "Valid time, ISO 8601 with an offset; one more than "
                                 f"{limits.CLOCK_TOLERANCE_SECONDS // 60} minutes ahead of the server's clock is "
                                 "rejected (that mutation only)"})
    base_version = fields.Integer(strict=True, allow_none=True, load_default=None,
                                  validate=validate.Range(min=0, max=2**53 - 1),
                                  metadata={"description": "For decisions: the program version the device had seen; "
                                                           "one above the program's version is rejected"})
    args = fields.Dict(load_default=dict,  # JSON keys are strings already
                       metadata={"description": "The CLI options with underscores; at most "
                                                f"{limits.MAX_ARGS_BYTES} bytes as JSON. Checked per mutation: "
                                                "a bad argument makes that mutation 'rejected'"})


    @ma.validates("occurred_at")
    def _representable(self, value: datetime, **_kwargs) -> None:
        if not dates.in_range(value):
            raise ma.ValidationError(f"is out of range; use a time {dates.RANGE}")


class PushRequestSchema(Strict):
    mutations = fields.List(fields.Nested(MutationSchema), required=True,
                            metadata={"maxItems": limits.MAX_BATCH,
                                      "description": f"At most {limits.MAX_BATCH} (413 beyond), each an object"})

    @ma.pre_load
    def _cap_first(self, data, **_kwargs):
        """The batch cap (413) and the element types, before any mutation is validated field by field.

        Validating every element of a list under the body cap (250,000 ``{}``) took seconds and
        answered megabytes of errors; past the cap nothing of the elements is looked at.
        """
        if not isinstance(data, dict) or not isinstance(data.get("mutations"), list):
            return data  # the fields' own errors name the problem
        mutations = data["mutations"]
        cap = int(current_app.config["MAX_BATCH"])
        if len(mutations) > cap:
            raise ApiProblem(413, "batch-too-large", f"a push carries at most {cap} mutations; this one has "
                                                    f"{len(mutations)}: split it into batches",
                             errors={"mutations": [f"at most {cap} mutations per push"]}, max_items=cap)
        wrong = {i: ["must be an object (a mutation)"] for i, m in enumerate(mutations) if not isinstance(m, dict)}
        if wrong:
            raise ma.ValidationError({"mutations": wrong})
        return data


class PushResultSchema(Strict):
    mutation_id = fields.String(required=True)
    seq = fields.Integer(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    reason = fields.String()
    conflict = fields.Dict()
    result = fields.Dict(allow_none=True)
    original_status = fields.String(metadata={"description": "For a duplicate: the status it had the first time"})


class PushResponseSchema(Strict):
    results = fields.List(fields.Nested(PushResultSchema), required=True)
    last_seq = fields.Integer(required=True)


class PullQuerySchema(Strict):
    after = fields.String(load_default="", validate=validate.Length(max=limits.MAX_CURSOR_CHARS),
                          metadata={"description": "A next_cursor from an earlier pull; empty or absent: from the start"})
    limit = fields.Integer(load_default=limits.PULL_LIMIT_DEFAULT,
                           validate=validate.Range(min=1, max=limits.PULL_LIMIT_MAX))


class FeedEntrySchema(Strict):
    position = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("event", "outcome", "conflict", "device")),
                         metadata={"description": "device: a device of the account was paired or revoked; data "
                                                  "names it (device, name), the action, and who did it (by, "
                                                  "by_name: a device or 'operator'); device_id is who did it"})
    type = fields.String(required=True)
    mutation_id = fields.String(required=True, allow_none=True)
    device_id = fields.String(required=True, allow_none=True)
    occurred_at = Iso(required=True)
    recorded_at = Iso(required=True)
    data = fields.Dict(required=True)


class PullResponseSchema(Strict):
    entries = fields.List(fields.Nested(FeedEntrySchema), required=True)
    next_cursor = fields.String(required=True)
    has_more = fields.Boolean(required=True)
    behind = fields.Integer(metadata={
        "description": "Events the store holds that the feed has not taken in yet (of every account; a request "
                       "applies a bounded number). With has_more false and behind above 0, pull again shortly "
                       "for the newest entries"})
