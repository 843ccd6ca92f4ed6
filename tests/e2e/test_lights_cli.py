"""How did the back respond? (issue 12 items 2 and 3): ``sessions``, ``pending``, the lights in ``history``
and ``recap``, the guarded ``progress``, a policy changed after the fact, and the same after export/import.

The history, built once per module (``module_cli``), has answers worked out by hand:

- Bridge (added day 30): day 20 green (pain during 1, next day better), day 15 amber (during 4), day 12
  red by its next day (pain before 2, next-day pain 5), then progressed on day 11 (forced past the red),
  day 10 the first session after it: pain during 3 (amber), no next-day response: pending.
- Bird dog (added day 30): day 8 pain during 7: red, answered "same".
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import day


@pytest.fixture(scope="module")
def sam(module_cli):
    c = module_cli
    c.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", day(31))
    c.ok("add", "Bridge", "--position", "1:supine", "--sets", "3", "--reps", "10", "--at", day(30))
    c.ok("add", "Bird dog", "--position", "2:quadruped", "--sets", "3", "--reps", "6", "--at", day(30))
    for at, before, during, after, verdict, pain in ((20, 3, 1, 1, "better", 2), (15, 3, 4, 3, "same", 3),
                                                     (12, 2, 2, 2, "same", 5)):
        c.ok("log", "Bridge", "--pain-before", str(before), "--pain-during", str(during), "--pain-after", str(after),
             "--at", f"{day(at)}T08:00")
        c.ok("next-day", "Bridge", "--verdict", verdict, "--pain", str(pain), "--at", f"{day(at - 1)}T08:00")
    refused = c("progress", "Bridge", "--reps", "12", "--reason", "easy", "--at", f"{day(11)}T09:00")
    assert refused.code == 1 and "is red" in refused.err and day(12) in refused.err, refused.err
    c.ok("progress", "Bridge", "--reps", "12", "--reason", "physio says go on", "--force", "--at", f"{day(11)}T09:00")
    c.ok("log", "Bridge", "--pain-before", "2", "--pain-during", "3", "--at", f"{day(10)}T08:00")
    c.ok("log", "Bird dog", "--pain-before", "3", "--pain-during", "7", "--at", f"{day(8)}T08:00")
    c.ok("next-day", "Bird dog", "--verdict", "same", "--at", f"{day(7)}T08:00")
    return c


def lights(c, *args: str) -> list[tuple[str, str]]:
    return [(s["exercise"], s["light"]) for s in c.ok("sessions", *args, "--json").json()["sessions"]]


def test_sessions_list_each_light_with_its_reasons_and_rule(sam):
    data = sam.ok("sessions", "--json").json()
    assert list(data) == ["sessions"]
    assert [(s["exercise"], s["light"]) for s in data["sessions"]] == [
        ("Bridge", "green"), ("Bridge", "amber"), ("Bridge", "red"), ("Bridge", "amber"), ("Bird dog", "red")]
    first = data["sessions"][0]
    assert {"id", "exercise", "occurred_at", "sets", "reps", "hold_s", "load", "pain_before", "pain_during",
            "pain_after", "effort", "tension", "next_day", "light", "light_reasons", "policy"} <= set(first)
    assert (first["next_day"]["verdict"], first["next_day"]["pain"]) == ("better", 2)
    assert first["policy"]["id"] == "pain-monitoring" and first["policy"]["version"] == 1
    assert data["sessions"][2]["light_reasons"][-1] == "next-day pain 5: at least pain before 2 + 2"
    assert data["sessions"][3]["next_day"] is None
    # one exercise, a period
    assert lights(sam, "Bird dog") == [("Bird dog", "red")]
    assert lights(sam, "--since", day(16), "--until", day(11)) == [("Bridge", "amber"), ("Bridge", "red")]
    text = sam.ok("sessions", "Bridge").out
    assert "red" in text and "next-day pain 5" in text and "not a diagnosis" in text
    assert sam("sessions", "Plank").code == 1
    assert sam("sessions", "--since", "soon").code == 2


def test_pending_lists_the_unanswered_first_session_after_the_progression(sam):
    bridge = sam.ok("sessions", "Bridge", "--json").json()["sessions"]
    assert sam.ok("pending", "--json").json() == {"pending": [
        {"session_id": bridge[3]["id"], "exercise": "Bridge", "occurred_at": bridge[3]["occurred_at"]}]}
    assert "Bridge" in sam.ok("pending").out


def test_history_and_recap_show_the_lights(sam):
    history = sam.ok("history", "Bridge", "--json").json()
    assert history["lights"] == {"green": 1, "amber": 2, "red": 1}
    assert [s["light"] for s in history["sessions"]] == ["green", "amber", "red", "amber"]
    forced = history["entries"][-1]
    assert forced["type"] == "progress" and forced["to"]["forced"] is True
    assert forced["to"]["override"]["light"] == "red" and forced["to"]["override"]["occurred_at"].startswith(day(12))
    text = sam.ok("history", "Bridge").out
    assert "forced past the pain-monitoring guard" in text and "sessions: green 1, amber 2, red 1" in text
    recap = sam.ok("recap", "--since", day(30), "--json").json()
    assert recap["lights"] == {"green": 1, "amber": 2, "red": 2}
    assert "lights: green 1, amber 2, red 2" in sam.ok("recap", "--since", day(30)).out


def test_progress_is_refused_while_the_last_session_awaits_its_next_day_or_is_red(sam):
    before = sam.ok("show", "--json").json()
    refused = sam("progress", "Bridge", "--reps", "14", "--reason", "easy")
    assert refused.code == 1 and "no next-day response yet" in refused.err and day(10) in refused.err
    assert "--force" in refused.err
    red = sam("progress", "Bird dog", "--reps", "8", "--reason", "easy")
    assert red.code == 1 and "is red" in red.err and day(8) in red.err
    assert sam.ok("show", "--json").json()["exercises"] == before["exercises"]  # a refusal changes nothing
    assert sam("progress", "Bridge", "--reps", "14", "--force").code == 2  # --reason is required


def test_a_policy_change_after_the_fact_changes_the_lights_from_its_valid_time_on(cli):
    cli.ok("init", "--name", "P", "--timezone", "UTC", "--at", day(20))
    cli.ok("add", "Bridge", "--position", "1:supine", "--sets", "3", "--reps", "10", "--at", day(20))
    for at in (15, 10, 5):
        cli.ok("log", "Bridge", "--pain-during", "3", "--at", f"{day(at)}T08:00")
    assert [light for _, light in lights(cli)] == ["amber", "amber", "amber"]
    cli.ok("policy", "set", "pain-monitoring", "--green-max", "3", "--reason", "physio", "--at", day(12))
    data = cli.ok("sessions", "--json").json()["sessions"]
    assert [s["light"] for s in data] == ["amber", "green", "green"]
    assert [s["policy"]["params"]["green_max"] for s in data] == [2, 3, 3]
    assert cli.ok("recap", "--since", day(20), "--json").json()["lights"] == {"green": 2, "amber": 1, "red": 0}


def test_the_answers_are_the_same_after_export_and_import(sam, tmp_path, fresh_cli):
    path = tmp_path / "export.jsonl"
    sam.ok("export", "--output", str(path))
    fresh_cli.ok("import", str(path))
    for args in (("sessions", "--json"), ("pending", "--json"), ("history", "Bridge", "--json"),
                 ("recap", "--since", day(30), "--until", day(0), "--json")):
        mine, theirs = sam.ok(*args).json(), fresh_cli.ok(*args).json()
        for data in (mine, theirs):
            data.pop("since", None), data.pop("until", None)
            for e in data.get("entries", []):
                e.pop("pending", None)
        assert mine == theirs, args
