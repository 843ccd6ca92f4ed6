"""The signature toolkit: the library, why an exercise is (not) in it, candidates, kits and flares.

``signature`` lists the library (``--explain EXERCISE``: each clause of the evidence rule
in force, ``--candidates``: who meets it today); ``kit`` picks signature exercises that fit
a few minutes, for an ordinary day, a travel day or a flare; ``flares`` lists each flare
with the exercises done in it, the best pain drop first.
"""

from __future__ import annotations

from functools import partial

import click

from cli import render
from cli.options import emit, exercise_names, json_option

NOTE = "Heuristics from the clinical literature, not a diagnosis: discuss changes with your clinician."


@click.command(help="The signature library: exercises that reliably calm the back. --explain EXERCISE judges each "
                    "clause of the evidence rule in force (policy signature-evidence) for one exercise; "
                    f"--candidates lists active exercises that meet it today and are not signature yet. {NOTE}")
@click.option("--explain", metavar="EXERCISE", shell_complete=exercise_names,
              help="Each clause of the rule: what it requires, what was measured, whether it is met.")
@click.option("--candidates", is_flag=True, help="Active exercises that meet the rule today, not yet signature.")
@json_option
@click.pass_obj
def signature(session, explain, candidates, as_json):
    zone = session.timezone()
    if explain is not None and candidates:
        raise click.UsageError("give --explain EXERCISE or --candidates, not both")
    if explain is None and not candidates:
        from service.queries import signature as query

        emit(query(session.reader()), as_json, partial(render.signature, zone=zone))
        return
    from service.insights import signature as insight
    from service.record import ledger_record

    record = ledger_record(session.reader())
    if candidates:
        emit(insight.candidates(record, session.now()), as_json, candidates_text)
    else:
        emit(insight.explain(record, explain, session.now()), as_json, partial(explain_text, zone=zone))


def _rule(rule: dict) -> str:
    return f"rule {rule['rule_id']} v{rule['version']}, {rule['window_days']} days"


def explain_text(data: dict, zone=None) -> str:
    state = "in the signature library" if data["signature"] else "not signature"
    lines = [f"{data['exercise']} ({state}): {_rule(data['rule'])} from {render.local(data['window_start'], zone)}"]
    width = max(len(c["summary"]) for c in data["clauses"])
    for c in data["clauses"]:
        measured = ("none" if c["measured"] is None else f"{c['measured']:.0%}" if c["clause"] == "relief_ratio"
                    else f"{c['measured']:g}")
        lines.append(f"  [{'x' if c['met'] else ' '}] {c['summary']:<{width}}  measured {measured}")
    lines.append("meets the rule: promote it with `backstory promote`" if data["met"] and not data["signature"]
                 else "meets the rule" if data["met"] else "does not meet the rule yet")
    return "\n".join(lines)


def candidates_text(data: dict) -> str:
    if not data["candidates"]:
        return f"no candidates: no active exercise meets the rule today ({_rule(data['rule'])})"
    lines = [f"meet the rule today ({_rule(data['rule'])}); promoting stays your decision:"]
    lines += [f"  {c['exercise']}: {c['exposures']} exposures on {c['days']} days, "
              f"{c['relief_ratio']:.0%} eased pain" for c in data["candidates"]]
    return "\n".join(lines)


@click.command(help="A kit of signature exercises that fits a time budget. Each takes sets x (reps x 4 s, or the "
                    "hold) + 30 s between sets, twice the work when per side (policy kit). --for travel keeps what "
                    "needs only bodyweight or an elastic band; --for flare keeps lying and kneeling positions, "
                    f"best relief in past flares first. {NOTE}")
@click.option("--minutes", type=click.IntRange(1, 240), default=10, show_default=True, help="The time budget.")
@click.option("--for", "purpose", type=click.Choice(("travel", "flare")), help="A travel day or a flare.")
@json_option
@click.pass_obj
def kit(session, minutes, purpose, as_json):
    from service.insights.kit import kit as query
    from service.record import ledger_record

    emit(query(ledger_record(session.reader()), minutes, purpose, session.now()), as_json, kit_text)


def kit_text(data: dict) -> str:
    purpose = f" for {data['for']}" if data["for"] else ""
    lines = [f"kit{purpose}: {data['minutes_estimated']:.1f} of {data['minutes_budget']} min"]
    if not data["exercises"]:
        lines.append("  no signature exercise fits")
    for e in data["exercises"]:
        relief = "" if e["flare_mean_drop"] is None else f"  (pain -{e['flare_mean_drop']:g} in flares)"
        lines.append(f"  {e['exercise']}: {render.prescription(e['prescription'])}, {e['minutes']:.1f} min{relief}")
    lines += [f"  left out {e['exercise']}: {e['why']}" for e in data["left_out"]]
    return "\n".join(lines + [data["note"]])


@click.command(help="Each flare (flare start to flare end), its peak pain, and the exercises done in it, the best "
                    f"mean pain drop (before minus after) first. {NOTE}")
@json_option
@click.pass_obj
def flares(session, as_json):
    from service.insights.flares import flares as query
    from service.record import ledger_record

    emit(query(ledger_record(session.reader())), as_json, partial(flares_text, zone=session.timezone()))


def flares_text(data: dict, zone=None) -> str:
    if not data["flares"]:
        return "no flares recorded"
    lines = []
    for f in data["flares"]:
        end = render.local(f["end"], zone) if f["end"] else "now (still going)"
        peak = "no pain recorded" if f["peak_pain"] is None else f"peak pain {f['peak_pain']}"
        lines.append(f"flare {render.local(f['start'], zone)} to {end}: {peak}")
        for e in f["exposures"]:
            drop = "no before/after pain" if e["mean_drop"] is None else f"mean drop {e['mean_drop']:g}"
            lines.append(f"  {e['exercise']}: {e['sessions']} session(s), {drop}, "
                         f"{e['worse_next_day']} worse next day")
        if not f["exposures"]:
            lines.append("  no sessions in it")
    return "\n".join(lines + [data["note"]])


COMMANDS = [signature, kit, flares]
