"""``backstory day`` and ``backstory breaks``: how the other 23 hours went (policy ``micro-breaks``)."""

from __future__ import annotations

from functools import partial

import click

from cli.options import emit, json_option, period, when
from cli.render import local
from service.insights import HEURISTICS_NOTE

RULE_HELP = ("Waking hours and the longest stretch allowed without a break come from the micro-breaks policy "
             "(`backstory policy show micro-breaks`).")


@click.command(help=f"""How one day went: micro-breaks, the longest stretch without one, sessions with their
light, sleep, check-ins and whether a flare was on. DATE is a WHEN (default: today); the longest stretch is
counted once the day is over. {RULE_HELP} {HEURISTICS_NOTE}""")
@click.argument("date", required=False, metavar="[DATE]")
@json_option
@click.pass_obj
def day(session, date, as_json):
    from service.insights.day import day as query
    from service.record import ledger_record

    record = ledger_record(session.reader())  # the program is loaded once: its zone reads the DATE
    zone = record.timezone
    start = when(session, date or "today", "start", name="DATE", zone=zone)
    data = query(record, start.astimezone(zone).date(), session.now())
    emit(data, as_json, partial(day_text, zone=zone))


@click.command(help=f"""Micro-breaks day by day over a period (default: the month up to today): breaks, the
longest stretch without one and whether it met the target, on the days with anything recorded, and the share
of finished days that met it. {RULE_HELP} {HEURISTICS_NOTE}""")
@click.option("--since", metavar="WHEN", help="From this day (default: a month before --until).")
@click.option("--until", metavar="WHEN", help="Up to this day (default: today).")
@json_option
@click.pass_obj
def breaks(session, since, until, as_json):
    from service.dates import month_before
    from service.insights.breaks import breaks as query
    from service.record import ledger_record

    record = ledger_record(session.reader())
    zone = record.timezone
    end = when(session, until or "today", "end", name="--until", zone=zone)
    start = when(session, since, "start", name="--since", zone=zone)
    period(start, end, session.now())
    data = query(record, start or month_before(end, zone), end, session.now())
    emit(data, as_json, breaks_text)


def _rule(policy: dict) -> str:
    p = policy["params"]
    return (f"{policy['id']} v{policy['version']}: waking {p['waking_start']}-{p['waking_end']}, "
            f"at most {p['max_gap_min']} min without a break")


def _stretch(longest, met) -> str:
    if longest is None:
        return "the longest stretch is counted once the day is over"
    return f"longest stretch without one {longest:g} min: {'met' if met else 'not met'}"


def day_text(data: dict, zone=None) -> str:
    lines = [f"{data['date']}  ({_rule(data['policy'])})",
             f"micro-breaks: {len(data['breaks'])} (target {data['breaks_target']}); "
             + _stretch(data["longest_without_break_min"], data["met_target"])]
    lines += [f"  {local(b['at'], zone)[11:]} {b['kind']}" + (f" {b['seconds']} s" if b["seconds"] else "")
              for b in data["breaks"]]
    if data["sessions"]:
        lines.append(f"sessions: {len(data['sessions'])}")
        lines += [f"  {local(s['occurred_at'], zone)[11:]} {s['exercise']}: {s['light']} "
                  f"({'; '.join(s['light_reasons'])})" for s in data["sessions"]]
    night = data["sleep"]
    if night:
        said = [f"{night['hours']:g} h" if night["hours"] is not None else None,
                f"quality {night['quality']}" if night["quality"] is not None else None,
                f"position {night['position']}" if night["position"] else None,
                f"pain on waking {night['pain_morning']}" if night["pain_morning"] is not None else None]
        lines.append("sleep: " + ", ".join(s for s in said if s))
    else:
        lines.append("sleep: not recorded")
    lines += [f"check-in {local(c['occurred_at'], zone)[11:]}: pain {c['pain']}"
              + (f", starts {c['starts']}" if c["starts"] else "")
              + (f", travels to {', '.join(c['travels'])}" if c["travels"] else "") for c in data["checkins"]]
    lines.append("in a flare" if data["in_flare"] else "no flare")
    return "\n".join(lines)


def breaks_text(data: dict) -> str:
    over = [d for d in data["days"] if d["met_target"] is not None]
    met = sum(1 for d in over if d["met_target"])
    share = data["share_days_met"]
    head = (f"{data['since'][:10]} to {data['until'][:10]}: target met on {met} of {len(over)} finished days"
            + (f" ({share:.0%})" if share is not None else ""))
    lines = [head, f"  ({_rule(data['policy'])})"]
    for d in data["days"]:
        lines.append(f"  {d['date']}  {d['breaks']:>2} breaks  "
                     + (f"longest {d['longest_without_break_min']:g} min  {'met' if d['met_target'] else 'not met'}"
                        if d["met_target"] is not None else "not over yet"))
    if not data["days"]:
        lines.append("  nothing recorded in this period")
    return "\n".join(lines)


COMMANDS = [day, breaks]
