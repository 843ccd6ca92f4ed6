"""``backstory tension``: what the tension observations say: muscles that grab, sides that differ, what to consider."""

from __future__ import annotations

from functools import partial

import click

from cli.options import emit, json_option, period, when
from cli.render import local
from domain.body import MUSCLES, SIDES
from service.insights import HEURISTICS_NOTE


@click.command(help=f"""Tension as data: each muscle and side observed in logged sessions (how often, how strong,
which kinds, in which exercises), the muscles whose left and right sides differ, and suggestions from the
rule `tension-suggestions` over each exercise's last sessions (`backstory policy show tension-suggestions`).
Suggestions name the sessions they rest on and never change the program. {HEURISTICS_NOTE}""")
@click.option("--muscle", type=click.Choice(MUSCLES), metavar="MUSCLE", help=f"Only this muscle: {', '.join(MUSCLES)}.")
@click.option("--side", type=click.Choice(SIDES), metavar="SIDE",
              help=f"Only this side in the muscles list: {', '.join(SIDES)}.")
@click.option("--since", metavar="WHEN", help="Default: the whole history.")
@click.option("--until", metavar="WHEN", help="Default: today.")
@json_option
@click.pass_obj
def tension(session, muscle, side, since, until, as_json):
    from service.insights.tension import tension as query
    from service.record import ledger_record

    tz = session.timezone()
    end = when(session, until or "today", "end", name="--until", zone=tz)
    start = when(session, since, "start", name="--since", zone=tz)
    period(start, end, session.now())
    data = query(ledger_record(session.reader()), start, end, muscle, side)
    emit(data, as_json, partial(text, zone=tz))


def _mean(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


def text(data: dict, zone=None) -> str:
    """The answer in words: a line per muscle and side, then asymmetries and suggestions with their sessions."""
    start = local(data["since"], zone, 10) if data["since"] else "the start"
    lines = [f"Tension from {start} to {local(data['until'], zone, 10)}: {data['sessions']} sessions"]
    if not data["muscles"]:
        lines.append("  no tension observed")
    for m in data["muscles"]:
        kinds = ", ".join(f"{k} {n}" for k, n in m["kinds"].items())
        lines.append(f"  {m['muscle']} ({m['side']}): {m['count']}x, mean intensity {_mean(m['mean_intensity'])}; "
                     f"{kinds}; in {', '.join(m['exercises'])}")
    p = data["policy"]
    lines.append(f"Asymmetries ({p['id']} v{p['version']}):" if data["asymmetries"] else "Asymmetries: none")
    for a in data["asymmetries"]:
        if a["kind"] == "one-sided":
            lines.append(f"  {a['muscle']}: {a['side']} only, in {a['exposures']} sessions "
                         f"(mean {_mean(a[a['side'] + '_mean'])})")
        else:
            lines.append(f"  {a['muscle']}: left {_mean(a['left_mean'])}, right {_mean(a['right_mean'])} "
                         f"over {a['exposures']} sessions with both sides")
    lines.append("Suggestions:" if data["suggestions"] else "Suggestions: none")
    for x in data["suggestions"]:
        lines.append(f"  {x['exercise']}: {x['message']} ({x['why']}; sessions "
                     f"{', '.join(f[:8] for f in x['facts'])}; {x['rule_id']} v{x['rule_version']})")
    lines.append(HEURISTICS_NOTE)
    return "\n".join(lines)


COMMANDS = [tension]
