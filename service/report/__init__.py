"""The report for a physiotherapist: one self-contained HTML file of a period.

``build(reader, since, until, now)`` renders ``templates/report.html.j2``
(Jinja2, autoescaped) with the sections of ``SECTIONS``, in order: the program
then and now, every decision of the period with its reason, the charts (inline
SVG), the signature library with its evidence, outcome measures, the insights
of the period (lights, tension, micro-breaks, flares) and its notes. The file loads nothing from the network (its
Content-Security-Policy forbids it, and every script) and prints on A4.

Extension point: a section is a ``Section`` (id, heading, template under
``templates/sections/``, and a function from the ``Context`` to the template's
values, or ``None`` to leave the section out).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.charts._drawer import Drawer
from service.report.sections import SECTIONS, Context

__all__ = ["SECTIONS", "Context", "build"]


def environment() -> Any:
    """The Jinja2 environment of the report's templates: autoescaped, strict about unknown names."""
    import jinja2

    from service.report import filters

    env = jinja2.Environment(loader=jinja2.PackageLoader("service.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(filters.FILTERS)
    return env


def build(reader: Any, since: datetime, until: datetime, now: datetime | None = None,
          drawer: Drawer | None = None) -> str:
    """The report of [since, until] as one HTML document; ``drawer`` draws its charts (default: here, in turn)."""
    ctx = Context(reader, since, until, now)
    ctx.drawer = drawer or Drawer(parallel=False)
    built = [(section, section.build(ctx)) for section in SECTIONS]
    sections = [{"id": section.id, "heading": section.heading, "template": section.template,
                 "values": section.finish(values) if section.finish else values}
                for section, values in built if values is not None]
    return environment().get_template("report.html.j2").render(ctx=ctx, sections=sections, zone=ctx.zone)
