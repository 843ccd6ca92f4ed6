"""Moving the record in and out: export, import, and the Quick start demo."""

from __future__ import annotations

import json
import sys

import click

from cli import render


@click.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "fhir"]), default="jsonl", show_default=True,
              help="jsonl: every change, restorable with import; csv: one row per logged session; "
                   "fhir: one FHIR R4 Bundle (JSON) for a clinic.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to a file (default: stdout).")
@click.option("--since", metavar="WHEN", help="With --format fhir: sessions, pain and assessments from then on.")
@click.option("--until", metavar="WHEN", help="With --format fhir: up to then.")
@click.pass_obj
def export(session, fmt, output, since=None, until=None):
    """Export every change this device holds as JSON lines (restorable with import), the sessions as CSV,
    or the record as a FHIR R4 Bundle.

    Changes not yet synced are included, marked pending, so they can be carried to another device.
    """
    from service.exchange import export_lines

    if (since or until) and fmt != "fhir":
        raise click.UsageError("--since and --until go with --format fhir")
    pending = [] if fmt != "jsonl" else session.device.unsent()
    if fmt == "fhir":
        from cli.options import since_until
        from service.fhir import bundle_json

        start, end = since_until(session, since, until)
        lines = [bundle_json(session.reader(), start, end)]
    elif fmt == "csv":
        from service.csvexport import csv_lines

        lines = csv_lines(session.ledger)
    else:
        lines = export_lines(session.ledger, session.now(), pending)
    waiting = f" ({len(pending)} not yet synced, marked pending)" if pending else ""
    if output is None:
        for line in lines:
            click.echo(line)
        if pending:
            click.echo(f"exported{waiting}", err=True)
        return
    tmp = output + ".partial"
    with open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
    import os

    os.replace(tmp, output)
    click.echo(f"exported to {output}{waiting}", err=True)


@click.command(name="import")
@click.argument("file", type=click.File("rb"))
@click.option("--into-this-program", is_flag=True,
              help="Add another program's export to this one: its init left out, each change recorded now and "
                   "judged as new; if one does not fit, nothing is imported.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--from", "source", type=click.Choice(["hevy", "strong"]),
              help="Read a Hevy or Strong CSV export instead of a backstory export.")
@click.option("--unit", type=click.Choice(["kg", "lb"]),
              help="With --from: record loads in this unit (the unit of a Strong file whose Weight column names none).")
@click.option("--timezone", metavar="TZ", help="With --from: the time zone of the file's times "
                                               "(default: the program's, else this machine's).")
@click.option("--name", default="My program", show_default=True,
              help="With --from: the program's name, when the import starts it.")
@click.option("--dry-run", is_flag=True, help="With --from: say what would be recorded; store nothing.")
@click.pass_obj
def import_(session, file, into_this_program, as_json, source=None, unit=None, timezone=None, name=None,
            dry_run=False):
    """Import an export of this program (or into an empty store); changes already here are skipped.

    The whole file is checked first: a file of another program (unless --into-this-program), or one
    whose history does not fit this store's program, is refused and nothing is imported.

    With --from, FILE is a Hevy or Strong CSV export: its sessions, exercises and the
    changes between sessions are recorded (see the README, "Importing from Hevy and Strong").
    """
    if into_this_program and source is not None:
        raise click.UsageError("--into-this-program goes with a backstory export, not with --from")
    if source is not None or unit or timezone or dry_run:
        return _import_gym(session, file, source, unit, timezone, name, dry_run, as_json)
    from service.exchange import read_export, rebased

    export = read_export(file)
    counts = session.device.import_rows(rebased(export, session.now()) if into_this_program else export)
    if as_json:
        click.echo(json.dumps(counts, indent=2))
    else:
        queued = f", queued for sync {counts['queued']}" if "queued" in counts else ""
        queued += f", kept as conflicts {counts['conflict']}" if "conflict" in counts else ""
        click.echo(f"applied {counts['applied']}, already present {counts['duplicate']}{queued}, "
                   f"refused {len(counts['refused'])}")
        for r in counts["refused"]:
            click.echo(f"refused line {r['line']}: {r['type']} {r['mutation_id']}: {r['error']}", err=True)
    if counts["refused"]:
        sys.exit(1)


def _import_gym(session, file, source, unit, timezone, name, dry_run, as_json):
    """``import --from hevy|strong``: history from a gym app's CSV export (service/gymimport)."""
    if source is None:
        raise click.UsageError("--unit, --timezone and --dry-run go with --from hevy|strong")
    from domain.errors import InvalidValue
    from service.args import timezone_name
    from service.gymimport import import_text

    try:
        text = file.read().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValue("file", "is not UTF-8 text; expected a CSV export") from None
    zone = timezone_name("timezone", timezone) if timezone else session.timezone().key
    summary, kept = import_text(session.device, source, text, zone=zone, name=name, unit=unit,
                                dry_run=dry_run, now=session.now())
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    click.echo(_gym_text(summary, kept, dry_run))


def _gym_text(summary: dict, kept: list[str], dry_run: bool) -> str:
    app = summary["source"].capitalize()
    new = (f"{summary['sessions']} sessions, {summary['exercises']} exercises, "
           f"{summary['decisions']} decisions")
    if dry_run:
        head = f"{app}: {summary['workouts']} workouts; would record {new} (dry run: nothing stored)"
    elif summary["stored"]:
        head = f"{app}: {summary['workouts']} workouts; recorded {new}"
    else:
        head = f"{app}: {summary['workouts']} workouts; nothing new to record (already imported)"
    lines = [head]
    if kept:
        lines.append("already in the program, kept as they are (their sessions are logged): " + ", ".join(kept))
    if summary["skipped"]:
        n = len(summary["skipped"])
        lines.append(f"skipped {n} row{'s' if n != 1 else ''}:")
        lines += [f"  row {s['row']}: {s['why']}" for s in summary["skipped"]]
    return "\n".join(lines)


@click.command()
@click.pass_obj
def demo(session):
    """Record five weeks of realistic history in a fresh demo store and show it as of three weeks ago."""
    from zoneinfo import ZoneInfo

    from cli.session import Session, local_timezone
    from service import queries
    from service.demo import mutations
    from service.handling import handle

    path = session.home / "demo.sqlite"
    for suffix in ("", "-wal", "-shm"):
        (path.parent / (path.name + suffix)).unlink(missing_ok=True)
    demo_session = Session(db=f"sqlite:///{path}")
    zone = ZoneInfo(local_timezone())
    now = session.now()
    count = sum(1 for m in mutations(now, zone) if handle(demo_session.ledger, m))
    click.echo(f"Recorded {count} changes in {path}\n")
    from cli.when import parse_when

    earlier = parse_when("3 weeks ago", zone, now, "end")
    click.echo(render.program(queries.show(demo_session.ledger, earlier)))
    click.echo()
    click.echo(render.program(queries.show(demo_session.ledger, now)))
    click.echo()
    click.echo(render.diff(queries.diff(demo_session.ledger, earlier, now), zone))
    click.echo(f"\nTry: backstory --db sqlite:///{path} history 'Bird dog'")


COMMANDS = [export, import_, demo]
