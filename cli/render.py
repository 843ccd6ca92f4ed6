"""Plain-text renderings of command results, for people reading a terminal.

Text names exercises (never ids), says values in words (``signature: no ->
yes``, ``components: Side-lying leg lift, Bird dog``) and gives every time in
the program's time zone (``zone``); ``--json`` keeps the ids and the stored
times with their offsets.
"""

from __future__ import annotations

from datetime import tzinfo
from zoneinfo import ZoneInfo

# Values in words are shared with the HTML report (service.wording).
from service.wording import changes, dose, guarded, local, prescription, words  # noqa: F401 (cli.tables reads them here)


def _short(x: str | None) -> str:
    return (x or "")[:8]


def confirmation(result: dict, zone: tzinfo | None = None) -> str:
    r = result["result"]
    label = {"duplicate": "already recorded", "queued": "done (queued for sync)"}.get(result["status"], "done")
    what = r.get("exercise") or r.get("program") or r.get("policy") or (f"fact {_short(r['fact_id'])}" if "fact_id" in r else "")
    text = f"{result['type']}: {label}" + (f" ({what})" if what else "")
    if "fact_id" in r:
        text += f"  id {r['fact_id']}"
    if "changes" in r and isinstance(r["changes"], dict) and r["changes"]:
        text += "\n  " + changes({k: c["from"] for k, c in r["changes"].items()},
                                 {k: c["to"] for k, c in r["changes"].items()})
    if r.get("components"):
        text += "\n  components: " + ", ".join(c["name"] for c in r["components"])
    if r.get("override"):
        text += "\n  forced past the pain-monitoring guard: " + guarded(r["override"], zone)
    if r.get("forced"):
        text += "\n  forced past the evidence rule: " + "; ".join(r["evidence"]["unmet"])
    return text


def program(data: dict, zone: tzinfo | None = None) -> str:
    """``show``: the header in ``zone`` (the program's: a view before its start has no zone of its own), then each exercise."""
    zone = zone or ZoneInfo(data["program"].get("timezone") or "UTC")
    name = getattr(zone, "key", None) or str(zone)
    head = f"{data['program']['name']} as of {local(data['as_of'], zone)}"
    if data["known_at"]:
        head += f", as known at {local(data['known_at'], zone)}"
    lines = [head + f" ({name})"]
    if data["program"].get("fitting"):
        due = ": fitting due" if data.get("fitting_due") else ""
        lines.append(f"fitting {data['program']['fitting']['number']} open{due}")
    if not data["program"].get("started", True):
        lines.append("  (before the program's start: nothing recorded yet)")
    elif not data["exercises"]:
        lines.append("  (no exercises)")
    width = max([len(e["name"]) for e in data["exercises"]] + [8])
    for e in data["exercises"]:
        mark = "*" if e["signature"] else " "
        status = "" if e["status"] == "active" else f" [{e['status']}]"
        lines.append(f" {mark} {e['name']:<{width}}  {prescription(e['prescription'])}{status}")
    if any(e["signature"] for e in data["exercises"]):
        lines.append("   * signature exercise")
    return "\n".join(lines)


def history(data: dict, zone: tzinfo | None = None) -> str:
    if not data["entries"]:
        return "no decisions in that period"
    lines = []
    for e in data["entries"]:
        what = f"{e['type']:<13} {e['exercise'] or '':<20}"
        change = (_moved(e, zone) if e["type"] == "start-moved-back" else _policy(e) if e["type"] == "policy-set"
                  else changes(e["from"], e["to"], zone=zone))
        line = f"{local(e['occurred_at'], zone)}  {what} {change}".rstrip()
        if e["reason"]:
            line += f"\n{'':18}why: {e['reason']}" + (f" [{e['reason_code']}]" if e["reason_code"] != "unspecified" else "")
        line += f"\n{'':18}recorded {local(e['recorded_at'], zone)}" + (
            " (pending: not synced yet)" if e.get("pending") else "")
        lines.append(line)
    return "\n".join(lines)


def _policy(entry: dict) -> str:
    """A policy change: the rule and only the parameters that changed."""
    before, after = entry["from"]["params"], entry["to"]["params"]
    moved = ", ".join(f"{k} {before.get(k)} -> {v}" for k, v in after.items() if before.get(k) != v)
    return f"{entry['to']['policy']} v{entry['to']['version']}: {moved}"


def _moved(entry: dict, zone: tzinfo | None) -> str:
    """A backfill's move of the program's start, in the program's zone."""
    before, after = entry["from"]["started"], entry["to"]["started"]
    return (f"start: {local(before, zone)} -> {local(after, zone)} "
            f"(moved back: {entry['to']['cause']} dated before it)")


