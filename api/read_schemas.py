"""The schemas of the read endpoints: the program, history, sessions, recap, signature library, conflicts."""

from __future__ import annotations

from marshmallow import fields, validate

from api import limits
from api.schemas import Iso, PageQuerySchema, Strict, When, has_more_field, next_cursor_field


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
    next_cursor = next_cursor_field("decisions")
    has_more = has_more_field("decisions")


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
    next_cursor = next_cursor_field("sessions")
    has_more = has_more_field("sessions")


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
    next_cursor = next_cursor_field("conflicts")
    has_more = has_more_field("conflicts")
