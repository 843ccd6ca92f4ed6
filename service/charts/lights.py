"""The traffic lights per exercise over time: one lane per exercise, a marker per session at its date.

Each logged session's light is the pain-monitoring model's (``service.insights.lights``,
under the policy in force at the session): green a circle, amber a triangle, red a
square, so the lights read in black and white as well as in colour. Each marker's SVG
``<title>`` gives the date, the exercise, the light and its reasons. Over ``MAX_POINTS``
sessions the chart draws one marker per exercise and week (per month if that is still
over), the worst light in it, with its counts in the title.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, tzinfo
from typing import Any

from service.charts._common import MAX_POINTS, stamp

TITLE = "Traffic lights per exercise"
ORDER = 5

LIGHTS = {  # light: (marker, colour name)
    "green": ("o", "green"),
    "amber": ("^", "orange"),
    "red": ("s", "vermillion"),
}
#: A lane's label is cut to this many characters (its full name is in the lane's title).
LABEL_CHARS = 36


def collect(source: Any) -> dict:
    """The period's sessions with their lights (``Source.sessions``), by exercise, in order of first session."""
    names = {e.id: e.name for e in source.program.view().exercises.values()}
    lanes: dict[str, dict] = {}
    points = []
    for s in source.sessions:
        eid = s["exercise_id"] or s["exercise"] or ""
        lane = lanes.setdefault(eid, {"id": eid, "name": names.get(eid) or s["exercise"] or eid,
                                      "lights": {light: 0 for light in LIGHTS}})
        lane["lights"][s["light"]] += 1
        points.append({"id": s["id"], "at": source.local(s["occurred_at"]), "exercise_id": eid,
                       "light": s["light"], "reasons": s["light_reasons"]})
    sessions, grouped = points, None
    for by in ("week", "month"):  # weeks still too many (years of a busy program): months
        if len(points) <= MAX_POINTS:
            break
        grouped, points = by, _group(sessions, by)
    return {"lanes": list(lanes.values()), "points": points, "grouped": grouped}


def _key(at: datetime, by: str) -> tuple[str, datetime]:
    """The week or month of a moment: its label and the moment its marker is drawn at (mid-period, noon)."""
    noon = at.replace(hour=12, minute=0, second=0, microsecond=0)
    if by == "week":
        year, week, day = at.isocalendar()
        return f"{year}-W{week:02d}", noon + timedelta(days=4 - day)
    return f"{at.year}-{at.month:02d}", noon.replace(day=15)


def _group(points: list[dict], by: str) -> list[dict]:
    """One point per exercise and week (or month): the worst light in it, its counts as the reasons."""
    order = list(LIGHTS)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    middle: dict[str, datetime] = {}
    of_day: dict = {}  # a day's week or month, worked out once per day
    for p in points:
        day = p["at"].date()
        found = of_day.get(day)
        if found is None:
            found = of_day[day] = _key(p["at"], by)
        label, at = found
        middle.setdefault(label, at)
        groups[(p["exercise_id"], label)].append(p)
    out = []
    for (eid, label), items in groups.items():
        seen = {light: sum(1 for p in items if p["light"] == light) for light in order}
        out.append({"id": f"{by}-{label}-{eid}", "at": middle[label], "exercise_id": eid,
                    "light": max((p["light"] for p in items), key=order.index), by: label,
                    "reasons": [", ".join(f"{n} {light}" for light, n in seen.items() if n)]})
    out.sort(key=lambda p: p["at"])
    return out


def _label(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[:LABEL_CHARS - 1] + "…"


def _tip(p: dict, name: str) -> str:
    by = next((by for by in ("week", "month") if by in p), None)
    when = f"{by} {p[by]}" if by else stamp(p["at"])
    return " · ".join([when, name, p["light"], "; ".join(p["reasons"])])


def draw(data: dict, zone: tzinfo) -> Any:
    from service.charts._figure import GREY, OKABE_ITO, Picture, date_axis, empty, figure, legend_below, text_inches
    from service.charts._figure import title as set_title

    lanes = data["lanes"]
    labels = [_label(lane["name"]) for lane in lanes]
    fig, ax = figure(9.0, 1.6 + 0.34 * max(len(lanes), 3), left=0.45 + min(text_inches(labels), 3.2), top=0.4,
                     bottom=1.0)
    picture = Picture(fig)
    set_title(fig, TITLE + (f" (worst light per {data['grouped']})" if data["grouped"] else ""))
    if not lanes:
        empty(ax, "No session logged in this period")
        return picture
    row = {lane["id"]: i for i, lane in enumerate(lanes)}
    names = {lane["id"]: lane["name"] for lane in lanes}
    first = min(p["at"] for p in data["points"])
    last = max(p["at"] for p in data["points"])
    for lane in lanes:
        gid = f"lane-{lane['id']}"
        ax.plot([first, last], [row[lane["id"]]] * 2, color=GREY, linewidth=0.6, linestyle=":", gid=gid, zorder=1)
        counted = ", ".join(f"{n} {light}" for light, n in lane["lights"].items())
        total = sum(lane["lights"].values())
        picture.titles[gid] = f"{lane['name']}: {total} session{'' if total == 1 else 's'}: {counted}"
    for light, (marker, colour) in LIGHTS.items():
        chosen = [p for p in data["points"] if p["light"] == light]
        if not chosen:
            continue
        gid = f"lights-{light}"
        ax.plot([p["at"] for p in chosen], [row[p["exercise_id"]] for p in chosen], linestyle="none", marker=marker,
                markersize=7, markerfacecolor=OKABE_ITO[colour], markeredgecolor="black", markeredgewidth=0.6,
                label=light, gid=gid, zorder=3)
        picture.points[gid] = [(f"point-{p['id']}", _tip(p, names[p["exercise_id"]])) for p in chosen]
    ax.set_yticks(range(len(lanes)), labels)
    ax.set_ylim(len(lanes) - 0.4, -0.6)
    ax.set_ylabel("Exercise")
    ax.grid(axis="y", visible=False)
    if first == last:  # one moment: give the axis a day either side
        ax.set_xlim(first - timedelta(days=1), last + timedelta(days=1))
    date_axis(ax, zone, "Session date")
    legend_below(fig, ax.get_legend_handles_labels()[0], ncol=3)
    return picture

