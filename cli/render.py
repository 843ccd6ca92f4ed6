"""Plain-text renderings of command results, for people reading a terminal."""

from __future__ import annotations

from typing import Any

STAGES = {1: "lying", 2: "kneeling", 3: "supported", 4: "upright"}


def _short(x: str | None) -> str:
    return (x or "")[:8]


def _load(ld: dict | None) -> str:
    if not ld:
        return "-"
    return ld["type"] if ld.get("magnitude") is None else f"{ld['type']} {ld['magnitude']:g} {ld['unit']}"


def dose(rx: dict) -> str:
    per = " per side" if rx.get("per_side") else ""
    if rx.get("hold_s") is not None:
        return f"{rx['sets']}x{rx['hold_s']}s hold{per}"
    return f"{rx['sets']}x{rx['reps']}{per}"


def prescription(rx: dict) -> str:
    pos = rx["position"]
    where = f"{pos['stage']} {STAGES.get(pos['stage'], '')}" + (f":{pos['posture']}" if pos.get("posture") else "")
    parts = [where, _load(rx.get("load")), dose(rx)]
    d = rx.get("direction") or {}
    if d.get("pattern"):
        parts.append(d["pattern"] + (f":{d['plane']}" if d.get("plane") else ""))
    if rx.get("range") is not None:
        parts.append(f"range {rx['range']}")
    return ", ".join(parts)


def _value(v: Any) -> str:
    if isinstance(v, dict) and "stage" in v:
        return f"{v['stage']}" + (f":{v['posture']}" if v.get("posture") else "")
    if isinstance(v, dict) and "type" in v:
        return _load(v)
    if isinstance(v, dict) and "pattern" in v:
        return f"{v.get('pattern')}:{v.get('plane')}"
    return str(v)


def changes(before: dict | None, after: dict | None) -> str:
    after = {k: v for k, v in (after or {}).items() if k != "evidence"}
    if not before:
        return ""
    return ", ".join(f"{k} {_value(before.get(k))} -> {_value(v)}" for k, v in after.items())


def confirmation(result: dict) -> str:
    r = result["result"]
    label = {"duplicate": "already recorded", "queued": "done (queued for sync)"}.get(result["status"], "done")
    what = r.get("exercise") or r.get("program") or (f"fact {_short(r['fact_id'])}" if "fact_id" in r else "")
    text = f"{result['type']}: {label}" + (f" ({what})" if what else "")
    if "fact_id" in r:
        text += f"  id {r['fact_id']}"
    if "changes" in r and isinstance(r["changes"], dict) and r["changes"]:
        text += "\n  " + ", ".join(f"{k} {_value(c['from'])} -> {_value(c['to'])}" for k, c in r["changes"].items())
    if r.get("components"):
        text += "\n  components: " + ", ".join(c["name"] for c in r["components"])
    if r.get("forced"):
        text += "\n  forced past the evidence rule: " + "; ".join(r["evidence"]["unmet"])
    return text


def program(data: dict) -> str:
    head = f"{data['program']['name']} as of {data['as_of'][:16]}"
    if data["known_at"]:
        head += f", as known at {data['known_at'][:16]}"
    lines = [head]
    if data["program"].get("fitting"):
        lines.append(f"fitting {data['program']['fitting']['number']} open")
    if not data["exercises"]:
        lines.append("  (no exercises)")
    width = max([len(e["name"]) for e in data["exercises"]] + [8])
    for e in data["exercises"]:
        mark = "*" if e["signature"] else " "
        status = "" if e["status"] == "active" else f" [{e['status']}]"
        lines.append(f" {mark} {e['name']:<{width}}  {prescription(e['prescription'])}{status}")
    if any(e["signature"] for e in data["exercises"]):
        lines.append("   * signature exercise")
    return "\n".join(lines)


def history(data: dict) -> str:
    if not data["entries"]:
        return "no decisions in that period"
    lines = []
    for e in data["entries"]:
        what = f"{e['type']:<13} {e['exercise'] or '':<20}"
        line = f"{e['occurred_at'][:16]}  {what} {changes(e['from'], e['to'])}".rstrip()
        if e["reason"]:
            line += f"\n{'':18}why: {e['reason']}" + (f" [{e['reason_code']}]" if e["reason_code"] != "unspecified" else "")
        line += f"\n{'':18}recorded {e['recorded_at'][:19]}" + (" (pending: not synced yet)" if e.get("pending") else "")
        lines.append(line)
    return "\n".join(lines)


def diff(data: dict) -> str:
    lines = [f"from {data['from'][:10]} to {data['to'][:10]}"]
    lines += [f"  + {n}" for n in data["added"]]
    lines += [f"  - {n}" for n in data["removed"]]
    lines += [f"  ~ {c['exercise']}: {changes(c['from'], c['to'])}" for c in data["changed"]]
    if len(lines) == 1:
        lines.append("  no changes")
    return "\n".join(lines)


def recap(data: dict) -> str:
    lines = [f"{data['since'][:10]} to {data['until'][:10]}: {data['sessions']} sessions, {data['breaks']} micro-breaks"]
    for x in data["by_exercise"]:
        lines.append(f"  {x['exercise']}: {x['sessions']} sessions, pain before {x['pain_before_avg']} "
                     f"-> after {x['pain_after_avg']}")
    if data["tension"]:
        lines.append("tension: " + ", ".join(f"{t['muscle']} ({t['side']}) x{t['count']}" for t in data["tension"]))
    if data["breaks_per_day"]:
        days = len(data["breaks_per_day"])
        lines.append(f"micro-breaks on {days} days, {data['breaks'] / days:.1f} per day on those days")
    if data["decisions"]:
        lines.append(f"{len(data['decisions'])} decisions:")
        lines += [f"  {d['occurred_at'][:10]} {d['type']} {d['exercise'] or ''}" + (f": {d['reason']}" if d["reason"] else "")
                  for d in data["decisions"]]
    return "\n".join(lines)


def signature(data: dict) -> str:
    if not data["exercises"]:
        return "the signature library is empty"
    return "\n".join(
        f"  {e['name']}  since {(e['promoted_at'] or '')[:10]}" + ("  (forced: " + (e["reason"] or "") + ")" if e["forced"] else "")
        for e in data["exercises"]
    )
