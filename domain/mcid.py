"""Change against the minimal clinically important difference (MCID), per instrument.

A change (latest minus baseline, the first measurement) is important when it is
at least the MCID: NPRS 2 points or 30% of the baseline (either suffices), ODI 10
points, RMDQ 5 points, PSFS 2 points on the mean and 3 on a single activity. For
PSFS a lower score is worse; for ODI, RMDQ and NPRS a higher score is worse.
These are heuristics from the literature, not a diagnosis.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

MCID = {"odi": 10, "rmdq": 5, "psfs": 2, "nprs": 2}
NPRS_PERCENT = 30
PSFS_ACTIVITY_MCID = 3
HIGHER_IS_WORSE = {"odi": True, "rmdq": True, "psfs": False, "nprs": True}
ORDER = ("odi", "rmdq", "psfs", "nprs")
NOTE = "Heuristics from published MCIDs, not a diagnosis: talk changes over with your clinician."


def verdict(instrument: str, baseline: float, latest: float, mcid: float, count: int,
            percent: int | None = None) -> str:
    """improved, worsened, no important change, or single measurement."""
    if count < 2:
        return "single measurement"
    change = Fraction(str(latest)) - Fraction(str(baseline))  # exact: 0.1 steps must not miss a threshold
    size = abs(change)
    important = change != 0 and (size >= Fraction(str(mcid)) or
                                 (percent is not None and size * 100 >= percent * Fraction(str(baseline))))
    if not important:
        return "no important change"
    worse = (change > 0) == HIGHER_IS_WORSE[instrument]
    return "worsened" if worse else "improved"


def _point(m: dict) -> dict:
    out = {"at": m["at"], "score": m["score"]}
    if m.get("source"):
        out["source"] = m["source"]
    return out


def _change(a: float, b: float) -> float | int:
    d = Fraction(str(b)) - Fraction(str(a))
    return int(d) if d.denominator == 1 else round(float(d), 2)


def _activities(measures: list[dict]) -> list[dict]:
    seen: dict[str, list[tuple[str, int]]] = {}
    names: dict[str, str] = {}
    for m in measures:
        for aid, value in m["answers"].items():
            seen.setdefault(aid, []).append((m["at"], value))
        names.update(m.get("names") or {})
    out = []
    for aid, points in seen.items():
        (first_at, first), (last_at, last) = points[0], points[-1]
        out.append({"id": aid, "name": names.get(aid), "baseline": {"at": first_at, "score": first},
                    "latest": {"at": last_at, "score": last}, "change": last - first,
                    "mcid": PSFS_ACTIVITY_MCID,
                    "verdict": verdict("psfs", first, last, PSFS_ACTIVITY_MCID, len(points))})
    return out


def summarize(measures: list[dict]) -> dict[str, Any]:
    """Baseline, latest, change and verdict per instrument, from measures in time order.

    Each measure: ``instrument``, ``at`` (ISO text), ``score``, ``answers`` and, for
    PSFS, ``names``; a ``source`` (assess or checkin) is passed through for NPRS.
    """
    by: dict[str, list[dict]] = {}
    for m in measures:
        by.setdefault(m["instrument"], []).append(m)
    out = []
    for instrument in ORDER:
        found = by.get(instrument)
        if not found:
            continue
        first, last = found[0], found[-1]
        percent = NPRS_PERCENT if instrument == "nprs" else None
        entry: dict[str, Any] = {
            "instrument": instrument, "measurements": len(found),
            "baseline": _point(first), "latest": _point(last), "change": _change(first["score"], last["score"]),
            "mcid": MCID[instrument],
            "verdict": verdict(instrument, first["score"], last["score"], MCID[instrument], len(found), percent),
        }
        if percent is not None:
            entry["mcid_percent_of_baseline"] = percent
        entry["activities"] = _activities(found) if instrument == "psfs" else []
        out.append(entry)
    return {"instruments": out, "note": NOTE}
