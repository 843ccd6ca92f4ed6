"""The marshmallow schemas: they validate every request, shape every response, and make the OpenAPI document.

Unknown fields are refused everywhere (``RAISE``, in the body and in the query
string). Field names and shapes follow the wire format of SPEC 5; fields may
be added, never removed.
"""

from __future__ import annotations

from datetime import date, datetime

import marshmallow as ma
from flask import current_app
from marshmallow import fields, validate

from api import limits
from service import dates
from api.errors import ApiProblem
from service.args import MUTATION_TYPES

STATUSES = ("applied", "duplicate", "conflict", "rejected")


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


# ----- problems ----------------------------------------------------------------------------------


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


# ----- sync --------------------------------------------------------------------------------------


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


# ----- pages of a list ---------------------------------------------------------------------------


_PAGE_COST = (f"Costs 1 request of the rate limits, plus 1 per {limits.PAGE_COST_ITEMS} items asked beyond the "
              f"first {limits.PAGE_COST_ITEMS}")


class PageQuerySchema(Strict):
    after = fields.String(load_default="", validate=validate.Length(max=limits.MAX_CURSOR_CHARS),
                          metadata={"description": "A next_cursor from the previous page of this list; "
                                                   "empty or absent: the first page"})
    limit = fields.Integer(load_default=limits.READ_LIMIT_DEFAULT,
                           validate=validate.Range(min=1, max=limits.READ_LIMIT_MAX),
                           metadata={"description": f"Page size. {_PAGE_COST}"})


def _next_cursor(item: str) -> fields.String:
    return fields.String(required=True, metadata={
        "description": f"Give it as `after` for the {item} after this page (the given one when the page is empty)"})


def _has_more(item: str) -> fields.Boolean:
    return fields.Boolean(required=True, metadata={"description": f"Whether more {item} follow this page"})


# ----- devices -----------------------------------------------------------------------------------


class PairRequestSchema(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=limits.MAX_NAME_CHARS))


class PairedSchema(Strict):
    device_id = fields.String(required=True)
    name = fields.String()
    token = fields.String(required=True, metadata={"description": "Shown once; only its hash is kept"})


class DeviceSchema(Strict):
    device_id = fields.String(required=True)
    name = fields.String(required=True)
    paired_at = Iso(required=True)
    revoked_at = Iso(required=True)
    paired_by = fields.String(allow_none=True, metadata={
        "description": "The device that paired it, 'operator', or null (paired before this was recorded)"})
    revoked_by = fields.String(allow_none=True, metadata={
        "description": "The device that revoked it, 'operator', or null (not revoked, or before this was recorded)"})
    current = fields.Boolean(required=True, metadata={"description": "The device making this request"})


class DeviceListSchema(Strict):
    devices = fields.List(fields.Nested(DeviceSchema), required=True)
    next_cursor = _next_cursor("devices")
    has_more = _has_more("devices")


class RevokeQuerySchema(Strict):
    confirm = fields.UUID(metadata={
        "description": "The revoked device's id again: needed when it paired the device asking, or when no "
                       "working device but the one asking would be left (otherwise, or with another value, "
                       "409 confirmation-required)"})


class RevokedSchema(Strict):
    device_id = fields.String(required=True)
    revoked = fields.Boolean(required=True)


# ----- reads -------------------------------------------------------------------------------------


class NoQuerySchema(Strict):
    """Endpoints without query parameters refuse any."""


class ProgramQuerySchema(Strict):
    as_of = When(metadata={"description": "Valid time (default now); a date means the end of that day"})
    known_at = When(metadata={"description": "Recorded time (default: everything recorded); "
                                            "a date means the end of that day"})


class RangeQuerySchema(Strict):
    since = When(metadata={"description": "From (a date: the start of that day)"})
    until = When(metadata={"description": "Until (a date: the end of that day)"})


