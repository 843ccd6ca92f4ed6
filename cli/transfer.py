"""Moving the record in and out: export, import, and the Quick start demo."""

from __future__ import annotations

import json
import sys

import click

from cli import render


@click.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to a file (default: stdout).")
@click.pass_obj
def export(session, fmt, output):
    """Export every change this device holds as JSON lines (restorable with import).

    Changes not yet synced are included, marked pending, so they can be carried to another device.
    """
    from service.exchange import export_lines

    pending = session.device.unsent()
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
@click.pass_obj
def import_(session, file, into_this_program, as_json):
    """Import an export of this program (or into an empty store); changes already here are skipped.

    The whole file is checked first: a file of another program (unless --into-this-program), or one
    whose history does not fit this store's program, is refused and nothing is imported.
    """
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
    click.echo(render.diff(queries.diff(demo_session.ledger, earlier, now)))
    click.echo(f"\nTry: backstory --db sqlite:///{path} history 'Bird dog'")


COMMANDS = [export, import_, demo]
