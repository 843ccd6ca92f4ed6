"""Text a person reads, on a terminal and piped (issue 11 item 3): no ids, no Python literals, tables with rich.

A realistic program is built through the real sync push (two devices of one account, a deconstruction,
a forced promotion, a stale progression that becomes a conflict, a rejected change), then every text
output of ``diff``, ``history``, ``show``, ``conflicts`` and the ``sync`` report is scanned, in the plain
form (piped, ``NO_COLOR``) and as the rich tables a terminal gets, rendered in process.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from cli import render, tables
from cli.options import on_terminal
from cli.remote import _sync_text
from service import queries
from service.accounts import authenticate, create_account, pair_device
from service.application import BackstoryApp
from service.config import parse_store
from service.mutation import Mutation
from service.sync import push

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime.now(timezone.utc)
ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-|\b[0-9a-fA-F]{8,}\b")
LITERAL = re.compile(r"\b(None|True|False)\b|\[\]|\{\}|\[['\"]|['\"]\]|\{['\"]")


class Device:
    def __init__(self, app, token):
        self.app, self.seq = app, 0
        self.who = authenticate(app, f"Bearer {token}")

    def push(self, mutation_type, days_ago, base_version=None, **args):
        self.seq += 1
        m = Mutation(str(uuid.uuid4()), mutation_type, NOW - timedelta(days=days_ago), "ignored", args,
                     base_version=base_version, seq=self.seq)
        return push(self.app, self.who, [m])["results"][0]


@pytest.fixture
def built(store_url):
    app = BackstoryApp(parse_store(store_url).env)
    first = create_account(app, "sam")
    a = Device(app, first["token"])
    b = Device(app, pair_device(app, a.who, "tablet")["token"])
    a.push("init", 40, name="Sam", timezone="Europe/Berlin")
    a.push("add", 39, name="Side plank", position="1:side_lying", sets=2, hold=20)
    a.push("add", 39, name="Bird dog", position="2:quadruped", sets=3, reps=6, per_side=True)
    a.push("add", 39, name="Dead bug", position="1:supine", sets=3, reps=8)
    a.push("deconstruct", 30, exercise="Side plank", into=["Side-lying leg lift", "Short-lever side plank"],
           reason="the QL flares")
    a.push("adapt", 25, exercise="Bird dog", direction="hinge:sagittal", target=["glutes"], reason="therapist")
    a.push("promote", 20, exercise="Dead bug", force=True, reason="it calms the back")
    stale = a.who.ledger(app).program().version
    a.push("regress", 5, exercise="Bird dog", sets=2, reason="sore")
    conflict = b.push("progress", 4, base_version=stale, exercise="Bird dog", sets=4, reason="easy")
    rejected = b.push("log", 3, exercise="Bird dog", pain_before=11)
    assert (conflict["status"], rejected["status"]) == ("conflict", "rejected")
    sync_report = {"pushed": 2, "applied": 0, "duplicate": 0, "conflict": 1, "rejected": 1, "pulled": 0,
                   "conflicts": [conflict], "rejections": [rejected]}
    yield a.who.ledger(app), sync_report
    app.close()


def outputs(ledger, sync_report) -> dict[str, tuple[dict, str]]:
    log = ledger.conflict_log()
    listed = {"conflicts": render.conflict_rows({"conflicts": list(log.conflicts.values())})}
    shown = queries.show(ledger, NOW)
    history = queries.history(ledger)
    diff = queries.diff(ledger, NOW - timedelta(days=35), NOW)
    return {
        "show": (shown, render.program(shown)),
        "history": (history, render.history(history, BERLIN)),
        "diff": (diff, render.diff(diff, BERLIN)),
        "conflicts": (listed, render.conflicts(listed, BERLIN)),
        "sync": (sync_report, _sync_text(sync_report)),
    }


def terminal(renderable) -> str:
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=140, highlight=False).print(renderable)
    return out.getvalue()


def test_text_names_exercises_and_never_shows_ids_or_literals(built):
    ledger, sync_report = built
    texts = outputs(ledger, sync_report)
    for name, (data, text) in texts.items():
        assert not ID.search(text), f"{name}: {ID.search(text).group()!r} in\n{text}"
        assert not LITERAL.search(text), f"{name}: {LITERAL.search(text).group()!r} in\n{text}"
    assert "components: none -> Side-lying leg lift, Short-lever side plank" in texts["diff"][1]
    assert "signature: no -> yes; forced past the evidence rule" in texts["history"][1]
    assert "  1  progress Bird dog  open  recorded " in texts["conflicts"][1]
    assert "conflict (Bird dog): " in texts["sync"][1] and "pain_before" in texts["sync"][1]
    # --json keeps the ids beside the names
    promote = next(e for e in texts["history"][0]["entries"] if e["type"] == "promote")
    assert promote["exercise"] == "Dead bug" and uuid.UUID(promote["exercise_id"])
    (c,) = texts["conflicts"][0]["conflicts"]
    assert c["exercise"] == "Bird dog" and uuid.UUID(c["id"]) and c["number"] == 1


def test_terminal_tables_align_the_same_words(built):
    ledger, sync_report = built
    texts = outputs(ledger, sync_report)
    drawn = {
        "show": terminal(tables.program(texts["show"][0])),
        "history": terminal(tables.history(texts["history"][0], BERLIN)),
        "conflicts": terminal(tables.conflicts(texts["conflicts"][0], BERLIN)),
    }
    for name, text in drawn.items():
        plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
        assert "\x1b[" in text and "───" in plain, f"{name} is not a styled table:\n{text}"
        assert not ID.search(plain) and not LITERAL.search(plain), plain
    rows = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in drawn["show"].splitlines()]
    header = next(r for r in rows if "exercise" in r and "dose" in r)
    dead_bug = next(r for r in rows if "Dead bug" in r)
    bird_dog = next(r for r in rows if "Bird dog" in r)
    # one column per dimension, aligned: the dose starts where its header does, on every row
    assert dead_bug.index("3x8") == bird_dog.index("2x6 per side") == header.index("dose")
    assert dead_bug.startswith("*")
    assert "Short-lever side plank" in drawn["show"] and "deconstructed" in drawn["show"]
    assert "the QL flares" in drawn["history"] and "Bird dog" in drawn["conflicts"]


def test_a_terminal_says_before_the_start_as_the_plain_text_does(built):
    """show --as-of before the program's start, drawn for a terminal: the same words as piped, in its zone."""
    ledger, _ = built
    before = queries.show(ledger, NOW - timedelta(days=400))
    assert before["program"]["started"] is False
    plain = render.program(before)
    drawn = re.sub(r"\x1b\[[0-9;]*m", "", terminal(tables.program(before)))
    assert "(before the program's start: nothing recorded yet)" in plain
    assert [line.rstrip() for line in drawn.splitlines()] == plain.splitlines()


class Stream:
    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(("tty", "environ", "styled"), [
    (True, {"TERM": "xterm"}, True),
    (True, {"TERM": "xterm", "NO_COLOR": "1"}, False),
    (True, {"TERM": "xterm", "NO_COLOR": ""}, True),  # NO_COLOR counts only when not empty (no-color.org)
    (True, {"TERM": "dumb"}, False),
    (False, {"TERM": "xterm"}, False),  # piped
])
def test_tables_only_on_a_terminal_that_wants_them(tty, environ, styled):
    assert on_terminal(Stream(tty), environ) is styled
    assert on_terminal(io.StringIO(), {}) is False
