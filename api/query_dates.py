"""The query parameters every read shares: moments in the program's time zone, periods and their bounds.

``Zone`` looks the program's zone up once per request; ``moment`` reads a ``When``
parameter as an aware moment (a date is the start or end of that day); ``check_period``
and ``check_span`` apply the CLI's rules to a period, ``period_of`` reads and checks one; ``read_models`` catches the read
models up and names the token's program.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g

from api import limits
from api.context import backend, principal
from api.errors import ApiProblem
from service import dates
from service.dates import DateError


class Zone:
    """The program's time zone, looked up once per request and only when a query needs it.

    From the read models once caught up (the same state the read answers from), else, for a
    program they do not hold yet, from the program's events.
    """

    def __init__(self):
        self._zone = None

    def get(self):
        if self._zone is None:
            self._zone = g.get("program_zone") or self._lookup()
            g.program_zone = self._zone
        return self._zone

    @staticmethod
    def _lookup():
        ctx = backend()
        _catch_up_once()
        program_id = principal().program_id
        name = ctx.retrying(lambda: ctx.projections.timezone(program_id))
        if name is None:
            program = ctx.retrying(lambda: principal().ledger(ctx.app).program())
            name = (program.view().timezone if program is not None else None) or "UTC"
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return UTC


def date_problem(e: DateError) -> ApiProblem:
    return ApiProblem(400, "validation-error", f"{e.field}: {e.message}", title="Invalid request",
                      errors={e.field: [e.message]})


def moment(query: dict, name: str, role: str, zone: Zone) -> datetime | None:
    """The query's ``name`` as an aware moment: a date is the start or end of that day in the program's zone."""
    value = query.get(name)
    if value is None:
        return None
    try:
        return dates.checked(name, value.isoformat(), dates.moment(value, zone.get(), role), zone.get())
    except DateError as e:
        raise date_problem(e) from None


def check_period(since: datetime | None, until: datetime | None) -> None:
    """The CLI's rule: a ``since`` in the future or after ``until`` is refused, naming both dates."""
    try:
        dates.check_period(since, until, datetime.now(UTC))
    except DateError as e:
        raise date_problem(e) from None


def period_of(query: dict, zone: Zone | None = None) -> tuple[datetime | None, datetime | None]:
    """A parsed query's ``since`` and ``until`` as moments, checked as the CLI checks them (``check_period``)."""
    zone = zone or Zone()
    since, until = moment(query, "since", "start", zone), moment(query, "until", "end", zone)
    check_period(since, until)
    return since, until


def check_span(since: datetime, until: datetime, what: str) -> None:
    """A read of a whole period (a recap, a FHIR export) covers at most ``MAX_RECAP_DAYS`` days: else 400."""
    if until - since > timedelta(days=limits.MAX_RECAP_DAYS):
        message = f"{what} covers at most {limits.MAX_RECAP_DAYS} days; ask for several shorter ranges"
        raise ApiProblem(400, "validation-error", f"since: {message}", title="Invalid request",
                         errors={"since": [message]})


def _catch_up_once() -> None:
    """The read models catch up once per request (the zone and the read then see the same state)."""
    if not g.get("read_models_caught_up"):
        backend().catch_up()
        g.read_models_caught_up = True


def read_models():
    _catch_up_once()
    return backend().projections, principal().program_id
