"""The dashboard's charts: a page choosing a chart and a period, and each chart as an SVG of its own.

The charts are ``service.charts`` (matplotlib, imported only when one is
drawn), read from the caller's own ledger. The page shows a chart as an image
(``<img>``: an image runs no script) and links to the SVG itself, where the
markers' ``<title>`` reasons show on hover. The SVG is served as
``image/svg+xml`` under its own policy: a sandbox, no script, no request
anywhere, only its inline styles (matplotlib writes its styles inline).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, render_template, url_for

from api import read_schemas
from api.query_dates import period_of
from api.context import backend, principal
from api.errors import ApiProblem
from api.web import bp
from api.web.pages import form, today

SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
#: The page's period when none is chosen: this many days up to today.
DEFAULT_DAYS = 90


def _known(name: str):
    """The chart module called ``name``, or a 404 naming the charts there are."""
    from service import charts

    if name not in charts.names():
        raise ApiProblem(404, "not-found", f"chart: no chart {name!r}; there are {', '.join(charts.names())}")
    return charts.module(name)


@bp.route("/charts", methods=["GET"])
def charts_page():
    from service import charts

    _, raw, extra = form(read_schemas.RangeQuerySchema, ("name",))
    names = charts.names()
    name = extra.get("name") or names[0]
    _known(name)
    until = raw.get("until") or today()
    since = raw.get("since") or _default_since(until)
    period = {k: v for k, v in (("since", since), ("until", until)) if v}
    return render_template("web/charts.html", names=[(n, charts.module(n).TITLE) for n in names], name=name,
                           title=charts.module(name).TITLE, since=since, until=until,
                           src=url_for("web.chart_svg", name=name, **period), page="charts")


def _default_since(until: str) -> str:
    """``DEFAULT_DAYS`` before the day ``until`` names; empty (the whole record) when it names no day."""
    try:
        return (date.fromisoformat(until[:10]) - timedelta(days=DEFAULT_DAYS)).isoformat()
    except ValueError:
        return ""


@bp.route("/charts/<string:name>.svg", methods=["GET"])
def chart_svg(name: str):
    from service.charts import chart

    _known(name)
    query, _, _ = form(read_schemas.RangeQuerySchema)
    since, until = period_of(query)
    ctx = backend()
    ledger = principal().ledger(ctx.app)
    svg = ctx.retrying(lambda: chart(ledger, name, since, until, "svg"))
    return Response(svg, mimetype="image/svg+xml", headers={"Content-Security-Policy": SVG_CSP,
                                                             "Content-Disposition": "inline"})
