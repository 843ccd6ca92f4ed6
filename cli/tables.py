"""Aligned tables for a terminal, drawn with ``rich``: the program, its history, the conflicts.

Imported only when stdout is a terminal that wants styling (``cli.options.on_terminal``):
piped output and ``NO_COLOR`` get ``cli.render``'s plain text, and ``rich`` is
never loaded for them. The cells are ``cli.render``'s words: names, not ids;
times in the program's zone.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from cli import render


def show(renderable: Any, console: Console | None = None) -> None:
    (console or Console(highlight=False)).print(renderable)


def _table(title: str | None = None, caption: str | None = None) -> Table:
    return Table(title=title, caption=caption, box=box.SIMPLE_HEAD, title_justify="left", caption_justify="left",
                 header_style="bold", show_edge=False, pad_edge=False)


def program(data: dict, zone: tzinfo | None = None) -> Any:
    """``show``: one row per exercise, its prescription in columns; signature exercises starred."""
    head = render.program(data, zone).splitlines()[0]
    notes = []
    if data["program"].get("fitting"):
        notes.append(f"fitting {data['program']['fitting']['number']} open"
                     + (": fitting due" if data.get("fitting_due") else ""))
    if any(e["signature"] for e in data["exercises"]):
        notes.append("* signature exercise")
    t = _table(head, "; ".join(notes) or None)
    for name, justify in (("", "left"), ("exercise", "left"), ("position", "left"), ("load", "left"),
                          ("dose", "left"), ("direction", "left"), ("status", "left")):
        t.add_column(name, justify=justify, no_wrap=name in ("", "dose"))
    for e in data["exercises"]:
        rx = e["prescription"]
        d = rx.get("direction") or {}
        t.add_row("*" if e["signature"] else "", Text(e["name"], style="bold" if e["status"] == "active" else "dim"),
                  render.words(rx["position"]), render.words(rx.get("load")) if rx.get("load") else "-",
                  render.dose(rx), render.words(d) if d.get("pattern") else "", e["status"])
    if not data["exercises"]:  # the plain text's words: before the start, or none in the program then
        return Group(*(Text(line) for line in render.program(data, zone).splitlines()))
    return t


def history(data: dict, zone: tzinfo | None = None) -> Any:
    """``history``: one row per decision: when, what, which exercise, what changed, why, when recorded."""
    if not data["entries"]:
        return Text("no decisions in that period")
    t = _table()
    for name in ("when", "decision", "exercise", "what changed", "why", "recorded"):
        t.add_column(name, no_wrap=name in ("when", "recorded"), overflow="fold")
    for e in data["entries"]:
        why = (e["reason"] or "") + (f" [{e['reason_code']}]" if e["reason_code"] != "unspecified" else "")
        t.add_row(render.local(e["occurred_at"], zone), e["type"], e["exercise"] or "",
                  render.changes(e["from"], e["to"], zone=zone), why,
                  render.local(e["recorded_at"], zone) + (" (pending)" if e.get("pending") else ""))
    return t


def conflicts(data: dict, zone: tzinfo | None = None) -> Any:
    """``conflicts``: each by the number ``resolve`` takes, its decision, exercise, state and reason."""
    shown: list[Any] = [Text("no conflicts")]
    if data["conflicts"]:
        t = _table()
        for name in ("#", "decision", "exercise", "state", "recorded", "reason"):
            t.add_column(name, justify="right" if name == "#" else "left", no_wrap=name != "reason")
        for c in data["conflicts"]:
            t.add_row(str(c["number"]), c["type"], c["exercise"] or "(program)", c["resolution"] or "open",
                      render.local(c["recorded_at"], zone), c["reason"])
        shown = [t]
    if data.get("rejected"):
        r = _table(title=render.REJECTED_HEAD)
        for name in ("change", "about", "dated", "reason"):
            r.add_column(name, no_wrap=name != "reason")
        for x in data["rejected"]:
            r.add_row(x["type"], render.rejected_subject(x), render.local(x["occurred_at"], zone), x["reason"] or "")
        shown.append(r)
    return shown[0] if len(shown) == 1 else Group(*shown)
