"""Charts of the record, drawn with matplotlib as SVG (or PNG): one module per chart.

``chart(reader, name, since, until, fmt)`` answers one chart as bytes. Each
public module of this package is a chart, found by name (adding a chart is
adding a module): it has ``TITLE``, ``ORDER`` (its place in the report),
``collect(source) -> dict`` (plain values, no matplotlib) and
``draw(data, zone) -> Picture`` (imports matplotlib, lazily). Times are drawn
in the program's time zone. Charts show heuristics, never a diagnosis.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime
from types import ModuleType
from typing import Any

from domain.errors import InvalidValue

FORMATS = ("svg", "png")


def names() -> list[str]:
    """Every chart's name, alphabetically (found without importing the chart modules)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def in_order() -> list[str]:
    """Every chart's name in the report's order (each module's ``ORDER``)."""
    return sorted(names(), key=lambda n: (module(n).ORDER, n))


def module(name: str) -> ModuleType:
    """The chart called ``name``; an unknown name is an ``InvalidValue`` naming the allowed ones."""
    known = names()
    if name not in known:
        raise InvalidValue("chart", f"{name!r} is not a chart; allowed: {', '.join(known)}")
    return importlib.import_module(f"{__name__}.{name}")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidValue("format", f"{fmt!r} is not a chart format; allowed: {', '.join(FORMATS)}")
    return fmt


def draw(source: Any, name: str, fmt: str = "svg") -> bytes:
    """One chart from a shared ``Source`` (the report draws several from one)."""
    from service.charts._figure import render

    check_format(fmt)
    chart_module = module(name)
    return render(chart_module.draw(chart_module.collect(source), source.zone), fmt)


def chart(reader: Any, name: str, since: datetime | None = None, until: datetime | None = None,
          fmt: str = "svg") -> bytes:
    """The chart ``name`` (see ``names()``) of the period [since, until] (default: the whole record) as bytes."""
    from service.charts._source import Source

    module(name)
    check_format(fmt)
    return draw(Source(reader, since, until), name, fmt)


def data(reader: Any, name: str, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """What the chart ``name`` draws, as plain values (for tests and for a page that draws its own)."""
    from service.charts._source import Source

    return module(name).collect(Source(reader, since, until))
