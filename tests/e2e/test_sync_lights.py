"""The guarded progression over sync (issue 12 item 3), two CLI devices and a real server process.

A progression decided on a device that had not seen a red session logged on another device is
kept as a conflict by the server, never silently applied, and resolving it (apply mine) forces
it with the evidence. The lights the API gives the device's token are the CLI's.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.e2e.conftest import day
from tests.e2e.test_sync_devices import device, server  # noqa: F401  (the harness: a real server process)


@pytest.fixture
def devices(server, tmp_path):  # noqa: F811
    url, admin = server
    token = admin.ok("account", "create", "sam", "--json").json()["token"]
    phone = device(tmp_path, "phone", url, token)
    tablet = device(tmp_path, "tablet", url, phone.ok("device", "pair", "tablet", "--json").json()["token"])
    return url, token, phone, tablet


def api_get(url: str, token: str, path: str) -> dict:
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.load(r)


def reps(cli) -> int:
    return {e["name"]: e for e in cli.ok("show", "--json").json()["exercises"]}["Bridge"]["prescription"]["reps"]


def test_a_progression_that_had_not_seen_a_red_session_is_kept_as_a_conflict(devices):
    url, token, phone, tablet = devices
    phone.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", day(10))
    phone.ok("add", "Bridge", "--position", "1:supine", "--sets", "3", "--reps", "10", "--at", day(10))
    phone.ok("log", "Bridge", "--pain-before", "3", "--pain-during", "1", "--at", f"{day(9)}T08:00")
    phone.ok("next-day", "Bridge", "--verdict", "better", "--at", f"{day(8)}T08:00")
    phone.ok("sync")
    tablet.ok("sync")
    tablet.ok("log", "Bridge", "--pain-before", "3", "--pain-during", "7", "--at", f"{day(2)}T08:00")
    tablet.ok("sync")

    phone.ok("progress", "Bridge", "--reps", "12", "--reason", "easy")  # the phone knows only the green session
    report = phone.ok("sync", "--json").json()
    assert (report["conflict"], report["applied"]) == (1, 0), report
    tablet.ok("sync")
    assert reps(phone) == reps(tablet) == 10
    [conflict] = phone.ok("conflicts", "--json").json()["conflicts"]
    assert conflict["type"] == "progress" and "is red" in conflict["reason"] and day(2) in conflict["reason"]
    assert tablet.ok("conflicts", "--json").json()["conflicts"][0]["id"] == conflict["id"]

    # the lights the server gives the device's token are the device's own
    cli_sessions = phone.ok("sessions", "--json").json()["sessions"]
    api_sessions = api_get(url, token, "/v1/sessions")["sessions"]
    fields = ("id", "exercise", "occurred_at", "pain_before", "pain_during", "pain_after", "next_day", "light",
              "light_reasons", "policy")
    assert [{k: s[k] for k in fields} for s in api_sessions] == [{k: s[k] for k in fields} for s in cli_sessions]
    assert [s["light"] for s in cli_sessions] == ["green", "red"]
    assert api_get(url, token, "/v1/pending") == phone.ok("pending", "--json").json() == {"pending": []}

    # resolved "apply mine", the progression is forced, with the evidence it went past
    tablet.ok("resolve", conflict["id"][:8], "--apply-mine")
    tablet.ok("sync")
    phone.ok("sync")
    assert reps(phone) == reps(tablet) == 12
    last = phone.ok("history", "Bridge", "--json").json()["entries"][-1]
    assert last["type"] == "progress" and last["to"]["forced"] is True
    assert last["to"]["override"]["light"] == "red" and last["to"]["override"]["occurred_at"].startswith(day(2))
    assert phone.ok("history", "--json").json() == tablet.ok("history", "--json").json()
