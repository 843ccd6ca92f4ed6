"""The root ``backstory`` group: where the store is, and how failures become exit codes.

Exit codes: 0 done, 1 refused or failed (the message on stderr names the rule
or field), 2 usage error (click's own).
"""

from __future__ import annotations

import importlib
import sys

import click

#: Each command's module. A module is imported when one of its commands runs (or when help or
#: completion lists them all), so ``backstory show`` loads cli.read alone. tests/e2e/test_help.py
#: checks this table against each module's COMMANDS.
COMMAND_MODULES = {
    "cli.decide": ("init", "add", "progress", "regress", "adapt", "deconstruct", "rebuild", "promote", "demote",
                   "retire", "pause", "resume", "fitting"),
    "cli.record": ("log", "next-day", "break", "checkin", "sleep", "flare", "correct", "void"),
    "cli.assess": ("assess", "outcomes"),
    "cli.read": ("show", "history", "diff", "recap"),
    "cli.transfer": ("export", "import", "demo"),
    "cli.remote": ("remote", "sync", "device", "serve", "conflicts", "resolve", "projections"),
    "cli.accounts": ("account",),
    "cli.policy": ("policy",),
    "cli.tension": ("tension",),
    "cli.signature": ("signature", "kit", "flares"),
    "cli.charts": ("chart", "report"),
    "cli.day": ("day", "breaks"),
    "cli.lights": ("sessions", "pending"),
}
MODULE_OF = {name: module for module, names in COMMAND_MODULES.items() for name in names}


class BackstoryGroup(click.Group):
    """Loads each command's module when it is needed; maps domain and storage failures to exit code 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *MODULE_OF})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in MODULE_OF:
            for command in importlib.import_module(MODULE_OF[cmd_name]).COMMANDS:
                self.add_command(command)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as e:  # mapped in one place: here
            from cli.session import SettingsError
            from domain.errors import DomainError
            from service.config import StoreConfigError
            from service.remote import RemoteError

            if isinstance(e, (DomainError, StoreConfigError, RemoteError, SettingsError)):
                click.echo(f"backstory: {describe(e)}", err=True)
                ctx.exit(1)
            raise


def describe(e: Exception) -> str:
    """One line naming the kind of failure, the rule or field, and what is allowed."""
    from domain.errors import Refused

    if isinstance(e, Refused):
        return f"refused ({e.rule}): {e}"
    kind = getattr(e, "kind", "error").replace("_", " ")
    return f"{kind}: {e}"


@click.group(cls=BackstoryGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", envvar="BACKSTORY_DB",
              help="SQLAlchemy-style URL of the store (sqlite:///PATH or postgresql://...). "
                   "Default: a SQLite file in the user data directory (or $BACKSTORY_HOME).")
@click.version_option("0.1.0", prog_name="backstory")
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """Keep the full history of an exercise-therapy program for back pain.

    Decisions (add, progress, regress, ...) change the plan; facts (log,
    break, checkin, ...) record what happened. Every change is kept, and the
    program can be shown as of any date.

    What backstory says back (lights, suggestions, verdicts, kits) are
    heuristics from the clinical literature, not diagnoses: talk them over
    with your clinician.
    """
    from cli.session import Session

    ctx.obj = Session(db=db)


def main() -> None:
    cli.main(prog_name="backstory")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
