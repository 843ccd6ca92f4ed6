"""Outcome measures: ``assess odi|rmdq|psfs|nprs`` records one, ``outcomes`` weighs the change.

The CLI scores the answers itself and sends the score with them, so the score is
part of the recorded mutation (and of an export); the command path recomputes it
and refuses a mismatch. No questionnaire wording is shipped, only item numbers.
"""

from __future__ import annotations

from functools import partial

import click

from cli.options import at_option, emit, json_option, when
from cli.render import confirmation, local

NOTE = "Verdicts are heuristics from published MCIDs, not a diagnosis."


def _assess(session, instrument: str, args: dict, at: str | None, as_json: bool) -> None:
    from domain import outcomes

    args = {"instrument": instrument, **{k: v for k, v in args.items() if v not in (None, [], ())}}
    answers, _ = outcomes.parse_answers(instrument, args)
    args["score"] = outcomes.score(instrument, answers)
    result = session.mutate("assess", args, when(session, at, "at", name="--at"))
    emit(result, as_json, assessed)


def assessed(result: dict) -> str:
    r = result["result"]
    text = confirmation(result)
    return text + (f"\n  {r['instrument']} score {r['score']}" if "score" in r else "")


def _common(f):
    return click.pass_obj(at_option(json_option(f)))


@click.group()
def assess():
    """Record an outcome measure (ODI, RMDQ, PSFS, NPRS): item numbers and scores only, no wording."""


@assess.command()
@click.option("--answers", required=True, metavar="LIST",
              help='10 sections, each 0-5 or - for not answered, e.g. "3,2,1,-,0,2,1,1,2,0" (8 answered at least).')
@_common
def odi(session, answers, at, as_json):
    """Oswestry Disability Index v2.1a: score = sum / (5 x answered) x 100."""
    _assess(session, "odi", {"answers": answers}, at, as_json)


@assess.command()
@click.option("--answers", metavar="LIST", help='The numbers (1-24) of the statements that apply, e.g. "1,4,7,12".')
@click.option("--answers-yes-no", metavar="LIST", help="24 comma-separated y/n values, in statement order.")
@_common
def rmdq(session, answers, answers_yes_no, at, as_json):
    """Roland-Morris Disability Questionnaire: score 0-24, the statements that apply."""
    if (answers is None) == (answers_yes_no is None):
        raise click.UsageError("rmdq needs exactly one of --answers or --answers-yes-no")
    _assess(session, "rmdq", {"answers": answers, "answers_yes_no": answers_yes_no}, at, as_json)


@assess.command()
@click.option("--activity", "activities", multiple=True, required=True, metavar="ID=SCORE",
              help="An activity and how well it can be done, 0-10 (3 to 5 of them), e.g. lift-child=4.")
@click.option("--activity-name", "names", multiple=True, metavar='ID="TEXT"',
              help="Name an activity the first time, or rename it later (its id stays).")
@_common
def psfs(session, activities, names, at, as_json):
    """Patient-Specific Functional Scale: score = the mean of the activities' scores."""
    _assess(session, "psfs", {"activity": list(activities), "activity_name": list(names)}, at, as_json)


@assess.command()
@click.option("--pain", type=int, required=True, metavar="0-10")
@_common
def nprs(session, pain, at, as_json):
    """Numeric pain rating, 0-10 (check-ins count as NPRS too)."""
    _assess(session, "nprs", {"pain": pain}, at, as_json)


def report(data: dict, zone=None) -> str:
    """``outcomes`` as text: one block per instrument, PSFS activities under it."""
    if not data["instruments"]:
        return "no outcome measures yet: record one with `backstory assess`\n" + NOTE
    lines = []
    for i in data["instruments"]:
        lines.append(f"{i['instrument'].upper()}: {_point(i, zone)}  -> {i['verdict']}")
        for a in i.get("activities") or []:
            label = a["id"] + (f" ({a['name']})" if a.get("name") else "")
            lines.append(f"  {label}: {_point(a, zone)}  -> {a['verdict']}")
    lines.append(NOTE)
    return "\n".join(lines)


def _point(x: dict, zone) -> str:
    if x["verdict"] == "single measurement":
        return f"{x['latest']['score']} on {local(x['latest']['at'], zone, 10)}"
    return (f"{x['baseline']['score']} on {local(x['baseline']['at'], zone, 10)} to {x['latest']['score']} on "
            f"{local(x['latest']['at'], zone, 10)}, change {x['change']:+g} (MCID {x['mcid']})")


def recap_lines(data: dict, zone=None) -> list[str]:
    """The assessments of a recap's period, for ``recap``'s text."""
    found = data.get("assessments") or []
    if not found:
        return []
    return [f"{len(found)} assessments:"] + [f"  {local(a['at'], zone, 10)} {a['instrument']} {a['score']}"
                                             for a in found]


@click.command()
@json_option
@click.pass_obj
def outcomes(session, as_json):
    """Each outcome measure's baseline, latest, change and verdict against its MCID.

    MCIDs: NPRS 2 points or 30% of the baseline, ODI 10, RMDQ 5, PSFS 2 on the
    mean and 3 on one activity. Check-ins count as NPRS. The verdicts are
    heuristics, not diagnoses.
    """
    from service.outcomes import outcomes as query

    emit(query(session.reader()), as_json, partial(report, zone=session.timezone()))


COMMANDS = [assess, outcomes]
