"""The dashboard's read pages: program (as of a date, as known at a time), history, sessions, tension,
recap, conflicts, signature library, kit and outcome measures.

Each page reads its GET form with the JSON endpoint's own query schema and
answers with the endpoint's own function (``api.reads``, ``api.outcomes``): a
bad date is refused naming the field, a recap is at most 366 days, lists come
in the same pages. Times are shown in the program's time zone, values in words
(``service.wording``).
"""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
from flask import render_template, request

from api import read_schemas, reads, schemas
from api.query_dates import Zone
from api.errors import ApiProblem
from api.outcomes import outcomes_of
from api.web import bp
from service import wording

#: Query fields a page takes besides its schema's (read and removed before the schema sees the rest).
PAGE_EXTRAS = ("exercise", "n")


def zone():
    return Zone().get()  # once per request


def today() -> str:
    return datetime.now(zone()).date().isoformat()


def form(schema: type[ma.Schema], extras: tuple[str, ...] = ()) -> tuple[dict, dict, dict]:
    """The page's GET form: (the query parsed by ``schema``, the raw values to show again, the extras).

    Empty fields (a date picker left blank) count as absent; an unknown field or a bad value is a 400
    naming the field, as in the API.
    """
    raw = {k: v for k, v in request.args.items() if v.strip()}
    extra = {k: raw.pop(k) for k in extras if k in raw}
    try:
        query = schema().load(raw)
    except ma.ValidationError as e:
        messages = {name: texts if isinstance(texts, list) else [str(texts)]
                    for name, texts in e.normalized_messages().items()}
        detail = "; ".join(f"{name}: {' '.join(map(str, texts))}" for name, texts in messages.items())
        raise ApiProblem(400, "validation-error", detail, errors=messages) from None
    return query, raw, extra


@bp.app_template_filter("local")
def _local(iso: str | None, width: int = 16) -> str:
    return wording.local(iso, zone(), width).replace("T", " ")


@bp.app_template_filter("words")
def _words(value, key: str = "") -> str:
    return wording.words(value, key=key)


bp.add_app_template_filter(wording.prescription, "prescription")
@bp.app_template_filter("changes")
def _changes(before, after, names=None) -> str:
    return wording.changes(before, after, names, zone())


@bp.route("/program", methods=["GET"])
def program():
    query, raw, _ = form(read_schemas.ProgramQuerySchema)
    data = reads.program_of(query)
    return render_template("web/program.html", data=data, as_of=raw.get("as_of", ""),
                           known_at=raw.get("known_at", ""), today=today(), page="program")


@bp.route("/history", methods=["GET"])
def history():
    query, raw, extra = form(read_schemas.RangePageQuerySchema, ("exercise",))
    exercise = extra.get("exercise")
    data = reads.history_of(reads.exercise_in_path(exercise) if exercise else None, query)
    names = [e["name"] for e in reads.program_of({})["exercises"]]
    return render_template("web/history.html", data=data, raw=raw, exercise=exercise or "", names=names,
                           page="history")


def period_page(name: str, schema: type[ma.Schema], read, **extra):
    """A page of one read (a period's, a kit's): its GET form, the endpoint's function, ``web/NAME.html``."""
    query, raw, _ = form(schema)
    return render_template(f"web/{name}.html", data=read(query), raw=raw, page=name, **extra)


@bp.route("/sessions", methods=["GET"])
def sessions():
    return period_page("sessions", read_schemas.SessionsQuerySchema, reads.sessions_of)


@bp.route("/tension", methods=["GET"])
def tension():
    from api.tension import TensionQuerySchema, tension_of
    from service.insights import HEURISTICS_NOTE

    return period_page("tension", TensionQuerySchema, tension_of, note=HEURISTICS_NOTE)


@bp.route("/recap", methods=["GET"])
def recap():
    return period_page("recap", read_schemas.RecapQuerySchema, reads.recap_of)


@bp.route("/conflicts", methods=["GET"])
def conflicts():
    query, raw, extra = form(schemas.PageQuerySchema, ("n",))
    first = int(extra["n"]) if extra.get("n", "").isdigit() else 1
    data = reads.conflicts_of(query)
    rows = [{**c, "number": n} for n, c in enumerate(data["conflicts"], first)]
    return render_template("web/conflicts.html", data=data, rows=rows, next_n=first + len(rows), raw=raw,
                           page="conflicts")


@bp.route("/signature", methods=["GET"])
def signature():
    from api.toolkit import candidates_of

    form(schemas.NoQuerySchema)
    return render_template("web/signature.html", data=reads.signature_of(), candidates=candidates_of(),
                           page="signature")


@bp.route("/kit", methods=["GET"])
def kit():
    from api.toolkit import KitQuerySchema, kit_of
    from service.insights.kit import PURPOSES

    return period_page("kit", KitQuerySchema, kit_of, purposes=PURPOSES)


@bp.route("/outcomes", methods=["GET"])
def outcomes():
    form(schemas.NoQuerySchema)
    return render_template("web/outcomes.html", data=outcomes_of(), page="outcomes")
