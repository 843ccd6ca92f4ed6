"""The program timeline: one lane per exercise from its add to its retirement, a marker per decision.

A lane is solid while the exercise is active, hatched while paused and cross-hatched
while deconstructed; it ends at retirement. Markers differ by shape and
colour: progress, regress, adapt, deconstruct (with a link down to each
component's lane), promote and demote. Each marker's SVG ``<title>`` carries
the decision's date, what changed and its reason.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from service.charts._common import stamp
from service.wording import changes

TITLE = "Program timeline"
ORDER = 2

MARKS = {  # decision: (label, marker, colour name)
    "progress": ("progress", "^", "blue"),
    "regress": ("regress", "v", "vermillion"),
    "adapt": ("adapt", "D", "green"),
    "deconstruct": ("deconstruct", "X", "purple"),
    "promote": ("promote to signature", "*", "orange"),
    "demote": ("demote", "P", "black"),
}
STATES = {"active": (None, 0.85), "paused": ("////", 0.7), "deconstructed": ("xx", 0.55)}


def collect(source: Any) -> dict:
    names = {e.id: e.name for e in source.program.view().exercises.values()}
    lanes: dict[str, dict] = {}
    marks: list[dict] = []

    def open_lane(eid: str, at: datetime, parent: str | None = None) -> None:
        lanes[eid] = {"id": eid, "name": names.get(eid, eid), "added": at, "retired": None, "parent": parent,
                      "segments": [["active", at, None]]}

    def set_state(eid: str, state: str, at: datetime) -> None:
        lane = lanes.get(eid)
        if lane is None:
            return
        current = lane["segments"][-1]
        if current[2] is None:
            current[2] = at
        if state == "retired":
            lane["retired"] = at
        else:
            lane["segments"].append([state, at, None])

    lo, hi = source.start.astimezone(source.zone), source.end.astimezone(source.zone)
    for e in source.decisions:
        at = e.occurred_at.astimezone(source.zone)
        if e.command == "add":
            open_lane(e.exercise_id, at)
        elif e.command == "deconstruct":
            set_state(e.exercise_id, "deconstructed", at)
            for c in e.components:
                if c["new"]:
                    open_lane(c["id"], at, parent=e.exercise_id)
        elif e.command in ("pause", "resume", "retire", "rebuild"):
            set_state(e.exercise_id, e.to_status, at)
        if e.command in MARKS and lo <= at <= hi:
            marks.append({"id": f"v{e.originator_version}", "kind": e.command, "at": at,
                          "exercise_id": e.exercise_id, "exercise": names.get(e.exercise_id, e.exercise_id),
                          "reason": e.reason, "reason_code": e.reason_code, "change": changes(*e.change(), names, source.zone),
                          "components": [c["id"] for c in e.components] if e.command == "deconstruct" else []})
    shown = []
    for lane in lanes.values():
        segments = [[s, max(a, lo), min(b or hi, hi)] for s, a, b in lane["segments"]
                    if a <= hi and (b or hi) >= lo]
        if segments:
            shown.append({**lane, "segments": segments})
    ids = {lane["id"] for lane in shown}
    return {"lanes": shown, "marks": [m for m in marks if m["exercise_id"] in ids],
            "until": hi}


#: A lane's label is cut to this many characters (its full name is in the lane's title).
LABEL_CHARS = 36


def _label(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[:LABEL_CHARS - 1] + "…"


def _tip(m: dict) -> str:
    parts = [stamp(m["at"]), f"{MARKS[m['kind']][0]} {m['exercise']}"]
    if m["change"]:
        parts.append(m["change"])
    parts.append(f"reason: {m['reason'] or '(none given)'}"
                 + (f" [{m['reason_code']}]" if m["reason_code"] not in (None, "unspecified") else ""))
    return " · ".join(parts)


def draw(data: dict, zone: tzinfo) -> Any:
    import matplotlib.dates as mdates
    from matplotlib.patches import Patch

    from service.charts._figure import (OKABE_ITO, Picture, date_axis, empty, figure, legend_below, text_inches, title,
                                        within_dates)

    lanes = data["lanes"]
    labels = [_label(lane["name"]) for lane in lanes]
    fig, ax = figure(9.0, 1.6 + 0.34 * max(len(lanes), 3), left=0.45 + min(text_inches(labels), 3.2), top=0.4,
                     bottom=1.1)
    picture = Picture(fig)
    title(fig, TITLE)
    if not lanes:
        empty(ax, "No exercise in the program in this period")
        return picture
    row = {lane["id"]: i for i, lane in enumerate(lanes)}
    for lane in lanes:
        y = row[lane["id"]]
        for state, (hatch, alpha) in STATES.items():
            spans = [(mdates.date2num(a), mdates.date2num(b) - mdates.date2num(a)) for s, a, b in lane["segments"]
                     if s == state]
            if not spans:
                continue
            gid = f"lane-{lane['id']}" + ("" if state == "active" else f"-{state}")
            ax.broken_barh(spans, (y - 0.3, 0.6), facecolors=OKABE_ITO["sky"] if state == "active" else "white",
                           edgecolors=OKABE_ITO["blue"], linewidth=0.6, hatch=hatch, alpha=alpha, gid=gid)
            ended = f", retired {stamp(lane['retired'])}" if lane["retired"] else ""
            picture.titles[gid] = f"{lane['name']}: {state}; added {stamp(lane['added'])}{ended}"
    for m in data["marks"]:
        for component in m["components"]:
            if component in row:
                gid = f"link-{m['id']}-{component}"
                (line,) = ax.plot([m["at"], m["at"]], [row[m["exercise_id"]], row[component]], linestyle=":",
                                  color=OKABE_ITO["purple"], linewidth=1.2, gid=gid, zorder=3)
                line.set_url(f"#lane-{component}")
                picture.titles[gid] = f"{m['exercise']} -> {lanes[row[component]]['name']}"
    for kind, (label, marker, colour) in MARKS.items():
        marks = [m for m in data["marks"] if m["kind"] == kind]
        if not marks:
            continue
        gid = f"marks-{kind}"
        ax.plot([m["at"] for m in marks], [row[m["exercise_id"]] for m in marks], linestyle="none", marker=marker,
                markersize=9 if marker == "*" else 7, markerfacecolor=OKABE_ITO[colour], markeredgecolor="black",
                markeredgewidth=0.6, label=label, gid=gid, zorder=4)
        picture.points[gid] = [(f"point-{m['id']}", _tip(m)) for m in marks]
    ax.set_yticks(range(len(lanes)), labels)
    ax.set_ylim(len(lanes) - 0.4, -0.6)
    ax.set_ylabel("Exercise")
    ax.grid(axis="y", visible=False)
    date_axis(ax, zone)
    within_dates(ax, zone)
    states = [Patch(facecolor=OKABE_ITO["sky"] if s == "active" else "white", edgecolor=OKABE_ITO["blue"],
                    hatch=h, alpha=a, label=s) for s, (h, a) in STATES.items()]
    legend_below(fig, states + ax.get_legend_handles_labels()[0], ncol=5)
    return picture
