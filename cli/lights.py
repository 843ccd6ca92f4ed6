"""``backstory sessions`` and ``backstory pending``: how the back responded (the pain-monitoring lights).

The lights are computed in one place (``service.insights.lights``); this module reads
the record, asks it, and prints the answer: ``--json`` exactly the dict, else plain text
with every time in the program's time zone.
"""

from __future__ import annotations

from datetime import tzinfo
from functools import partial

import click

from cli.options import emit, exercise_names, json_option, since_until
from cli.render import local
from service.insights import HEURISTICS_NOTE

LIGHTS_HELP = ("Green when pain during stays at most 2 (0-10), amber up to 5, red above; red as well when the "
               "next day is worse or next-day pain rises 2 or more over pain before (policy pain-monitoring, "
               "tunable with `backstory policy set`). " + HEURISTICS_NOTE)


def _pain(s: dict) -> str:
    return "/".join("-" if s[k] is None else str(s[k]) for k in ("pain_before", "pain_during", "pain_after"))


def session_line(s: dict, zone: tzinfo | None, width: int = 12) -> str:
    """One judged session: when, which exercise, its light, pain before/during/after, the next day, why."""
    nd = s.get("next_day")
    after = "next day: none yet" if nd is None else f"next day: {nd['verdict']}" + (
        f", pain {nd['pain']}" if nd.get("pain") is not None else "")
    return (f"{local(s['occurred_at'], zone)}  {s['exercise'] or '':<{width}}  {s['light']:<5}  "
            f"pain {_pain(s)}  {after}\n{'':18}{'; '.join(s['light_reasons'])}")


def render_sessions(data: dict, zone: tzinfo | None = None) -> str:
    if not data["sessions"]:
        return "no sessions in that period"
    width = max(len(s["exercise"] or "") for s in data["sessions"])
    lines = [session_line(s, zone, width) for s in data["sessions"]]
    totals = {c: sum(1 for s in data["sessions"] if s["light"] == c) for c in ("green", "amber", "red")}
    lines.append(f"{len(data['sessions'])} sessions: " + ", ".join(f"{c} {n}" for c, n in totals.items())
                 + " (pain before/during/after, 0-10)")
    return "\n".join(lines + [HEURISTICS_NOTE])


def render_pending(data: dict, zone: tzinfo | None = None) -> str:
    if not data["pending"]:
        return "no session awaits its next-day response"
    lines = ["awaiting a next-day response (the first session after an add or a progression):"]
    lines += [f"  {local(p['occurred_at'], zone)}  {p['exercise']}  session {p['session_id'][:8]}"
              for p in data["pending"]]
    lines.append("record it with `backstory next-day EXERCISE --verdict better|same|worse --at WHEN`; "
                 "until then `progress` of that exercise is refused (or --force --reason)")
    return "\n".join(lines)


def lights_lines(data: dict, zone: tzinfo | None = None) -> list[str]:
    """What ``history EXERCISE`` prints after the decisions: each session's light and the counts."""
    if not data.get("sessions"):
        return []
    lines = ["sessions: " + ", ".join(f"{c} {n}" for c, n in data["lights"].items())]
    lines += [f"  {local(s['occurred_at'], zone)}  {s['light']:<5}  {'; '.join(s['light_reasons'])}"
              for s in data["sessions"]]
    return lines


@click.command(help=f"Logged sessions with their light (green, amber, red) and why. {LIGHTS_HELP}")
@click.argument("exercise", required=False, shell_complete=exercise_names)
@click.option("--since", metavar="WHEN")
@click.option("--until", metavar="WHEN")
@json_option
@click.pass_obj
def sessions(session, exercise, since, until, as_json):
    from service.application import require_program
    from service.naming import resolve_exercise
    from service.insights.lights import sessions as query
    from service.record import ledger_record

    tz = session.timezone()
    start, end = since_until(session, since, until)
    reader = session.reader()
    exercise_id = resolve_exercise(require_program(reader).view(), exercise).id if exercise else None
    emit(query(ledger_record(reader), start, end, exercise_id), as_json, partial(render_sessions, zone=tz))


@click.command(help="Sessions still awaiting their next-day response: the first session of an exercise after "
                    "it was added or progressed, with no next-day response yet. Progressing that exercise is "
                    f"refused until one is recorded (or --force). {HEURISTICS_NOTE}")
@json_option
@click.pass_obj
def pending(session, as_json):
    from service.insights.lights import pending as query
    from service.record import ledger_record

    emit(query(ledger_record(session.reader())), as_json, partial(render_pending, zone=session.timezone()))


COMMANDS = [sessions, pending]
