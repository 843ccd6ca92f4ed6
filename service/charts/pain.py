"""Pain over time: before and after each session, next-morning pain, check-ins, flares, the MCID band.

Pain is the 0-10 numeric rating (NPRS). The band spans the minimal clinically
important difference (2 points) either side of the record's first pain
measurement: a change that stays inside it is not, by that heuristic, an
important one. Over ``MAX_POINTS`` sessions the chart draws weekly means.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from domain.mcid import MCID
from service.charts._common import MAX_POINTS, nprs_baseline, stamp, weekly

TITLE = "Pain over time"
ORDER = 1

FLARE_FILL = (0.835, 0.369, 0.0, 0.10)  # Okabe-Ito vermillion, faint: the hatch (full colour) marks a flare

SERIES = (  # key, label, marker, colour name, filled
    ("before", "before a session", "o", "blue", False),
    ("after", "after a session", "v", "green", True),
    ("next_day", "next morning", "s", "purple", True),
    ("checkin", "check-in", "D", "orange", True),
)


def collect(source: Any) -> dict:
    points: dict[str, list[dict]] = {key: [] for key, *_ in SERIES}
    for f in source.of("log", "next-day", "checkin"):
        at = source.local(f["occurred_at"])
        if f["type"] == "log":
            for key in ("before", "after"):
                if f.get(f"pain_{key}") is not None:
                    points[key].append({"id": f["id"], "at": at, "pain": f[f"pain_{key}"], "exercise": f["exercise"]})
        elif f.get("pain") is not None:
            key = "next_day" if f["type"] == "next-day" else "checkin"
            points[key].append({"id": f["id"], "at": at, "pain": f["pain"], "exercise": f.get("exercise")})
    weekly_means = any(len(v) > MAX_POINTS for v in points.values())
    if weekly_means:
        points = {k: weekly(v, "pain") for k, v in points.items()}
    flares, open_at = [], None
    for f in source.of("flare-start", "flare-end"):
        at = source.local(f["occurred_at"])
        if f["type"] == "flare-start" and open_at is None:
            open_at = (f["id"], at, f.get("pain"))
        elif f["type"] == "flare-end":
            fid, start, peak = open_at or (f["id"], source.start.astimezone(source.zone), None)
            flares.append({"id": fid, "start": start, "end": at, "pain": peak})
            open_at = None
    if open_at:
        flares.append({"id": open_at[0], "start": open_at[1], "end": source.end.astimezone(source.zone),
                       "pain": open_at[2], "ongoing": True})
    baseline = nprs_baseline(source)
    if baseline:
        baseline = {**baseline, "at": source.local(baseline["at"]), "mcid": MCID["nprs"]}
    return {"points": points, "weekly": weekly_means, "flares": flares, "baseline": baseline}


def _tip(key: str, label: str, p: dict, weekly_means: bool) -> str:
    if weekly_means:
        return f"week {p['week']}: mean pain {label} {p['pain']} over {p['count']}"
    who = f" · {p['exercise']}" if p.get("exercise") else ""
    return f"{stamp(p['at'])}{who} · pain {label}: {p['pain']}"


def draw(data: dict, zone: tzinfo) -> Any:
    from service.charts._figure import GREY, OKABE_ITO, Picture, date_axis, empty, figure, legend_below, title

    fig, ax = figure(9.0, 4.6, top=0.4, bottom=1.25)
    picture = Picture(fig)
    title(fig, TITLE + (" (weekly means)" if data["weekly"] else ""))
    points = data["points"]
    if not any(points.values()):
        empty(ax, "No pain recorded in this period")
        return picture
    base = data["baseline"]
    if base:
        low, high = base["score"] - base["mcid"], base["score"] + base["mcid"]
        ax.axhspan(max(low, 0), min(high, 10), facecolor=OKABE_ITO["sky"], alpha=0.18, edgecolor="none",
                   gid="mcid-band", label=f"MCID band: baseline {base['score']} ± {base['mcid']}")
        ax.axhline(base["score"], color=GREY, linestyle="--", linewidth=0.9, gid="baseline")
        picture.titles["mcid-band"] = (f"Baseline pain {base['score']} ({stamp(base['at'])}); a change of less than "
                                       f"{base['mcid']} points stays inside this band")
    for flare in data["flares"]:
        gid = f"flare-{flare['id']}"
        ax.axvspan(flare["start"], flare["end"], facecolor=FLARE_FILL, linewidth=0, gid=gid)
        # the hatch apart, at full colour (an SVG pattern takes the fill's opacity)
        ax.axvspan(flare["start"], flare["end"], facecolor="none", hatch="///", edgecolor=OKABE_ITO["vermillion"],
                   linewidth=0, alpha=0.5)
        peak = f", pain {flare['pain']} at its start" if flare.get("pain") is not None else ""
        picture.titles[gid] = (f"Flare from {stamp(flare['start'])} to "
                               f"{'now' if flare.get('ongoing') else stamp(flare['end'])}{peak}")
    if data["flares"]:
        ax.fill_between([], [], facecolor="#fbebe0", hatch="///", edgecolor="#eaae80", linewidth=0,  # as drawn, opaque
                        label="flare")
    for key, label, marker, colour, filled in SERIES:
        series = points[key]
        if not series:
            continue
        gid = f"series-{key.replace('_', '-')}"
        ax.plot([p["at"] for p in series], [p["pain"] for p in series], linestyle="none", marker=marker,
                markersize=5, markeredgecolor=OKABE_ITO[colour], markerfacecolor=OKABE_ITO[colour] if filled else "white",
                markeredgewidth=1.1, label=f"pain {label}", gid=gid)
        picture.points[gid] = [(f"point-{p['id']}-{key.replace('_', '-')}", _tip(key, label, p, data["weekly"]))
                               for p in series]
    ax.set_ylim(-0.5, 10.5)
    ax.set_yticks(range(0, 11, 2))
    ax.set_ylabel("Pain (NPRS, 0-10 points)")
    date_axis(ax, zone)
    legend_below(fig, ncol=3)
    return picture
