"""Pictures of the record: ``chart`` draws one chart to a file, ``report`` writes the HTML report.

Both read the period ``--since``/``--until`` in the program's time zone.
matplotlib and Jinja2 are imported only when a command runs, never for help.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.options import since_until
from service.charts import names as chart_names  # finds the chart modules without importing them

SUFFIXES = {".svg": "svg", ".png": "png"}


def _write(path: str, data: bytes) -> None:
    """Write the whole file or nothing (a temporary file renamed over it); a path that cannot be written exits 1."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise click.FileError(path, e.strerror or str(e)) from None



@click.command()
@click.argument("name", metavar="|".join(chart_names()))
@click.option("--since", metavar="WHEN", help="Start of the period (default: the start of the record).")
@click.option("--until", metavar="WHEN", help="End of the period (default: now).")
@click.option("--out", required=True, metavar="FILE.svg|FILE.png", help="Where to write it; the suffix picks the format.")
@click.pass_obj
def chart(session, name, since, until, out):
    """Draw one chart of the record as SVG or PNG.

    pain: before/after each session, next-morning pain, check-ins, flares and
    the MCID band; timeline: a lane per exercise with its decisions; breaks:
    micro-breaks per day and the longest stretch without one; tension: muscle
    by side; outcomes: each instrument with its MCID. Heuristics, not a diagnosis.
    """
    from service import charts

    if name not in chart_names():
        raise click.BadParameter(f"{name!r} is not a chart; allowed: {', '.join(chart_names())}", param_hint="NAME")
    fmt = SUFFIXES.get(Path(out).suffix.lower())
    if fmt is None:
        raise click.BadParameter(f"{out!r} has no chart suffix; allowed: {', '.join(SUFFIXES)}", param_hint="--out")
    start, end = since_until(session, since, until)
    data = charts.chart(session.reader(), name, start, end, fmt)
    _write(out, data)
    click.echo(f"{name} chart written to {out} ({fmt.upper()}, {len(data) / 1024:.0f} kB)")


@click.command()
@click.option("--since", metavar="WHEN", help="Start of the period (default: a month before --until).")
@click.option("--until", metavar="WHEN", help="End of the period (default: now).")
@click.option("--out", required=True, metavar="FILE.html", help="Where to write the report (one self-contained file).")
@click.pass_obj
def report(session, since, until, out):
    """Write a self-contained HTML report of a period for a physiotherapist.

    The program then and now, every decision with its reason, the charts, the
    signature library with its evidence and the outcome measures, printable on
    A4. It opens offline from the file. Heuristics, not a diagnosis.
    """
    from service.charts._drawer import Drawer
    from service.dates import month_before
    from service.report import build

    with Drawer() as drawer:  # started first: its matplotlib import overlaps the reading
        start, end = since_until(session, since, until)
        end = end or session.now()
        start = start or month_before(end, session.timezone())
        html = build(session.reader(), start, end, session.now(), drawer)
    _write(out, html.encode("utf-8"))
    click.echo(f"report written to {out} ({len(html) / 1024:.0f} kB)")


COMMANDS = [chart, report]
