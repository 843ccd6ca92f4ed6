"""Fact commands: what happened and how it felt. Never refused because the plan changed."""

from __future__ import annotations

import click

from cli.decide import _run
from cli.options import at_option, exercise_names, json_option

MUSCLE_HELP = "MUSCLE[:SIDE[:KIND[:INTENSITY]]], e.g. paraspinals:left:overactive:6 (repeatable)."


@click.command()
@click.argument("exercise", shell_complete=exercise_names)
@click.option("--sets", type=int)
@click.option("--reps", type=int)
@click.option("--hold", type=int, metavar="SECONDS")
@click.option("--load", metavar="TYPE[:MAGNITUDE:UNIT]")
@click.option("--pain-before", type=int, metavar="0-10")
@click.option("--pain-during", type=int, metavar="0-10")
@click.option("--pain-after", type=int, metavar="0-10")
@click.option("--effort", type=int, metavar="0-10", help="Borg CR10.")
@click.option("--tension", multiple=True, metavar="OBS", help=MUSCLE_HELP)
@click.option("--note", metavar="TEXT")
@at_option
@json_option
@click.pass_obj
def log(session, exercise, sets, reps, hold, load, pain_before, pain_during, pain_after, effort, tension, note,
        at, as_json):
    """Log a session of an exercise."""
    _run(session, "log", {"exercise": exercise, "sets": sets, "reps": reps, "hold": hold, "load": load,
                          "pain_before": pain_before, "pain_during": pain_during, "pain_after": pain_after,
                          "effort": effort, "tension": list(tension), "note": note}, at, as_json)


@click.command(name="next-day")
@click.argument("exercise", shell_complete=exercise_names)
@click.option("--verdict", required=True, type=click.Choice(["better", "same", "worse"]))
@click.option("--pain", type=int, metavar="0-10", help="Morning pain.")
@at_option
@json_option
@click.pass_obj
def next_day(session, exercise, verdict, pain, at, as_json):
    """Record how the back felt the day after an exercise."""
    _run(session, "next-day", {"exercise": exercise, "verdict": verdict, "pain": pain}, at, as_json)


@click.command(name="break")
@click.option("--kind", type=click.Choice(["stand", "walk", "extend", "rotate", "reset"]), default="stand",
              show_default=True)
@click.option("--seconds", type=int, default=45, show_default=True)
@at_option
@json_option
@click.pass_obj
def break_(session, kind, seconds, at, as_json):
    """Record a micro-break."""
    _run(session, "break", {"kind": kind, "seconds": seconds}, at, as_json)


@click.command()
@click.option("--pain", type=int, required=True, metavar="0-10")
@click.option("--starts", metavar="REGION", help="Where the pain starts, e.g. low_back.")
@click.option("--travels", multiple=True, metavar="REGION", help="Where it travels (repeatable).")
@click.option("--note", metavar="TEXT")
@at_option
@json_option
@click.pass_obj
def checkin(session, pain, starts, travels, note, at, as_json):
    """Check in: pain now, where it starts and where it travels."""
    _run(session, "checkin", {"pain": pain, "starts": starts, "travels": list(travels), "note": note}, at, as_json)


@click.command()
@click.option("--hours", type=float, metavar="H", help="Hours slept, 0-24 in whole or half hours, e.g. 7.5.")
@click.option("--quality", type=int, metavar="0-10", help="How well you slept: 0 worst, 10 best.")
@click.option("--position", type=click.Choice(["back", "side", "front", "mixed"]), help="The position you slept in.")
@click.option("--pain-morning", type=int, metavar="0-10", help="Pain on waking.")
@click.option("--note", metavar="TEXT")
@at_option
@json_option
@click.pass_obj
def sleep(session, hours, quality, position, pain_morning, note, at, as_json):
    """Record last night's sleep (record it in the morning: `backstory day` shows it on that date)."""
    _run(session, "sleep", {"hours": hours, "quality": quality, "position": position, "pain_morning": pain_morning,
                            "note": note}, at, as_json)


@click.group()
def flare():
    """Record the start or end of a flare."""


def _flare_command(action: str) -> None:
    @flare.command(name=action, help=f"A flare {'started' if action == 'start' else 'ended'}.")
    @click.option("--pain", type=int, metavar="0-10")
    @click.option("--note", metavar="TEXT")
    @at_option
    @json_option
    @click.pass_obj
    def command(session, pain, note, at, as_json):
        _run(session, f"flare-{action}", {"pain": pain, "note": note}, at, as_json)


_flare_command("start")
_flare_command("end")


@click.command()
@click.argument("fact")
@click.option("--sets", type=int)
@click.option("--reps", type=int)
@click.option("--hold", type=int, metavar="SECONDS")
@click.option("--pain-before", type=int)
@click.option("--pain-during", type=int)
@click.option("--pain-after", type=int)
@click.option("--effort", type=int)
@click.option("--pain", type=int, help="For check-ins, next-day responses and flares.")
@click.option("--verdict", type=click.Choice(["better", "same", "worse"]))
@click.option("--hours", type=float, metavar="H", help="For sleep: hours slept.")
@click.option("--quality", type=int, metavar="0-10", help="For sleep: how well you slept.")
@click.option("--position", type=click.Choice(["back", "side", "front", "mixed"]), help="For sleep.")
@click.option("--pain-morning", type=int, metavar="0-10", help="For sleep: pain on waking.")
@click.option("--note", metavar="TEXT")
@click.option("--answers", metavar="LIST", help="For ODI and RMDQ assessments, as assess takes them.")
@click.option("--answers-yes-no", metavar="LIST", help="For RMDQ assessments: 24 y/n values.")
@click.option("--activity", "activities", multiple=True, metavar="ID=SCORE",
              help="For PSFS assessments: all their activities again (repeatable).")
@click.option("--reason", metavar="TEXT")
@at_option
@json_option
@click.pass_obj
def correct(session, fact, sets, reps, hold, pain_before, pain_during, pain_after, effort, pain, verdict, hours,
            quality, position, pain_morning, note, answers, answers_yes_no, activities, reason, at, as_json):
    """Correct a recorded fact (the original stays in the history)."""
    _run(session, "correct", {"fact": fact, "sets": sets, "reps": reps, "hold": hold, "pain_before": pain_before,
                              "pain_during": pain_during, "pain_after": pain_after, "effort": effort, "pain": pain,
                              "verdict": verdict, "hours": hours, "quality": quality, "position": position,
                              "pain_morning": pain_morning, "note": note, "answers": answers, "answers_yes_no": answers_yes_no,
                              "activity": list(activities) or None, "reason": reason}, at, as_json)


@click.command()
@click.argument("fact")
@click.option("--reason", required=True, metavar="TEXT")
@at_option
@json_option
@click.pass_obj
def void(session, fact, reason, at, as_json):
    """Void a recorded fact (it stays in the history, marked void)."""
    _run(session, "void", {"fact": fact, "reason": reason}, at, as_json)


COMMANDS = [log, next_day, break_, checkin, sleep, flare, correct, void]
