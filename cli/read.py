"""Read commands: the program at a date, its history, what changed, recaps (the signature library: cli.signature).

Text output gives every time in the program's time zone; ``--json`` gives
them as stored, each with its offset.
"""

from __future__ import annotations

from functools import partial

import click

from cli import render
from cli.options import emit, exercise_names, json_option, period, since_until, when


@click.command()
@click.option("--as-of", metavar="WHEN", help="Valid time: the program as it was that day (default: now).")
@click.option("--known-at", metavar="WHEN", help="Recorded time: only what had been recorded by then.")
@json_option
@click.pass_obj
def show(session, as_of, known_at, as_json):
    """Show the program as of a date."""
    from service.queries import show as query

    tz = session.timezone() if as_of or known_at else None  # else the program's, from the answer
    as_of = when(session, as_of, "end", session.now(), "--as-of", tz)
    data = query(session.reader(), as_of, when(session, known_at, "end", name="--known-at", zone=tz))
    emit(data, as_json, partial(render.program, zone=tz), table="program", zone=tz)


@click.command()
@click.argument("exercise", required=False, shell_complete=exercise_names)
@click.option("--since", metavar="WHEN")
@click.option("--until", metavar="WHEN")
@json_option
@click.pass_obj
def history(session, exercise, since, until, as_json):
    """Every decision, with its reason, when it happened and when it was recorded."""
    from service.queries import history as query

    tz = session.timezone()
    start, end = since_until(session, since, until)
    reader = session.reader()
    data = query(reader, exercise, start, end)
    pending = session.device.pending_ids()  # queued here, not yet answered by the server
    for entry in data["entries"]:
        entry["pending"] = entry["mutation_id"] in pending
    if exercise:  # and how the back responded to it: its sessions' lights (service.insights.lights)
        from cli.lights import lights_lines
        from service.application import require_program
        from service.naming import resolve_exercise
        from service.insights.lights import exercise_lights
        from service.record import ledger_record

        exercise_id = resolve_exercise(require_program(reader).view(), exercise).id
        data.update(exercise_lights(ledger_record(reader), exercise_id, start, end))
        text = partial(render.history, zone=tz)
        emit(data, as_json, lambda d: "\n".join([text(d), *lights_lines(d, tz)]), zone=tz)
        return
    emit(data, as_json, partial(render.history, zone=tz), table="history", zone=tz)


@click.command()
@click.argument("start", metavar="WHEN")
@click.argument("end", metavar="WHEN")
@json_option
@click.pass_obj
def diff(session, start, end, as_json):
    """What changed in the program between two dates."""
    from service.queries import diff as query

    tz = session.timezone()
    data = query(session.reader(), when(session, start, "end", name="START", zone=tz),
                 when(session, end, "end", name="END", zone=tz))
    emit(data, as_json, partial(render.diff, zone=tz))


@click.command()
@click.option("--since", metavar="WHEN", help="Default: a month before --until.")
@click.option("--until", metavar="WHEN", help="Default: today.")
@json_option
@click.pass_obj
def recap(session, since, until, as_json):
    """Sessions, pain, tension, micro-breaks and decisions over a period."""
    from service.dates import month_before
    from service.queries import recap as query

    tz = session.timezone()
    end = when(session, until or "today", "end", name="--until", zone=tz)
    start = when(session, since, "start", name="--since", zone=tz)
    period(start, end, session.now())
    start = start or month_before(end, tz)
    data = query(session.reader(), start, end, tz)
    pending = session.device.pending_ids()  # marked as history marks them
    for decision in data["decisions"]:
        decision["pending"] = decision["mutation_id"] in pending
    emit(data, as_json, partial(render.recap, zone=tz))


COMMANDS = [show, history, diff, recap]