def diff(data: dict, zone: tzinfo | None = None) -> str:
    names = data.get("names") or {}
    lines = [f"from {local(data['from'], zone, 10)} to {local(data['to'], zone, 10)}"]
    lines += [f"  + {n}" for n in data["added"]]
    lines += [f"  - {n}" for n in data["removed"]]
    lines += [f"  ~ {c['exercise']}: {changes(c['from'], c['to'], names)}" for c in data["changed"]]
    if len(lines) == 1:
        lines.append("  no changes")
    return "\n".join(lines)


def _pain(x: dict) -> str:
    before, after = x["pain_before_avg"], x["pain_after_avg"]
    if before is None and after is None:
        text = "no pain recorded"
    elif after is None:
        text = f"pain before {words(before)} (after not recorded)"
    elif before is None:
        text = f"pain after {words(after)} (before not recorded)"
    else:
        text = f"pain before {words(before)} -> after {words(after)}"
    if x.get("pain_during_max") is not None:
        text += f", at worst {x['pain_during_max']} during"
    return text


def recap(data: dict, zone: tzinfo | None = None) -> str:
    lines = [f"{local(data['since'], zone, 10)} to {local(data['until'], zone, 10)}: "
             f"{data['sessions']} sessions, {data['breaks']} micro-breaks"]
    for x in data["by_exercise"]:
        lines.append(f"  {x['exercise']}: {x['sessions']} sessions, {_pain(x)}")
    if data.get("checkins"):
        avg = data.get("checkin_pain_avg")
        lines.append(f"check-ins: {data['checkins']}" + (f", average pain {words(avg)}" if avg is not None else ""))
    if data.get("flares"):
        lines.append(f"flares: {data['flares']}")
    if data.get("lights") and data["sessions"]:
        lines.append("lights: " + ", ".join(f"{c} {n}" for c, n in data["lights"].items()))
    if data.get("next_day"):
        lines.append("next day: " + ", ".join(f"{v} {data['next_day'][v]}" for v in ("better", "same", "worse")
                                              if v in data["next_day"]))
    if data["tension"]:
        lines.append("tension: " + ", ".join(f"{t['muscle']} ({t['side']}) x{t['count']}" for t in data["tension"]))
    if data["breaks_per_day"]:
        days = len(data["breaks_per_day"])
        lines.append(f"micro-breaks on {days} days, {data['breaks'] / days:.1f} per day on those days")
    if data.get("breaks_share_days_met") is not None:
        lines.append(f"longest stretch without a break within target on {data['breaks_share_days_met']:.0%} "
                     "of the finished days (`backstory breaks`)")
    if data["decisions"]:
        lines.append(f"{len(data['decisions'])} decisions:")
        lines += [f"  {local(d['occurred_at'], zone, 10)} {d['type']} {d['exercise'] or ''}".rstrip()
                  + (f": {d['reason']}" if d["reason"] else "") + (" (pending: not synced yet)" if d.get("pending") else "")
                  for d in data["decisions"]]
    from cli.assess import recap_lines

    return "\n".join(lines + recap_lines(data, zone))


def conflict_rows(data: dict) -> list[dict]:
    """The conflicts numbered as ``resolve N`` takes them (their recorded order, which every device shares)."""
    return [{**c, "number": n} for n, c in enumerate(data["conflicts"], 1)]


def conflicts(data: dict, zone: tzinfo | None = None) -> str:
    """Each conflict by its number, decision, exercise and state, then the server's reason (no ids)."""
    lines = [f"{c['number']:>3}  {c['type']} {c['exercise'] or '(program)'}  {c['resolution'] or 'open'}  "
             f"recorded {local(c['recorded_at'], zone)}\n     {c['reason']}" for c in conflict_rows(data)]
    lines = lines or ["no conflicts"]
    if data.get("rejected"):
        lines.append(REJECTED_HEAD)
        lines += [f"  {x['type']} {rejected_subject(x)}  at {local(x['occurred_at'], zone)}\n     {x['reason']}"
                  for x in data["rejected"]]
    return "\n".join(lines)


REJECTED_HEAD = "rejected by the server (not applied; record them again, with the right date if that was the reason):"


def rejected_subject(x: dict) -> str:
    """What a rejected change was about, by name (its exercise, else the program)."""
    args = x.get("args") or {}
    return str(args.get("exercise") or args.get("name") or "(program)")


def signature(data: dict, zone: tzinfo | None = None) -> str:
    if not data["exercises"]:
        return "the signature library is empty"
    return "\n".join(
        f"  {e['name']}  since {local(e['promoted_at'], zone, 10)}"
        + ("" if e.get("status", "active") == "active" else f"  [{e['status']}]")
        + ("  (forced: " + (e["reason"] or "") + ")" if e["forced"] else "")
        for e in data["exercises"]
    )
