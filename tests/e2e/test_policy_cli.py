"""The real CLI tunes a rule with a recorded decision: ``policy set`` and ``policy show`` (issue 12)."""

from __future__ import annotations

from tests.e2e.conftest import day, store_rows


def test_policy_set_show_history_and_refusals(cli):
    c = cli
    c.ok("init", "--name", "Sam", "--timezone", "Europe/Berlin", "--at", day(40))
    done = c.ok("policy", "set", "pain-monitoring", "--green-max", "3", "--reason", "physio's advice",
                "--at", day(10), "--json").json()
    assert done["result"]["params"] == {"green_max": 3, "amber_max": 5, "next_day_rise": 2}
    assert done["result"]["previous"]["green_max"] == 2

    now = {p["id"]: p for p in c.ok("policy", "show", "--json").json()["policies"]}
    assert now["pain-monitoring"]["params"]["green_max"] == 3 and now["pain-monitoring"]["version"] == 1
    assert now["pain-monitoring"]["changed_at"].startswith(day(10))
    assert now["fittings"]["params"] == {"min_days": 7, "max_days": 14} and now["fittings"]["changed_at"] is None
    before = c.ok("policy", "show", "pain-monitoring", "--as-of", day(20), "--json").json()["policies"]
    assert [p["params"]["green_max"] for p in before] == [2]
    assert "green_max=3 (default 2)" in c.ok("policy", "show", "pain-monitoring").out
    assert "not a diagnosis" in c.ok("policy", "show").out
    assert "not a diagnosis" in " ".join(c.ok("policy", "--help").out.split())
    assert "not diagnoses" in " ".join(c.ok("--help").out.split())

    history = c.ok("history", "--json").json()["entries"]
    assert [e["type"] for e in history] == ["init", "policy-set"] and history[1]["reason"] == "physio's advice"
    assert "pain-monitoring v1: green_max 2 -> 3" in c.ok("history").out

    rows = store_rows(c)
    for args, code, words in [
        (("policy", "set", "pain-monitoring", "--green-maxx", "3", "--reason", "x"), 2, "allowed: amber_max"),
        (("policy", "set", "pains", "--green-max", "3", "--reason", "x"), 2, "known: fittings"),
        (("policy", "set", "micro-breaks", "--waking-start", "7:00", "--reason", "x"), 2, "HH:MM"),
        (("policy", "set", "pain-monitoring", "--green-max", "3"), 2, "--reason"),
        (("policy", "set", "pain-monitoring", "--green-max", "7", "--reason", "x"), 1, "must not be above amber_max"),
        (("policy", "set", "pain-monitoring", "--green-max", "3", "--reason", "x"), 1, "already has these"),
        (("policy", "set", "pain-monitoring", "--reason", "x"), 1, "give at least one parameter"),
    ]:
        r = c(*args)
        assert (r.code, "Traceback" in r.err) == (code, False) and words in r.err, (args, r.err)
    assert store_rows(c) == rows


def test_the_signature_rule_in_force_decides_a_promotion(cli):
    c = cli
    c.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", day(30))
    c.ok("add", "Bridge", "--position", "1:supine", "--sets", "3", "--reps", "8", "--at", day(20))
    for n in (10, 9):
        c.ok("log", "Bridge", "--pain-before", "4", "--pain-during", "1", "--pain-after", "2", "--at", day(n))
    refused = c("promote", "Bridge", "--at", day(8))
    assert refused.code == 1 and "needs 5" in refused.err and "signature-evidence v1" in refused.err
    c.ok("policy", "set", "signature-evidence", "--min-exposures", "2", "--min-days", "2",
         "--reason", "my physio's rule", "--at", day(8))
    promoted = c.ok("promote", "Bridge", "--json").json()["result"]
    assert promoted["forced"] is False and promoted["evidence"]["rule"]["min_exposures"] == 2
