"""What a person reads after syncing two devices (issue 11 item 3): ``conflicts`` and ``sync`` reports name
exercises and devices, never ids, and hold no Python literals; ``--json`` keeps the ids.

Three kinds of conflict, each recorded by a real server: an edit overridden by a concurrent, more
conservative one, a stale progression, and a progression decided without knowing the last session was red.
"""

from __future__ import annotations

import re

from tests.e2e.conftest import day
from tests.e2e.test_sync_devices import pair, server  # noqa: F401 (fixtures: a real server, two CLI devices)

ID = re.compile(r"\b[0-9a-f]{8}\b|[0-9a-f]{8}-[0-9a-f]{4}-")
LITERALS = re.compile(r"\b(True|False|None)\b|\[\]|\['|'\]|\{'|(^|[\s(:])'[^']+'")  # 's is English


def readable(text: str) -> str:
    assert not ID.search(text), text
    assert not LITERALS.search(text), text
    return text


def test_conflicts_and_sync_reports_name_exercises_and_devices(pair):
    phone, tablet = pair
    phone.ok("init", "--name", "Sam", "--timezone", "Europe/Berlin", "--at", day(30))
    for name in ("Dead bug", "Bridge", "Cat cow"):
        phone.ok("add", name, "--position", "1:supine", "--sets", "3", "--reps", "8", "--at", day(29))
    phone.ok("sync")
    first = tablet.ok("sync").out
    readable(first)
    assert "device tablet paired by first device" in first  # by name, though the pairing keeps only the id

    tablet.ok("regress", "Dead bug", "--reps", "6", "--reason", "pain", "--at", day(20))  # wins over the progress
    phone.ok("progress", "Dead bug", "--reps", "10", "--reason", "easy", "--at", day(20))
    tablet.ok("retire", "Bridge", "--reason", "knee", "--at", day(19))  # wins over the progress
    phone.ok("progress", "Bridge", "--sets", "4", "--reason", "easy", "--at", day(18))
    phone.ok("sync")
    readable(tablet.ok("sync").out)  # the regress and the retire win over the progressions already there
    readable(phone.ok("sync").out)
    phone.ok("progress", "Dead bug", "--sets", "5", "--reason", "easy", "--force", "--at", day(15))
    phone.ok("log", "Cat cow", "--pain-before", "2", "--pain-during", "8", "--pain-after", "8", "--at", day(17))
    tablet.ok("progress", "Dead bug", "--sets", "4", "--reason", "easy", "--force", "--at", day(15))  # stale
    tablet.ok("progress", "Cat cow", "--sets", "4", "--reason", "easy", "--at", day(14))  # its red session unseen
    readable(phone.ok("sync").out)
    readable(tablet.ok("sync").out)
    phone.ok("sync")

    data = phone.ok("conflicts", "--json").json()["conflicts"]
    assert [(c["type"], c["exercise"]) for c in data] == [
        ("progress", "Dead bug"), ("progress", "Bridge"), ("progress", "Dead bug"), ("progress", "Cat cow")]
    assert all(len(c["id"]) == 36 and len(c["exercise_id"]) == 36 for c in data)  # --json keeps the ids
    for cli in (phone, tablet):
        text = readable(cli.ok("conflicts").out)
        assert "Dead bug: this progress was overridden by a concurrent regress from the device tablet" in text
        assert "Bridge: this progress was overridden by a concurrent retire from the device tablet" in text
        assert f"the last session of Cat cow ({day(17)}) is red" in text
        assert "Dead bug changed since version" in text
        for command in (("history",), ("diff", day(30), "today"), ("show",), ("show", "--as-of", day(19))):
            readable(cli.ok(*command).out)
