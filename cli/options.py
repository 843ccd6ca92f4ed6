"""Options shared by many commands, and turning WHEN text into moments."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any, Callable

import click

from cli.when import HELP as WHEN_HELP

REASON_CODES = (
    "unspecified", "too_easy", "too_hard", "pain", "flare", "technique",
    "therapist", "evidence", "plateau", "schedule", "conflict", "other",
)


def at_option(f: Callable) -> Callable:
    return click.option("--at", "at", metavar="WHEN", help=f"When it happened: {WHEN_HELP}. Default: now.")(f)


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(f)


def reason_options(required: bool) -> Callable:
    def wrap(f: Callable) -> Callable:
        f = click.option("--reason-code", type=click.Choice(REASON_CODES), default="unspecified",
                         show_default=True, help="A code for the reason, for filtering later.")(f)
        return click.option("--reason", required=required, metavar="TEXT", help="Why this decision was made.")(f)
    return wrap


def rx_options(f: Callable) -> Callable:
    """The prescription dimensions that progress, regress and adapt can change."""
    for opt in reversed([
        click.option("--position", metavar="STAGE[:POSTURE]", help="1-4 or lying/kneeling/supported/upright, e.g. 1:supine."),
        click.option("--load", metavar="TYPE[:MAGNITUDE:UNIT]", help="e.g. bodyweight, elastic:2:band, free_weight:5:kg."),
        click.option("--direction", metavar="PATTERN[:PLANE]", help="e.g. hinge:sagittal."),
        click.option("--sets", type=int, help="Number of sets."),
        click.option("--reps", type=int, help="Repetitions per set."),
        click.option("--hold", type=int, metavar="SECONDS", help="Hold per repetition, in seconds (instead of reps)."),
        click.option("--range", "range_", metavar="RANGE", help="Range of motion: partial, mid, full or degrees."),
    ]):
        f = opt(f)
    return f


def when(session: Any, text: str | None, role: str, default: datetime | None = None, name: str = "WHEN",
         zone: tzinfo | None = None) -> datetime | None:
    """Turn WHEN text into a moment in the program's time zone (or ``zone``); bad text is a usage error (exit 2)."""
    from cli.when import WhenError, parse_when

    if text is None:
        return default
    try:
        return parse_when(text, zone or session.timezone(), session.now(), role, name)
    except WhenError as e:
        raise click.BadParameter(e.message, param_hint=name) from None


def since_until(session: Any, since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``--since``/``--until`` as moments in the program's zone (the start, the end of a day), checked as a period."""
    zone = session.timezone()
    start = when(session, since, "start", name="--since", zone=zone)
    end = when(session, until, "end", name="--until", zone=zone)
    period(start, end, session.now())
    return start, end


def period(since: datetime | None, until: datetime | None, now: datetime) -> None:
    """A ``--since`` in the future or after ``--until`` is a usage error naming both dates (exit 2)."""
    from service.dates import DateError, check_period

    try:
        check_period(since, until, now, ("--since", "--until"))
    except DateError as e:
        raise click.UsageError(e.message) from None


def exercise_names(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list:
    """Shell completion of an exercise: the program's names that start with what was typed (any case).

    Reads the store the command would use (``--db``, ``BACKSTORY_DB`` or the
    default file) and never creates one; when it cannot be read, it offers
    nothing and says nothing, so a TAB never prints an error.
    """
    try:
        from click.shell_completion import CompletionItem

        from cli.session import Session
        from service.config import resolve_url, sqlite_path

        db = ctx.find_root().params.get("db")
        path = sqlite_path(resolve_url(db))
        if path is not None and not path.is_file():
            return []
        program = Session(db=db).reader().program()
        if program is None:
            return []
        exercises = sorted(program.view().exercises.values(), key=lambda e: (e.status != "active", e.name.casefold()))
        typed = incomplete.casefold()
        names = dict.fromkeys(e.name for e in exercises if e.name.casefold().startswith(typed))  # a retired
        return [CompletionItem(name) for name in names]  # name taken again is one name to type
    except Exception:  # noqa: BLE001 - completion must never fail loudly
        return []


def on_terminal(stream: Any = None, environ: Any = None) -> bool:
    """Whether text goes to a terminal that wants styling: not piped, ``NO_COLOR`` unset or empty, not a dumb TERM."""
    import os
    import sys

    stream = sys.stdout if stream is None else stream
    environ = os.environ if environ is None else environ
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def emit(data: Any, as_json: bool, render: Callable[[Any], str], table: str | None = None,
         zone: tzinfo | None = None) -> None:
    """Print a result: JSON, an aligned ``rich`` table on a terminal (``cli.tables``), else plain text.

    ``table`` names the function of ``cli.tables`` that shows this result (times
    in ``zone``); ``rich`` is imported only then, so piped output and ``--help``
    never load it.
    """
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    elif table and on_terminal():
        from cli import tables

        tables.show(getattr(tables, table)(data, zone))
    else:
        click.echo(render(data))
