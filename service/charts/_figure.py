"""matplotlib, set up once per drawing: Agg, a colour-blind-safe palette, deterministic SVG.

Imported only by the chart modules' ``draw`` functions (never at package
import), so ``backstory --help`` and every other command load no matplotlib.
Colours are the Okabe-Ito palette; every series also differs by marker shape,
line style or hatch, so a chart reads in black and white. SVG output keeps
text as text (``svg.fonttype`` none: searchable, small), uses a fixed
``svg.hashsalt`` and writes no date, so the same data gives the same bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from service.charts._svg import annotate

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
GREY = "#6b6b6b"
#: Average width of a character of the sans-serif font, in ems (a little generous: labels must not be cut).
EM_PER_CHAR = 0.62
RC = {
    "svg.hashsalt": "backstory", "svg.fonttype": "none", "text.parse_math": False,
    "font.size": 9, "axes.titlesize": 11, "axes.titleweight": "bold", "axes.grid": True,
    "grid.color": "#d9d9d9", "grid.linewidth": 0.6, "axes.spines.top": False, "axes.spines.right": False,
    "legend.fontsize": 8, "legend.frameon": False, "figure.dpi": 100, "savefig.dpi": 150,
    "hatch.linewidth": 0.8, "axes.axisbelow": True,
}


@dataclass
class Picture:
    """A drawn figure and what ``annotate`` adds to its SVG: group titles and per-marker ids and titles."""

    figure: Any
    titles: dict[str, str] = field(default_factory=dict)
    points: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, with this module's style applied."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update(RC)
    return plt


def text_inches(labels: list[str], size: float = RC["font.size"]) -> float:
    """An estimate of the widest label's width: margins are set from it, not measured (see ``figure``)."""
    return max((len(t) for t in labels), default=0) * size * EM_PER_CHAR / 72


def figure(width: float = 9.0, height: float = 4.0, rows: int = 1, cols: int = 1, *, left: float = 0.8,
           right: float = 0.3, top: float = 0.45, bottom: float = 0.75, gap: float = 0.6,
           sharex: bool = True, sharey: bool = False) -> tuple[Any, Any]:
    """A figure with ``rows`` x ``cols`` axes and fixed margins in inches (``gap`` between axes).

    Fixed margins, not matplotlib's constrained layout: that measures every tick label again
    and again, a second of a five-year report; the margins come from ``text_inches`` instead.
    """
    plt = pyplot()
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False, sharex=sharex, sharey=sharey)
    inner_w = width - left - right
    inner_h = height - top - bottom
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height,
                        hspace=gap * rows / max(inner_h - gap * (rows - 1), 0.1),
                        wspace=gap * cols / max(inner_w - gap * (cols - 1), 0.1))
    flat = [ax for row in axes for ax in row]
    return fig, flat if len(flat) > 1 else flat[0]


def legend_below(fig: Any, handles: list | None = None, ncol: int = 3) -> None:
    """The legend centred under the axes, in the bottom margin kept for it."""
    if handles is None:
        handles = [h for ax in fig.axes for h in ax.get_legend_handles_labels()[0]]
    if handles:
        fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.005), ncol=ncol)


def title(fig: Any, text: str) -> None:
    """The chart's title, top left of the figure."""
    fig.suptitle(text, x=0.01, y=0.995, ha="left", va="top", fontweight="bold", fontsize=RC["axes.titlesize"])


def date_axis(ax: Any, zone: tzinfo, label: str = "Date") -> None:
    """Dates on the x axis, in the program's time zone, labelled with that zone."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(tz=zone, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=zone))
    ax.set_xlabel(f"{label} ({getattr(zone, 'key', None) or str(zone)})")


def within_dates(ax: Any, zone: tzinfo) -> None:
    """Keep the x axis (dates, once drawn) inside the years matplotlib can name: a period up to 9999-12-31 plus the
    axis's margins went past them, a ValueError when the ticks were labelled. Near the end of year 9999 the date
    locator looks a whole span further (an OverflowError), so there the axis names just its two ends."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import FixedLocator

    low, high = ax.get_xlim()
    first, last = mdates.date2num(datetime(1, 1, 2)), mdates.date2num(datetime(9999, 12, 30))
    low, high = max(low, first), min(high, last)
    ax.set_xlim(low, high)
    if high + (high - low) > last:
        ax.xaxis.set_major_locator(FixedLocator([low, high]))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d", tz=zone))


def empty(ax: Any, text: str) -> None:
    """Say plainly that a period holds nothing to draw, instead of an empty frame."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=GREY, gid="no-data")
    ax.set_xticks([])
    ax.set_yticks([])


def render(picture: Picture, fmt: str) -> bytes:
    """The figure as SVG (annotated, deterministic) or PNG bytes; the figure is closed."""
    plt = pyplot()
    buffer = io.BytesIO()
    try:
        if fmt == "svg":
            picture.figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "backstory"})
        else:
            picture.figure.savefig(buffer, format="png", metadata={"Software": "backstory"})
    finally:
        plt.close(picture.figure)
    data = buffer.getvalue()
    if fmt != "svg":
        return data
    return annotate(data.decode("utf-8"), picture.titles, picture.points).encode("utf-8")