class RecapQuerySchema(RangeQuerySchema):
    """A recap reads every fact of its range, which is at most ``MAX_RECAP_DAYS`` days (400 beyond)."""

    since = When(metadata={"description": "From (a date: the start of that day; default a month before until); "
                                          f"at most {limits.MAX_RECAP_DAYS} days before until"})


class RangePageQuerySchema(RangeQuerySchema, PageQuerySchema):
    """A valid-time range read in pages, oldest first."""


class SessionsQuerySchema(RangePageQuerySchema):
    """Sessions over a valid-time range in pages, of one exercise if named."""

    exercise = fields.String(validate=validate.Length(min=1, max=limits.MAX_NAME_CHARS), metadata={
        "description": "Only this exercise's sessions: its name (case-insensitive) or id prefix"})


class ProgramInfoSchema(Strict):
    name = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    started = fields.Boolean()
    fitting = fields.Dict(allow_none=True)


class ExerciseSchema(Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(allow_none=True)
    status = fields.String()
    signature = fields.Boolean()
    parent = fields.String(allow_none=True)
    components = fields.List(fields.String())
    prescription = fields.Dict()


class ProgramSchema(Strict):
    as_of = Iso()
    known_at = Iso()
    program = fields.Nested(ProgramInfoSchema)
    version = fields.Integer(allow_none=True)
    exercises = fields.List(fields.Nested(ExerciseSchema))
    fitting_due = fields.Boolean(metadata={"description": "the open fitting is past the fittings policy's max_days "
                                                          "at as_of: the next one is due"})


class DecisionSchema(Strict):
    type = fields.String()
    exercise = fields.String(allow_none=True)
    exercise_id = fields.String(allow_none=True)
    occurred_at = Iso()
    recorded_at = Iso()
    reason = fields.String(allow_none=True)
    reason_code = fields.String(allow_none=True)
    from_ = fields.Raw(allow_none=True, data_key="from", attribute="from")
    to = fields.Raw(allow_none=True)
    device_id = fields.String(allow_none=True)
    mutation_id = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True)


class HistorySchema(Strict):
    exercise = fields.String(allow_none=True)
    since = Iso()
    until = Iso()
    entries = fields.List(fields.Nested(DecisionSchema))
    next_cursor = _next_cursor("decisions")
    has_more = _has_more("decisions")


class NextDaySchema(Strict):
    verdict = fields.String(metadata={"enum": ["better", "same", "worse"]})
    pain = fields.Integer(allow_none=True)
    fact_id = fields.String(metadata={"description": "the next-day response's fact id"})


class RuleRefSchema(Strict):
    id = fields.String(metadata={"description": "the rule's id, e.g. pain-monitoring"})
    version = fields.Integer(metadata={"description": "the version of the rule's logic"})
    params = fields.Dict(keys=fields.String(), metadata={"description": "the parameters in force"})


class SuggestionSchema(Strict):
    """A suggestion (never an event): the rule that made it and exactly the facts it rests on."""

    rule_id = fields.String(metadata={"description": "the policy that produced it"})
    rule_version = fields.Integer()
    exercise = fields.String(allow_none=True)
    message = fields.String()
    facts = fields.List(fields.String(), metadata={"description": "ids of the facts it rests on"})
    muscles = fields.List(fields.String(), metadata={"description": "tension rules: the muscles that made it fire"})
    why = fields.String(metadata={"description": "tension rules: what was found, in words"})


