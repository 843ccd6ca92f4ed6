"""Tension as data (issue 12, item 4): which muscles grab, which sides differ, what to consider.

``tension(record, since, until, muscle, side)`` answers ``backstory tension --json`` and
``GET /v1/tension`` alike, from the tension observations of the logged sessions in the
period (corrections applied, voided sessions left out):

- ``muscles``: each (muscle, side) observed: how often, its mean intensity, its kinds and
  the exercises it came up in;
- ``asymmetries``: a muscle whose left and right mean intensities (a session's highest per
  side) differ by ``asymmetry_points`` or more over at least ``asymmetry_sessions`` sessions
  with both sides observed, or one side reported in ``one_sided_sessions`` sessions or more
  and the other never. Only ``left``/``right`` observations are compared;
- ``suggestions``: rules over each exercise's last ``last_sessions`` sessions in the period,
  under the policy ``tension-suggestions`` in force at the last of them. Each names its rule
  and exactly the sessions it rests on. They are never events: a person decides.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from domain.policies import Policy
from service.record import Record

POLICY = "tension-suggestions"
#: Muscles the back rule watches in every exercise, whether or not it protects them (SPEC 2).
BACK_MUSCLES = ("paraspinals", "quadratus_lumborum")
GRABBING = ("overactive", "guarding")
REGRESS = "consider regressing the position or range of {exercise}"
SHOULDERS = "consider a position that takes the shoulders out of it"
UNILATERAL = "consider a unilateral exercise for the weaker side"


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _at(session: dict) -> datetime:
    return datetime.fromisoformat(session["occurred_at"])


def muscles(sessions: list[dict]) -> list[dict[str, Any]]:
    """Each (muscle, side) observed: count, mean intensity (null if none given), kinds, exercises; most seen first."""
    seen: dict[tuple[str, str], dict] = {}
    for s in sessions:
        for t in s.get("tension") or []:
            row = seen.setdefault((t["muscle"], t["side"]), {"n": 0, "intensities": [], "kinds": Counter(),
                                                               "exercises": set()})
            row["n"] += 1
            if t.get("intensity") is not None:
                row["intensities"].append(t["intensity"])
            row["kinds"][t["kind"]] += 1
            row["exercises"].add(s.get("exercise") or "")
    return [{"muscle": m, "side": side, "count": r["n"], "mean_intensity": _mean(r["intensities"]),
             "kinds": dict(sorted(r["kinds"].items())), "exercises": sorted(r["exercises"], key=str.casefold)}
            for (m, side), r in sorted(seen.items(), key=lambda kv: (-kv[1]["n"], kv[0]))]


def _sides(sessions: list[dict]) -> dict[str, dict[str, dict[str, list]]]:
    """muscle -> side (left/right) -> session id -> the intensities reported that session."""
    out: dict[str, dict[str, dict[str, list]]] = defaultdict(lambda: {"left": {}, "right": {}})
    for s in sessions:
        for t in s.get("tension") or []:
            if t["side"] in ("left", "right"):
                found = out[t["muscle"]][t["side"]].setdefault(s["id"], [])
                if t.get("intensity") is not None:
                    found.append(t["intensity"])
    return out


def asymmetries(sessions: list[dict], policy: Policy) -> list[dict[str, Any]]:
    """Muscles whose sides differ, under ``policy``; ``exposures`` counts the sessions in ``facts``.

    ``side`` is the side that stands out: the one with the higher mean, or the only one reported.
    """
    out = []
    for muscle, sides in sorted(_sides(sessions).items()):
        left, right = sides["left"], sides["right"]
        if left and right:
            both = [sid for sid in left if left[sid] and right.get(sid)]
            if len(both) < policy["asymmetry_sessions"]:
                continue
            lm = sum(max(left[sid]) for sid in both) / len(both)
            rm = sum(max(right[sid]) for sid in both) / len(both)
            if abs(lm - rm) < policy["asymmetry_points"]:
                continue
            out.append({"muscle": muscle, "kind": "means-differ", "side": "left" if lm > rm else "right",
                        "left_mean": round(lm, 2), "right_mean": round(rm, 2), "exposures": len(both), "facts": both})
        elif len(left or right) >= policy["one_sided_sessions"]:
            only = left or right
            mean = _mean([max(v) for v in only.values() if v])
            out.append({"muscle": muscle, "kind": "one-sided", "side": "left" if left else "right",
                        "left_mean": mean if left else None, "right_mean": mean if right else None,
                        "exposures": len(only), "facts": list(only)})
    return out


def _hits(window: list[dict], wanted) -> dict[str, list[str]]:
    """muscle -> ids of the sessions in ``window`` with an observation ``wanted(session, observation)`` accepts."""
    out: dict[str, list[str]] = defaultdict(list)
    for s in window:
        for m in sorted({t["muscle"] for t in s.get("tension") or [] if wanted(s, t)}):
            out[m].append(s["id"])
    return out


def _suggestion(policy: Policy, exercise: str, message: str, fired: dict[str, list[str]], window: list[dict],
                what: str) -> dict[str, Any]:
    ids = {sid for hits in fired.values() for sid in hits}
    return {"rule_id": policy.rule_id, "rule_version": policy.version, "exercise": exercise, "message": message,
            "facts": [s["id"] for s in window if s["id"] in ids], "muscles": sorted(fired),
            "why": f"{what} in {len(ids)} of the last {len(window)} sessions"}


def _sides_differ(a: dict) -> str:
    if a["kind"] == "one-sided":
        return f"{a['muscle']} on the {a['side']} only"
    return f"{a['muscle']} left {a['left_mean']:g}, right {a['right_mean']:g}"


def suggest(record: Record, history: list[dict]) -> list[dict[str, Any]]:
    """The suggestions on one exercise's sessions (oldest first, at least one)."""
    policy = record.policies.at(POLICY, _at(history[-1]))
    window = history[-policy["last_sessions"]:]
    name = window[-1].get("exercise") or ""
    exercise_id = window[-1].get("exercise_id")
    prescriptions: dict[str, dict] = {}

    def rx(session: dict) -> dict:
        """The prescription as of the session (a protect or target list may have changed since), read once."""
        if session["id"] not in prescriptions:
            found = record.view(_at(session)).exercises.get(exercise_id)
            prescriptions[session["id"]] = found.prescription if found is not None else {}
        return prescriptions[session["id"]]

    def guarded(s: dict, t: dict) -> bool:
        return t["kind"] in GRABBING and (t["muscle"] in BACK_MUSCLES or t["muscle"] in (rx(s).get("protect") or []))

    def shoulders(_s: dict, t: dict) -> bool:
        return t["muscle"] == "upper_trapezius" and t["kind"] == "overactive"

    out = []
    for wanted, message, what in ((guarded, REGRESS.format(exercise=name), "{} overactive or guarding"),
                                  (shoulders, SHOULDERS, "{} overactive")):
        fired = {m: ids for m, ids in _hits(window, wanted).items() if len(ids) >= policy["min_hits"]}
        if fired:
            out.append(_suggestion(policy, name, message, fired, window, what.format(", ".join(sorted(fired)))))
    found = asymmetries(window, policy)
    found = [a for a in found if a["muscle"] in (rx(window[-1]).get("target") or [])] if found else []
    if found:
        out.append(_suggestion(policy, name, UNILATERAL, {a["muscle"]: a["facts"] for a in found}, window,
                               "; ".join(_sides_differ(a) for a in found)))
    return out


