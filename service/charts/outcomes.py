"""Outcome measures over time, one panel per instrument, each with its MCID band.

The band spans the minimal clinically important difference either side of the
first measurement in the period (ODI 10, RMDQ 5, PSFS 2, NPRS 2 points); the
panel's title gives ``domain.mcid``'s verdict. NPRS counts check-in pain as
``outcomes`` does. Heuristics from published MCIDs, not a diagnosis.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from domain.mcid import HIGHER_IS_WORSE, MCID, NOTE, ORDER as INSTRUMENTS, summarize
from service.charts._common import MAX_POINTS, stamp, weekly

TITLE = "Outcome measures"
ORDER = 5

AXES = {"odi": ("ODI (% disability, 0-100)", 0, 100), "rmdq": ("RMDQ (statements, 0-24)", 0, 24),
        "psfs": ("PSFS (mean ability, 0-10)", 0, 10), "nprs": ("NPRS (pain, 0-10 points)", 0, 10)}
LOOK = {"odi": ("o", "blue"), "rmdq": ("s", "vermillion"), "psfs": ("D", "green"), "nprs": ("^", "purple")}


def collect(source: Any) -> dict:
    from service.outcomes import measures

    found = measures(source.facts)
    summary = {s["instrument"]: s for s in summarize(found)["instruments"]}
    out = []
    for instrument in INSTRUMENTS:
        points = [{"id": m["fact_id"] or f"{instrument}-{i}", "at": source.local(m["at"]), "score": m["score"],
                   "source": m.get("source")} for i, m in enumerate(x for x in found if x["instrument"] == instrument)]
        if not points:
            continue
        weekly_means = len(points) > MAX_POINTS
        s = summary[instrument]
        out.append({"instrument": instrument, "points": weekly(points, "score") if weekly_means else points,
                    "weekly": weekly_means, "baseline": s["baseline"]["score"], "latest": s["latest"]["score"],
                    "change": s["change"], "mcid": MCID[instrument], "verdict": s["verdict"],
                    "higher_is_worse": HIGHER_IS_WORSE[instrument]})
    return {"instruments": out, "note": NOTE}


def draw(data: dict, zone: tzinfo) -> Any:
    from service.charts._figure import GREY, OKABE_ITO, Picture, date_axis, empty, figure, title

    items = data["instruments"]
    fig, axes = figure(9.0, 1.4 + 2.3 * max(len(items), 1), rows=max(len(items), 1), left=0.85, top=0.7,
                       bottom=0.95, gap=0.5)
    axes = axes if isinstance(axes, list) else [axes]
    picture = Picture(fig)
    title(fig, TITLE)
    if not items:
        empty(axes[0], "No outcome measure in this period")
        return picture
    for ax, item in zip(axes, items):
        name = item["instrument"]
        label, low, high = AXES[name]
        base, mcid = item["baseline"], item["mcid"]
        gid = f"mcid-{name}"
        ax.axhspan(max(base - mcid, low), min(base + mcid, high), facecolor=OKABE_ITO["sky"], alpha=0.2,
                   edgecolor="none", gid=gid)
        ax.axhline(base, color=GREY, linestyle="--", linewidth=0.9)
        picture.titles[gid] = f"{name.upper()} baseline {base:g}; MCID {mcid} points either side"
        marker, colour = LOOK[name]
        points = item["points"]
        series = f"series-{name}"
        ax.plot([p["at"] for p in points], [p["score"] for p in points], marker=marker, color=OKABE_ITO[colour],
                markersize=5, linewidth=1, gid=series, label=name.upper())
        picture.points[series] = [
            (f"point-{p['id']}-{name}",
             f"week {p['week']}: mean {name.upper()} {p['score']:g} over {p['count']}" if item["weekly"] else
             f"{stamp(p['at'])} · {name.upper()} {p['score']:g}" + (f" ({p['source']})" if p.get("source") else ""))
            for p in points]
        worse = "higher is worse" if item["higher_is_worse"] else "lower is worse"
        ax.set_title(f"{name.upper()}: {item['verdict']} (change {item['change']:+g}, MCID {mcid}; {worse})"
                     + (" · weekly means" if item["weekly"] else ""), loc="left", fontsize=9, fontweight="normal")
        ax.set_ylabel(label)
        ax.set_ylim(low - (high - low) * 0.04, high + (high - low) * 0.04)
    date_axis(axes[-1], zone)
    axes[-1].annotate(data["note"], xy=(0, 0), xycoords="figure fraction", xytext=(6, 4),
                      textcoords="offset points", fontsize=7, color=GREY)
    return picture
