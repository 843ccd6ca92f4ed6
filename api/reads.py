"""Read endpoints, answered by the projections after they catch up with the store.

Dates in queries are ISO dates or datetimes, read as the CLI reads them
(``service.dates``). Every date form (``2026-03-01``, ``20260301``,
``2026-W09-7``, ``2026-060``) means a whole day in the program's time zone: ``as_of``,
``known_at`` and ``until`` its end, ``since`` its start; a datetime without an
offset is in the program's time zone too. A time outside the accepted range, a
``since`` in the future or after ``until`` is a 400 naming the parameter.

Lists (sessions, history, conflicts) come in pages of at most
``READ_LIMIT_MAX`` items, oldest first, each with ``next_cursor`` and
``has_more`` as pull has; a large page costs more of the rate limits
(``api.ratelimit.cost_of``). A recap covers at most ``MAX_RECAP_DAYS`` days.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from api import limits
from api.blueprint import ApiBlueprint
from api.context import page_after, paged
from api.errors import ApiProblem
from api.query_dates import Zone, check_period, check_span, moment, period_of, read_models
from api.read_schemas import (
    ConflictListSchema, HistorySchema, ProgramQuerySchema, ProgramSchema, RangePageQuerySchema, RecapQuerySchema, RecapSchema, SessionsQuerySchema, SessionsSchema, SignatureSchema,
)
from api.schemas import NoQuerySchema, PageQuerySchema
from service import dates

blp = ApiBlueprint("reads", __name__, url_prefix="/v1", description="The program, its history and what was done")


@blp.route("/program", methods=["GET"])
@blp.protected()
@blp.arguments(ProgramQuerySchema, location="query")
@blp.response(200, ProgramSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def program(query):
    """The program now, as of a date (valid time) and/or as known at a time (recorded time)."""
    return program_of(query)


def program_of(query: dict) -> dict:
    """The caller's program for a parsed ``ProgramQuerySchema`` query (the API's and the dashboard's read)."""
    zone = Zone()
    as_of = moment(query, "as_of", "end", zone) or datetime.now(UTC)
    known_at = moment(query, "known_at", "end", zone)
    projections, program_id = read_models()
    return projections.program(program_id, as_of, known_at)


def history_of(exercise: str | None, query: dict) -> dict:
    """One page of decisions (all, or one exercise's) for a parsed ``RangePageQuerySchema`` query."""
    since, until = period_of(query)
    after = page_after(query, "history", (str, int))
    projections, program_id = read_models()
    out = projections.history(program_id, exercise, since, until, after, query["limit"])
    last_key, has_more = out.pop("last_key"), out.pop("has_more")
    return paged(out, query, "history", last_key, has_more)


@blp.route("/history", methods=["GET"])
@blp.protected()
@blp.arguments(RangePageQuerySchema, location="query")
@blp.response(200, HistorySchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def history(query):
    """Every decision with its reason, valid and recorded time, oldest first, in pages."""
    return history_of(None, query)


@blp.route("/exercises/<string:exercise>/history", methods=["GET"])
@blp.protected()
@blp.arguments(RangePageQuerySchema, location="query")
@blp.response(200, HistorySchema)
@blp.alt_response(404, response="NOT_FOUND", description="No such exercise (name or id prefix) in this program")
def exercise_history(query, exercise):
    """One exercise's decisions, in pages; the exercise by name (case-insensitive) or id prefix."""
    return history_of(exercise_in_path(exercise), query)


def exercise_in_path(exercise: str) -> str:
    """An exercise named in a URL path; blank or longer than any name: 404, before reading anything."""
    if not exercise.strip() or len(exercise) > limits.MAX_NAME_CHARS:
        raise ApiProblem(404, "not-found", "no such exercise in this program", what="exercise")
    return exercise


@blp.route("/sessions", methods=["GET"])
@blp.protected()
@blp.arguments(SessionsQuerySchema, location="query")
@blp.response(200, SessionsSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet, or no such exercise")
def sessions(query):
    """Logged sessions with their pain-monitoring light, and pain by day, over a period (valid time), in pages.

    Each session as ``backstory sessions --json`` lists it (light, reasons, next-day response, the rule),
    with what the record keeps of it besides (recorded time, device, note, corrections; a voided one
    flagged). Lights are heuristics from the pain-monitoring model, not a diagnosis.
    """
    return sessions_of(query)


def sessions_of(query: dict) -> dict:
    """One page of sessions, with pain by day, for a parsed ``SessionsQuerySchema`` query."""
    zone = Zone()
    since, until = period_of(query, zone)
    after = page_after(query, "sessions", (str, int, str, str))  # time key, position, fact id, local day
    projections, program_id = read_models()
    out = dict(projections.sessions(program_id, since, until, after, query["limit"], query.get("exercise")))
    last_key, has_more = out.pop("last_key"), out.pop("has_more")
    first, last = [m.astimezone(zone.get()).date().isoformat() if m else None for m in (since, until)]
    # Each day once over the pages: after the previous page's last day, up to this page's.
    out["days"] = projections.pain_by_day(program_id, first, last_key[3] if has_more else last,
                                          after=after[3] if after else None)
    return paged(out, query, "sessions", last_key, has_more)


@blp.route("/recap", methods=["GET"])
@blp.protected()
@blp.arguments(RecapQuerySchema, location="query")
@blp.response(200, RecapSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def recap(query):
    """Sessions, pain, tension, breaks and decisions over a period (default: the month up to ``until``, today).

    At most ``MAX_RECAP_DAYS`` (366) days; it costs ``RECAP_COST`` (10) requests of the rate limits.
    """
    return recap_of(query)


def recap_of(query: dict) -> dict:
    """The recap of a parsed ``RecapQuerySchema`` query's period (at most ``MAX_RECAP_DAYS`` days)."""
    zone = Zone()
    now = datetime.now(zone.get())
    until = moment(query, "until", "end", zone) or datetime.combine(now.date(), time.max, zone.get())
    since = moment(query, "since", "start", zone)
    check_period(since, until)
    since = since or dates.month_before(until, zone.get())
    check_span(since, until, "a recap")
    projections, program_id = read_models()
    return projections.recap(program_id, since, until, zone.get())


@blp.route("/signature", methods=["GET"])
@blp.protected()
@blp.arguments(NoQuerySchema, location="query")
@blp.response(200, SignatureSchema)
@blp.alt_response(404, response="NOT_FOUND", description="No program yet")
def signature(_query):
    """The signature library, with the evidence behind each promotion."""
    return signature_of()


def signature_of() -> dict:
    projections, program_id = read_models()
    return projections.signature(program_id)


@blp.route("/conflicts", methods=["GET"])
@blp.protected()
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, ConflictListSchema)
def conflicts(query):
    """Every conflict recorded for this program, open and resolved, oldest first, in pages."""
    return conflicts_of(query)


def conflicts_of(query: dict) -> dict:
    """One page of conflicts for a parsed ``PageQuerySchema`` query."""
    after = page_after(query, "conflicts", (int, str))
    projections, program_id = read_models()
    found, last_key, has_more = projections.conflicts_page(program_id, after, query["limit"])
    return paged({"conflicts": found}, query, "conflicts", last_key, has_more)
