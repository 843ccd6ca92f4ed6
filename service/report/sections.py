"""The report's sections: what each shows, computed from one shared ``Context``.

Each ``Section`` names its template (``templates/sections/<id>.html.j2``) and
a function giving the template's values, or ``None`` to leave it out. Add a
section by appending to ``SECTIONS``; nothing else changes. The insights of
issue 12 (lights, tension, micro-breaks, flares) are one section computed by
the insight modules over the report's period only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, Callable

from service.charts._source import Source


class Context(Source):
    """The period being reported, read once: the charts' ``Source`` plus the program then and now.

    ``drawer`` (a ``service.charts._drawer.Drawer``) draws the charts; ``build`` sets it.
    """

    drawer: Any = None

    @cached_property
    def then(self) -> dict:
        from service.queries import show

        return show(self.reader, self.start)

    @cached_property
    def current(self) -> dict:
        from service.queries import show

        return show(self.reader, self.end)

    @cached_property
    def names(self) -> dict[str, str]:
        return {e.id: e.name for e in self.program.view().exercises.values()}

    @cached_property
    def generated(self) -> datetime:
        return (self.now or datetime.now(timezone.utc)).astimezone(self.zone)


@dataclass(frozen=True)
class Section:
    id: str
    heading: str
    build: Callable[[Context], dict | None]
    #: Completes the values once every section is built (the charts wait for their drawings there).
    finish: Callable[[dict], dict] | None = None

    @property
    def template(self) -> str:
        return f"sections/{self.id}.html.j2"


def program(ctx: Context) -> dict:
    return {"then": ctx.then, "now": ctx.current}


def decisions(ctx: Context) -> dict:
    from service.queries import history

    return {"entries": history(ctx.reader, since=ctx.start, until=ctx.end)["entries"], "names": ctx.names}


def charts(ctx: Context) -> dict:
    """Each chart's data, collected here and handed to the context's drawer (drawn while the report goes on)."""
    from service import charts as drawing

    out = []
    for name in drawing.in_order():
        module = drawing.module(name)
        about = " ".join(module.__doc__.split("\n\n")[0].split())  # the module's first paragraph
        out.append({"name": name, "title": module.TITLE, "about": about,
                    "svg": ctx.drawer.submit(name, module.collect(ctx), ctx.zone, "svg")})
    return {"charts": out}


def drawn(values: dict) -> dict:
    """The charts' SVG elements, once drawn."""
    for chart in values["charts"]:
        svg = chart["svg"].result().decode("utf-8")
        chart["svg"] = svg[svg.index("<svg"):]
    return values


def signature(ctx: Context) -> dict:
    from service.queries import signature as library

    return library(ctx.reader)


def outcomes(ctx: Context) -> dict:
    """Each instrument's change from its first to its latest measurement within the period (as the chart)."""
    from domain.mcid import summarize
    from service.outcomes import measures

    return summarize(measures(ctx.facts))


#: The most recent notes a report lists; a shorter period lists the others (a busy year writes thousands).
NOTES_SHOWN = 200


def notes(ctx: Context) -> dict:
    found = [f for f in ctx.of("log", "checkin", "flare-start", "flare-end") if f.get("note")]
    shown = found[-NOTES_SHOWN:]
    return {"notes": [{"at": f["occurred_at"], "type": f["type"], "exercise": f.get("exercise"), "note": f["note"]}
                      for f in shown], "total": len(found)}


def insights(ctx: Context) -> dict:
    """What the insights (``service.insights``) say of the period: the sessions' lights per exercise, tension's
    asymmetries and suggestions, micro-break adherence and the flares, with the heuristics note once."""
    from service.insights import HEURISTICS_NOTE
    from service.insights.fittings import light_suggestions, per_exercise
    from service.insights.flares import flares
    from service.insights.tension import tension

    found = tension(ctx.record, ctx.start, ctx.end)
    breaks = ctx.breaks
    over = [d for d in breaks["days"] if d["met_target"] is not None]
    return {"lights": per_exercise(ctx.sessions), "light_suggestions": light_suggestions(ctx.sessions),
            "asymmetries": found["asymmetries"], "suggestions": found["suggestions"],
            "breaks": {"share_days_met": breaks["share_days_met"], "days": len(over),
                       "days_met": sum(1 for d in over if d["met_target"]), "policy": breaks["policy"]},
            "flares": flares(ctx.record, ctx.start, ctx.end)["flares"], "note": HEURISTICS_NOTE}


SECTIONS: list[Section] = [
    Section("program", "The program then and now", program),
    Section("decisions", "Decisions and their reasons", decisions),
    Section("charts", "Charts", charts, drawn),
    Section("signature", "Signature library", signature),
    Section("outcomes", "Outcome measures", outcomes),
    Section("insights", "What the record says back", insights),
    Section("notes", "Notes of the period", notes),
]
