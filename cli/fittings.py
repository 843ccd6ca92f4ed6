"""``backstory fitting report``: what changed in a fitting, how the back took it, when the next is due.

The ``fitting`` group lives in ``cli.decide`` (open and close are decisions); this read
joins it from here so the decision module stays about decisions.
"""

from __future__ import annotations

from functools import partial

import click

from cli import render
from cli.options import emit, json_option

NOTE = ("Heuristics from the clinical literature, not a diagnosis: discuss changes with your clinician. "
        "A fitting lasts 7 to 14 days by default (policy fittings; `backstory policy show fittings`).")


@click.command(name="report", help="What changed in a fitting (default: the open one, else the last), the "
                                   "lights and next-day responses of each exercise, suggestions, and when the "
                                   f"next fitting is due. {NOTE}")
@click.argument("number", type=click.IntRange(min=1), required=False)
@json_option
@click.pass_obj
def report(session, number, as_json):
    from service.insights.fittings import report as query
    from service.record import ledger_record

    data = query(ledger_record(session.reader()), number, session.now())
    emit(data, as_json, partial(text, zone=session.timezone()))


def text(data: dict, zone=None) -> str:
    f, p = data["fitting"], data["policy"]
    end = render.local(f["closed_at"], zone) if f["closed_at"] else "now (open)"
    lines = [f"fitting {f['number']}: {render.local(f['opened_at'], zone)} to {end}, {data['days']:g} days "
             f"(policy {p['id']} v{p['version']}: {p['params']['min_days']} to {p['params']['max_days']} days)",
             f"next fitting due {render.local(data['next_due'], zone)}" + (": fitting due" if data["due"] else ""),
             "decisions:"]
    lines += ["  " + line for line in render.history({"entries": data["decisions"]}, zone).splitlines()]
    lines.append("exercises:" if data["exercises"] else "exercises: no sessions logged")
    for e in data["exercises"]:
        lights, nd = e["lights"], e["next_day"]
        lines.append(f"  {e['exercise']}: {e['sessions']} session(s); lights {lights['green']} green, "
                     f"{lights['amber']} amber, {lights['red']} red; next day {nd['better']} better, "
                     f"{nd['same']} same, {nd['worse']} worse, {nd['missing']} missing")
    lines.append("suggestions:" if data["suggestions"] else "suggestions: none")
    lines += [f"  {s['message']} ({s['rule_id']} v{s['rule_version']}; sessions "
              + ", ".join(i[:8] for i in s["facts"]) + ")" for s in data["suggestions"]]
    return "\n".join(lines + [data["note"]])