def tension(record: Record, since: datetime | None = None, until: datetime | None = None,
            muscle: str | None = None, side: str | None = None) -> dict[str, Any]:
    """``backstory tension --json``: muscles, asymmetries and suggestions over [since, until].

    ``muscle`` narrows all three lists to one muscle, ``side`` the muscles list to one side
    (asymmetries compare the sides, so they stay). Asymmetries are judged under the policy in
    force at the last session of the period.
    """
    sessions = record.facts(since, until, types=("log",))
    last = _at(sessions[-1]) if sessions else (until or datetime.now(record.timezone))
    policy = record.policies.at(POLICY, last)
    by_exercise: dict[str, list[dict]] = defaultdict(list)
    for s in sessions:
        by_exercise[s.get("exercise_id") or s.get("exercise") or ""].append(s)
    suggestions = [x for history in by_exercise.values() for x in suggest(record, history)]
    suggestions.sort(key=lambda x: x["exercise"].casefold())  # stable: each exercise's rules in their order
    rows, found = muscles(sessions), asymmetries(sessions, policy)
    if muscle is not None:
        rows = [r for r in rows if r["muscle"] == muscle]
        found = [a for a in found if a["muscle"] == muscle]
        suggestions = [x for x in suggestions if muscle in x["muscles"]]
    if side is not None:
        rows = [r for r in rows if r["side"] == side]
    return {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None,
            "sessions": len(sessions), "muscles": rows, "asymmetries": found, "suggestions": suggestions,
            "policy": policy.ref()}
