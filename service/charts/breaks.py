"""Micro-breaks per day against the target, with the longest stretch without a break.

The days are ``backstory breaks``'s (``service.insights.breaks``, under the ``micro-breaks``
policy in force: by default waking hours 08:00 to 22:00 in the program's time zone, at most 60
minutes without a break), so the chart and the command always agree. Over ``MAX_POINTS`` days
the chart draws weekly figures.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, tzinfo
from typing import Any

from service.charts._common import MAX_POINTS

TITLE = "Micro-breaks per day"
ORDER = 3

def collect(source: Any) -> dict:
    """Each day with anything recorded, as ``backstory breaks`` judges it (``Source.breaks``)."""
    answer = source.breaks
    policy = answer["policy"]["params"]
    days = [{**d, "date": date.fromisoformat(d["date"])} for d in answer["days"]]
    weekly_figures = len(days) > MAX_POINTS
    if weekly_figures:
        days = _weeks(days, policy["max_gap_min"])
    return {"days": days, "weekly": weekly_figures, "policy": answer["policy"],
            "share_days_met": answer["share_days_met"]}


def _weeks(days: list[dict], limit: int) -> list[dict]:
    """Per ISO week: mean breaks per recorded day, the week's longest stretch, met if every day over met it."""
    weeks: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for d in days:
        weeks[d["date"].isocalendar()[:2]].append(d)
    out = []
    for (year, week), items in sorted(weeks.items()):
        over = [d["longest_without_break_min"] for d in items if d["longest_without_break_min"] is not None]
        out.append({"date": date.fromisocalendar(year, week, 4), "week": f"{year}-W{week:02d}",
                    "breaks": round(sum(d["breaks"] for d in items) / len(items), 1), "days": len(items),
                    "longest_without_break_min": max(over) if over else None,
                    "met_target": None if not over else max(over) <= limit})
    return out


def _label(d: dict) -> str:
    return f"week {d['week']}" if "week" in d else d["date"].isoformat()


def draw(data: dict, zone: tzinfo) -> Any:
    import matplotlib.dates as mdates
    from matplotlib.collections import PolyCollection

    from service.charts._figure import GREY, OKABE_ITO, Picture, date_axis, empty, figure, legend_below, title

    fig, (top, bottom) = figure(9.0, 5.8, rows=2, top=0.4, bottom=1.05, gap=0.45)
    picture = Picture(fig)
    unit = "mean per day, by week" if data["weekly"] else "per day"
    title(fig, TITLE + (" (weekly)" if data["weekly"] else ""))
    days = data["days"]
    if not days:
        empty(top, "Nothing recorded in this period")
        empty(bottom, "")
        return picture
    at = [datetime.combine(d["date"], time(12), zone) for d in days]
    width = 5.0 if data["weekly"] else 0.7  # days
    # one artist for every bar (a patch per bar would cost a second on five years of days)
    bars = PolyCollection([[(x - width / 2, 0), (x - width / 2, d["breaks"]), (x + width / 2, d["breaks"]),
                            (x + width / 2, 0)] for x, d in zip(mdates.date2num(at), days)],
                          facecolors=OKABE_ITO["sky"], edgecolors=OKABE_ITO["blue"], linewidths=0.5,
                          gid="breaks-per-day", label=f"micro-breaks ({unit})")
    top.add_collection(bars)
    top.autoscale_view()
    top.set_ylim(bottom=0)
    picture.titles["breaks-per-day"] = f"Micro-breaks {unit}"
    top.yaxis.get_major_locator().set_params(integer=True)
    top.set_ylabel(f"Breaks ({'mean per day' if data['weekly'] else 'count'})")
    policy = data["policy"]["params"]
    limit = policy["max_gap_min"]
    bottom.set_title(f"Longest stretch without a break, {policy['waking_start']}-"
                     f"{policy['waking_end']} (target: at most {limit} min)", loc="left",
                     fontsize=9, fontweight="normal")
    bottom.axhline(limit, color=GREY, linestyle="--", linewidth=1, gid="target", label=f"target: {limit} min")
    picture.titles["target"] = f"Target: at most {limit} minutes without a break in waking hours"
    for met, (label, marker, colour, fill) in {True: ("target met", "o", "green", True),
                                               False: ("target missed", "X", "vermillion", True)}.items():
        chosen = [(x, d) for x, d in zip(at, days) if d["met_target"] is met]
        if not chosen:
            continue
        gid = f"series-{'met' if met else 'missed'}"
        bottom.plot([x for x, _ in chosen], [d["longest_without_break_min"] for _, d in chosen], linestyle="none",
                    marker=marker, markersize=5, color=OKABE_ITO[colour], label=label, gid=gid)
        picture.points[gid] = [
            (f"point-{_label(d)}", f"{_label(d)}: longest {d['longest_without_break_min']:g} min without a break, "
                                   f"{d['breaks']:g} breaks{' a day' if data['weekly'] else ''}") for _, d in chosen]
    bottom.set_ylabel("Minutes without a break")
    bottom.set_ylim(bottom=0)
    date_axis(bottom, zone)
    share = data["share_days_met"]
    if share is not None:
        bottom.text(0.99, 1.02, f"target met on {share:.0%} of {'weeks' if data['weekly'] else 'days'}",
                    transform=bottom.transAxes, ha="right", va="bottom", gid="share-met")
    legend_below(fig, bottom.get_legend_handles_labels()[0], ncol=3)
    return picture
