"""Decision commands: they change the plan and may be refused (exit 1)."""

from __future__ import annotations

from functools import partial

import click

from cli.fittings import report as fitting_report
from cli.options import at_option, emit, exercise_names, json_option, reason_options, rx_options, when
from cli.render import confirmation

EXERCISE_KINDS = ("segmental_control", "mobility", "strength", "endurance", "stretch", "breathing", "other")


def _run(session, mutation_type: str, args: dict, at: str | None, as_json: bool, zone=None) -> None:
    moment = when(session, at, "at", name="--at", zone=zone)
    result = session.mutate(mutation_type, args, moment)
    if not as_json and (result.get("result") or {}).get("override"):
        zone = zone or session.timezone()  # the guard's session is dated in the program's zone
    emit(result, as_json, partial(confirmation, zone=zone))


@click.command()
@click.option("--name", required=True, help="The program's name, e.g. your name.")
@click.option("--timezone", "tz", metavar="TZ", help="IANA time zone, e.g. Europe/Paris. Default: this machine's.")
@at_option
@json_option
@click.pass_obj
def init(session, name, tz, at, as_json):
    """Start a program."""
    from zoneinfo import ZoneInfo

    from cli.session import local_timezone
    from service.args import timezone_name

    tz = timezone_name("timezone", tz or local_timezone())
    # A WHEN without an offset is in the program's time zone: for init, the one it is given.
    _run(session, "init", {"name": name, "timezone": tz}, at, as_json, ZoneInfo(tz))


@click.command()
@click.argument("name")
@rx_options
@click.option("--per-side", is_flag=True, help="The dose is per side.")
@click.option("--target", multiple=True, metavar="MUSCLE", help="A muscle to work (repeatable).")
@click.option("--protect", multiple=True, metavar="MUSCLE", help="A muscle that must stay quiet (repeatable).")
@click.option("--cue", "cues", multiple=True, metavar="TEXT", help="A coaching cue (repeatable).")
@click.option("--kind", type=click.Choice(EXERCISE_KINDS), help="What kind of exercise this is.")
@reason_options(required=False)
@at_option
@json_option
@click.pass_obj
def add(session, name, position, load, direction, sets, reps, hold, range_, per_side, target, protect, cues, kind,
        reason, reason_code, at, as_json):
    """Add an exercise to the program."""
    if position is None or sets is None:
        raise click.UsageError("add needs --position and --sets")
    if (reps is None) == (hold is None):
        raise click.UsageError("add needs exactly one of --reps or --hold")
    args = {"name": name, "position": position, "load": load, "direction": direction, "sets": sets, "reps": reps,
            "hold": hold, "range": range_, "per_side": per_side or None, "target": list(target),
            "protect": list(protect), "cues": list(cues), "kind": kind, "reason": reason, "reason_code": reason_code}
    _run(session, "add", args, at, as_json)


def _change_command(kind: str, doc: str, extra: bool = False) -> click.Command:
    def command(session, exercise, position, load, direction, sets, reps, hold, range_, reason, reason_code, at,
                as_json, per_side=None, target=(), protect=(), cues=(), force=False):
        args = {"exercise": exercise, "position": position, "load": load, "direction": direction, "sets": sets,
                "reps": reps, "hold": hold, "range": range_, "per_side": per_side, "target": list(target),
                "protect": list(protect), "cues": list(cues), "reason": reason, "reason_code": reason_code}
        if force:
            args["force"] = True
        _run(session, kind, args, at, as_json)

    command.__doc__ = doc
    command = click.pass_obj(command)
    command = json_option(at_option(reason_options(required=True)(command)))
    if kind == "progress":
        command = click.option("--force", is_flag=True, help=(
            "Progress although the last session is red or still awaits its next-day response "
            "(recorded with that evidence)."))(command)
    if extra:
        command = click.option("--cue", "cues", multiple=True, metavar="TEXT", help="Replace the cues.")(command)
        command = click.option("--protect", multiple=True, metavar="MUSCLE", help="Replace the protect muscles.")(command)
        command = click.option("--target", multiple=True, metavar="MUSCLE", help="Replace the target muscles.")(command)
        command = click.option("--per-side/--both-sides", "per_side", default=None, help="Dose per side or not.")(command)
    command = rx_options(command)
    command = click.argument("exercise", shell_complete=exercise_names)(command)
    return click.command(name=kind)(command)


progress = _change_command("progress", """Raise one or more dimensions of an exercise (and lower none).

Refused while the exercise's last session is red or was the first after an add or a progression
and has no next-day response yet (`backstory pending`), unless --force. Heuristics from the
clinical literature (the pain-monitoring model), not a diagnosis.""")
regress = _change_command("regress", "Lower one or more dimensions of an exercise (and raise none).")
adapt = _change_command("adapt", "Change an exercise in a way that is neither a progression nor a regression.", True)


def _status_command(name: str, doc: str) -> click.Command:
    @click.command(name=name, help=doc)
    @click.argument("exercise", shell_complete=exercise_names)
    @reason_options(required=True)
    @at_option
    @json_option
    @click.pass_obj
    def command(session, exercise, reason, reason_code, at, as_json):
        _run(session, name, {"exercise": exercise, "reason": reason, "reason_code": reason_code}, at, as_json)
    return command


rebuild = _status_command("rebuild", "Put a deconstructed exercise back together.")
demote = _status_command("demote", "Take an exercise out of the signature library.")
retire = _status_command("retire", "Retire an exercise; its history stays.")
pause = _status_command("pause", "Pause an exercise.")
resume = _status_command("resume", "Resume a paused exercise.")


@click.command()
@click.argument("exercise", shell_complete=exercise_names)
@click.option("--into", "into", multiple=True, required=True, metavar="NAME", shell_complete=exercise_names,
              help="A component exercise (give 2 or more; an existing exercise's name links it).")
@reason_options(required=True)
@at_option
@json_option
@click.pass_obj
def deconstruct(session, exercise, into, reason, reason_code, at, as_json):
    """Break an aggravating exercise into 2 or more smaller components."""
    _run(session, "deconstruct", {"exercise": exercise, "into": list(into), "reason": reason,
                                  "reason_code": reason_code}, at, as_json)


@click.command()
@click.argument("exercise", shell_complete=exercise_names)
@reason_options(required=False)
@click.option("--force", is_flag=True, help="Promote without enough evidence (needs --reason; recorded).")
@at_option
@json_option
@click.pass_obj
def promote(session, exercise, reason, reason_code, force, at, as_json):
    """Promote an exercise to the signature library (needs evidence, or --force)."""
    _run(session, "promote", {"exercise": exercise, "reason": reason, "reason_code": reason_code,
                              "force": force or None}, at, as_json)


@click.group()
def fitting():
    """Open or close a fitting (a 1-2 week cycle of the program)."""


def _fitting_command(action: str) -> click.Command:
    @fitting.command(name=action, help=f"{action.capitalize()} a fitting.")
    @click.option("--notes", metavar="TEXT")
    @at_option
    @json_option
    @click.pass_obj
    def command(session, notes, at, as_json):
        _run(session, f"fitting-{action}", {"notes": notes}, at, as_json)
    return command


_fitting_command("open")
_fitting_command("close")
fitting.add_command(fitting_report)

COMMANDS = [init, add, progress, regress, adapt, deconstruct, rebuild, promote, demote, retire, pause, resume,
            fitting]
