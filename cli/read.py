"""Read commands: the program at a date, its history, what changed, recaps."""

from __future__ import annotations

import click

from cli import render
from cli.options import emit, json_option, when


@click.command()
@click.option("--as-of", metavar="WHEN", help="Valid time: the program as it was that day (default: now).")
@click.option("--known-at", metavar="WHEN", help="Recorded time: only what had been recorded by then.")
@json_option
@click.pass_obj
def show(session, as_of, known_at, as_json):
    """Show the program as of a date."""
    from service.queries import show as query

    data = query(session.reader(), when(session, as_of, "end", session.now()), when(session, known_at, "end"))
    emit(data, as_json, render.program)


@click.command()
@click.argument("exercise", required=False)
@click.option("--since", metavar="WHEN")
@click.option("--until", metavar="WHEN")
@json_option
@click.pass_obj
def history(session, exercise, since, until, as_json):
    """Every decision, with its reason, when it happened and when it was recorded."""
    from service.queries import history as query

    data = query(session.reader(), exercise, when(session, since, "start"), when(session, until, "end"))
    pending = session.device.pending_ids()  # queued here, not yet answered by the server
    for entry in data["entries"]:
        entry["pending"] = entry["mutation_id"] in pending
    emit(data, as_json, render.history)


@click.command()
@click.argument("start", metavar="WHEN")
@click.argument("end", metavar="WHEN")
@json_option
@click.pass_obj
def diff(session, start, end, as_json):
    """What changed in the program between two dates."""
    from service.queries import diff as query

    emit(query(session.reader(), when(session, start, "end"), when(session, end, "end")), as_json, render.diff)


@click.command()
@click.option("--since", metavar="WHEN", help="Default: last month.")
@click.option("--until", metavar="WHEN", help="Default: now.")
@json_option
@click.pass_obj
def recap(session, since, until, as_json):
    """Sessions, pain, tension, micro-breaks and decisions over a period."""
    from service.queries import recap as query

    tz = session.timezone()
    start = when(session, since or "last month", "start")
    end = when(session, until or "today", "end")
    emit(query(session.reader(), start, end, tz), as_json, render.recap)


@click.command()
@json_option
@click.pass_obj
def signature(session, as_json):
    """The signature library: exercises that reliably calm the back."""
    from service.queries import signature as query

    emit(query(session.reader()), as_json, render.signature)


COMMANDS = [show, history, diff, recap, signature]
