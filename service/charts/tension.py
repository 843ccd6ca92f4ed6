"""Tension by muscle and side: how often it was noted in sessions, and how strong on average.

Each observation of a logged session counts once. The mean intensity (0-10)
leaves out observations without one. Sides differ by colour and hatch.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import tzinfo
from typing import Any

from domain.body import SIDES

TITLE = "Tension by muscle and side"
ORDER = 4

STYLE = {"left": ("blue", "////"), "right": ("orange", "\\\\\\\\"), "both": ("green", "xx")}


def collect(source: Any) -> dict:
    seen: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for f in source.of("log"):
        for t in f.get("tension") or []:
            seen[(t["muscle"], t["side"])].append(t)
    rows = []
    for (muscle, side), items in seen.items():
        rated = [t["intensity"] for t in items if t.get("intensity") is not None]
        rows.append({"muscle": muscle, "side": side, "count": len(items),
                     "mean_intensity": round(sum(rated) / len(rated), 1) if rated else None,
                     "kinds": dict(sorted(Counter(t["kind"] for t in items).items()))})
    totals = Counter()
    for r in rows:
        totals[r["muscle"]] += r["count"]
    rows.sort(key=lambda r: (-totals[r["muscle"]], r["muscle"], SIDES.index(r["side"])))
    return {"muscles": rows}


def draw(data: dict, zone: tzinfo) -> Any:
    from matplotlib.patches import Patch

    from service.charts._figure import OKABE_ITO, Picture, empty, figure, text_inches, title

    rows = data["muscles"]
    muscles = list(dict.fromkeys(r["muscle"] for r in rows))
    names = [m.replace("_", " ") for m in muscles]
    fig, (counts, means) = figure(9.0, 1.5 + 0.5 * max(len(muscles), 2), cols=2, left=0.25 + text_inches(names),
                                  top=0.65, bottom=0.6, gap=0.35, sharex=False, sharey=True)
    picture = Picture(fig)
    title(fig, TITLE)
    if not rows:
        empty(counts, "No tension noted in this period")
        empty(means, "")
        return picture
    height = 0.8 / len(SIDES)
    for r in rows:
        i = SIDES.index(r["side"])
        y = muscles.index(r["muscle"]) - 0.4 + height * (i + 0.5)
        colour, hatch = STYLE[r["side"]]
        kinds = ", ".join(f"{k} {n}" for k, n in r["kinds"].items())
        name = r["muscle"].replace("_", " ")
        mean = "no intensity given" if r["mean_intensity"] is None else f"mean intensity {r['mean_intensity']:g}"
        tip = f"{name} ({r['side']}): noted {r['count']} times, {mean}; {kinds}"
        for ax, value, what in ((counts, r["count"], "count"), (means, r["mean_intensity"], "mean")):
            if value is None:
                continue
            gid = f"tension-{what}-{r['muscle']}-{r['side']}"
            ax.barh(y, value, height=height * 0.92, color=OKABE_ITO[colour], edgecolor="black", linewidth=0.5,
                    hatch=hatch, gid=gid)
            ax.text(value, y, f" {value:g}", va="center", fontsize=7)
            picture.titles[gid] = tip
    counts.set_yticks(range(len(muscles)), names)
    counts.set_ylim(len(muscles) - 0.5, -0.5)
    counts.set_xlabel("Observations (count)")
    counts.set_title("How often", loc="left", fontsize=9, fontweight="normal")
    means.set_xlabel("Mean intensity (0-10)")
    means.set_xlim(0, 10.5)
    means.set_title("How strong", loc="left", fontsize=9, fontweight="normal")
    for ax in (counts, means):
        ax.grid(axis="y", visible=False)
    means.legend(handles=[Patch(facecolor=OKABE_ITO[c], hatch=h, edgecolor="black", label=side)
                          for side, (c, h) in STYLE.items()], loc="lower right", title="side")
    return picture
