"""The dashboard's insight pages: the 23-hour day, micro-breaks over a period, a fitting's report, flares,
sessions awaiting their next day, and one exercise's signature evidence.

Built as ``api.web.pages`` builds its pages: each reads its GET form with the
JSON endpoint's own query schema and answers with the endpoint's own function
(``api.day``, ``api.fittings``, ``api.toolkit``, ``api.pending``), so a bad
date or number is refused naming the field, as the API refuses it. Every
figure here is a heuristic, never a diagnosis; the pages say so.
"""

from __future__ import annotations

from flask import render_template

from api import reads, schemas
from api.web import bp
from api.web.pages import form, period_page, today


def _note() -> str:
    from service.insights import HEURISTICS_NOTE

    return HEURISTICS_NOTE


@bp.route("/day", methods=["GET"])
def day():
    from api.day import DayQuerySchema, day_of

    return period_page("day", DayQuerySchema, day_of, today=today(), note=_note())


@bp.route("/breaks", methods=["GET"])
def breaks():
    from api.day import BreaksQuerySchema, breaks_of

    return period_page("breaks", BreaksQuerySchema, breaks_of, note=_note())


@bp.route("/fitting", methods=["GET"])
def fitting():
    from api.fittings import FittingQuerySchema, fitting_report_of

    return period_page("fitting", FittingQuerySchema, fitting_report_of)


@bp.route("/flares", methods=["GET"])
def flares():
    from api.toolkit import flares_of

    return period_page("flares", schemas.NoQuerySchema, lambda _query: flares_of())


@bp.route("/pending", methods=["GET"])
def pending():
    from api.pending import pending_of

    return period_page("pending", schemas.NoQuerySchema, lambda _query: pending_of(), note=_note())


@bp.route("/signature/explain", methods=["GET"])
def explain():
    """One exercise's signature evidence, clause by clause (``?exercise=`` a name or an id prefix)."""
    from api.toolkit import explain_of

    _, _, extra = form(schemas.NoQuerySchema, ("exercise",))
    names = [e["name"] for e in reads.program_of({})["exercises"]]
    exercise = extra.get("exercise")
    data = explain_of(exercise) if exercise else None
    return render_template("web/explain.html", data=data, exercise=exercise or "", names=names,
                           page="signature")