class SessionSchema(Strict):
    id = fields.String()
    exercise_id = fields.String(allow_none=True)
    exercise = fields.String(allow_none=True)
    occurred_at = Iso()
    recorded_at = Iso()
    device_id = fields.String(allow_none=True)
    sets = fields.Integer(allow_none=True)
    reps = fields.Integer(allow_none=True)
    hold_s = fields.Integer(allow_none=True)
    load = fields.Raw(allow_none=True)
    pain_before = fields.Integer(allow_none=True)
    pain_during = fields.Integer(allow_none=True)
    pain_after = fields.Integer(allow_none=True)
    effort = fields.Integer(allow_none=True)
    tension = fields.List(fields.Dict(), allow_none=True)
    note = fields.String(allow_none=True)
    voided = fields.Boolean(allow_none=True)
    corrections = fields.Raw(allow_none=True)
    next_day = fields.Nested(NextDaySchema, allow_none=True, metadata={
        "description": "the next-day response naming this session (the latest), null when none yet"})
    light = fields.String(metadata={"enum": ["green", "amber", "red"], "description": (
        "pain-monitoring light under the policy in force at the session's valid time: green when pain during "
        "is at most green_max, amber at most amber_max, red above or when the next day is worse or its pain "
        "rises next_day_rise over pain before. A heuristic, not a diagnosis")})
    light_reasons = fields.List(fields.String(), metadata={"description": "why the session has its light"})
    policy = fields.Nested(RuleRefSchema, metadata={"description": "the rule that gave the light"})


class PainDaySchema(Strict):
    day = fields.String(metadata={"description": "YYYY-MM-DD in the program's time zone"})
    sessions = fields.Integer()
    pain_before_avg = fields.Float(allow_none=True)
    pain_during_max = fields.Integer(allow_none=True)
    pain_after_avg = fields.Float(allow_none=True)
    checkins = fields.Integer()
    checkin_pain_avg = fields.Float(allow_none=True)
    breaks = fields.Integer()
    flares = fields.Integer()


class SessionsSchema(Strict):
    since = Iso()
    until = Iso()
    sessions = fields.List(fields.Nested(SessionSchema))
    days = fields.List(fields.Nested(PainDaySchema), metadata={
        "description": "Pain and activity by local day: on each page the days up to its last session's "
                       "(the last page: up to until), after the previous page's"})
    next_cursor = _next_cursor("sessions")
    has_more = _has_more("sessions")


class AssessmentSchema(Strict):
    fact_id = fields.String()
    at = Iso()
    instrument = fields.String(metadata={"enum": ["odi", "rmdq", "psfs", "nprs"]})
    instrument_version = fields.String()
    score = fields.Raw(metadata={"type": "number"})  # as the command path gives it: an RMDQ 4 stays 4


class RecapSchema(Strict):
    since = Iso()
    until = Iso()
    sessions = fields.Integer()
    by_exercise = fields.List(fields.Dict())
    tension = fields.List(fields.Dict())
    breaks = fields.Integer()
    breaks_per_day = fields.Dict(keys=fields.String(), values=fields.Integer())
    breaks_share_days_met = fields.Float(allow_none=True, metadata={
        "description": "share (0..1, two decimals) of the finished days with anything recorded whose longest stretch "
                       "without a micro-break met the micro-breaks policy in force that day (GET /v1/breaks); null "
                       "when no such day is over"})
    next_day = fields.Dict(keys=fields.String(), values=fields.Integer())
    checkins = fields.Integer()
    checkin_pain_avg = fields.Float(allow_none=True)
    flares = fields.Integer()
    assessments = fields.List(fields.Nested(AssessmentSchema))
    decisions = fields.List(fields.Nested(DecisionSchema))
    lights = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "sessions by pain-monitoring light: {\"green\": n, \"amber\": n, \"red\": n}"})


class SignatureExerciseSchema(Strict):
    id = fields.String()
    name = fields.String()
    status = fields.String(allow_none=True)
    promoted_at = Iso()
    forced = fields.Boolean(allow_none=True)
    reason = fields.String(allow_none=True)
    evidence = fields.Raw(allow_none=True)


class SignatureSchema(Strict):
    exercises = fields.List(fields.Nested(SignatureExerciseSchema))


class ConflictListSchema(Strict):
    conflicts = fields.List(fields.Dict(), required=True)
    next_cursor = _next_cursor("conflicts")
    has_more = _has_more("conflicts")


# ----- health ------------------------------------------------------------------------------------


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
