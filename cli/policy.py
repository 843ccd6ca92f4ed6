"""``backstory policy``: see the insight rules in force and tune their parameters with a recorded decision."""

from __future__ import annotations

import click

from cli.options import at_option, emit, json_option, reason_options, when
from cli.render import confirmation, local

HELP_NOTE = ("Rules are heuristics from the clinical literature, not a diagnosis; a change applies from its "
             "--at on, never to what came before.")


@click.group(help=f"Show or change the rules behind lights, breaks, fittings, tension, signature and kits. {HELP_NOTE}")
def policy():
    pass


def _params(extra: list[str]) -> dict[str, str]:
    """``--green-max 3 --amber-max=6`` -> {"green_max": "3", "amber_max": "6"}; the domain checks the values."""
    out: dict[str, str] = {}
    items = list(extra)
    while items:
        flag = items.pop(0)
        if not flag.startswith("--") or len(flag) < 3:
            raise click.UsageError(f"expected --PARAM VALUE, got {flag!r}")
        name, _, value = flag[2:].partition("=")
        if not _:
            if not items or items[0].startswith("--"):
                raise click.UsageError(f"--{name} needs a value")
            value = items.pop(0)
        out[name.replace("-", "_")] = value
    return out


@policy.command(name="set", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("name", metavar="NAME")
@reason_options(required=True)
@at_option
@json_option
@click.pass_context
def set_policy(ctx, name, reason, reason_code, at, as_json):
    """Change parameters of policy NAME from --at on: --PARAM VALUE ... (see `backstory policy show`)."""
    from domain.errors import InvalidValue
    from domain.policies import definition

    session = ctx.obj
    try:
        rule = definition(name)
    except InvalidValue as e:
        raise click.BadParameter(str(e), param_hint="NAME") from None
    given = _params(ctx.args)
    try:
        rule.check(given)
    except InvalidValue as e:
        raise click.BadParameter(str(e), param_hint=f"--{e.field.replace('_', '-')}") from None
    args = {"policy": name, "params": given, "reason": reason, "reason_code": reason_code}
    result = session.mutate("policy-set", args, when(session, at, "at", name="--at"))
    emit(result, as_json, confirmation)


@policy.command(name="show")
@click.argument("name", required=False)
@click.option("--as-of", "as_of", metavar="WHEN", help="The rules in force then. Default: now.")
@json_option
@click.pass_obj
def show_policy(session, name, as_of, as_json):
    """The rules in force (all, or NAME): version, parameters, defaults."""
    from service.policies import policies

    data = policies(session.reader(), when(session, as_of, "as_of", session.now(), name="--as-of"))
    if name:
        data["policies"] = [p for p in data["policies"] if p["id"] == name]
        if not data["policies"]:
            from domain.policies import DEFINITIONS

            raise click.BadParameter(f"{name!r} is not a policy; known: {', '.join(sorted(DEFINITIONS))}",
                                     param_hint="NAME")
    zone = session.timezone()
    emit(data, as_json, lambda d: _text(d, zone))


def _text(data: dict, zone) -> str:
    lines = []
    for p in data["policies"]:
        params = ", ".join(f"{k}={v}" + ("" if p["defaults"][k] == v else f" (default {p['defaults'][k]})")
                           for k, v in p["params"].items())
        since = f", since {local(p['changed_at'], zone)}" if p["changed_at"] else ", defaults"
        lines.append(f"{p['id']} v{p['version']}{since}\n  {params}\n  {p['summary']}")
    return "\n".join(lines + [data["note"]])


COMMANDS = [policy]
