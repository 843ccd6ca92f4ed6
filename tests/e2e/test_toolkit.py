"""Fittings and the signature toolkit as a user reads them (issue 12, items 6 and 7).

One history, imported once per backend: three exercises promoted and one that meets the
rule without being promoted, a session of another above the pain-during limit and one
followed by a 'worse' next day, a closed fitting and an open one now 20 days old, one
flare that ended and one still going. Every answer below is worked out by hand. Then the
same answers after an export and an import into a fresh store.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.conftest import day


def at(n: int, minute: int = 0) -> str:
    return f"{day(n)}T12:{minute:02d}:00+00:00"


def history_file(path) -> None:
    rows = []
    recorded = datetime.now(timezone.utc) - timedelta(hours=1)

    def push(kind: str, n: int, minute: int = 0, **args) -> None:
        nonlocal recorded
        recorded += timedelta(seconds=1)
        rows.append({"mutation_id": str(uuid.uuid4()), "type": kind, "occurred_at": at(n, minute),
                     "device_id": "phone-1", "args": args, "recorded_at": recorded.isoformat()})

    push("init", 60, name="Robin", timezone="UTC")
    push("add", 59, 1, name="Bridge", position="1:supine", sets=3, reps=10)
    push("add", 59, 2, name="Dead bug", position="1:supine", sets=3, reps=8)
    push("add", 59, 3, name="Row", position="3", load="free_weight:5:kg", sets=3, reps=8)
    push("add", 59, 4, name="Band pull", position="2:kneeling", load="elastic:1:band", sets=2, reps=12,
         per_side=True)
    push("add", 59, 5, name="Cat camel", position="2:quadruped", sets=2, reps=10)
    push("fitting-open", 40, notes="baseline")
    push("fitting-close", 35)
    push("fitting-open", 20, notes="second")
    for n in (19, 17, 15, 13, 11):
        for minute, name in enumerate(("Bridge", "Dead bug", "Row", "Band pull")):
            push("log", n, 10 + minute, exercise=name, pain_before=4, pain_during=2, pain_after=2)
        if n != 11:
            push("log", n, 20, exercise="Cat camel", pain_before=4, pain_during=7 if n == 13 else 2, pain_after=2)
    push("flare-start", 9, pain=7)
    push("log", 8, 10, exercise="Bridge", pain_before=7, pain_during=3, pain_after=4)
    push("log", 8, 11, exercise="Dead bug", pain_before=6, pain_during=2, pain_after=4)
    push("log", 8, 12, exercise="Cat camel", pain_before=6, pain_during=4, pain_after=5)
    push("checkin", 8, 30, pain=8)
    push("next-day", 7, 0, exercise="Cat camel", verdict="worse")
    push("flare-end", 7, 30, pain=3)
    for name in ("Bridge", "Row", "Band pull"):
        push("promote", 6, reason="calms it", exercise=name)
    push("flare-start", 3, pain=5)
    push("log", 2, exercise="Band pull", pain_before=5, pain_during=1, pain_after=3)
    header = {"format": "backstory-mutations", "version": 1, "exported_at": datetime.now(timezone.utc).isoformat()}
    path.write_text("\n".join([json.dumps(header)] + [json.dumps(r) for r in rows]) + "\n")


@pytest.fixture(scope="module")
def robin(module_cli, tmp_path_factory):
    path = tmp_path_factory.mktemp("toolkit") / "history.jsonl"
    history_file(path)
    assert module_cli.ok("import", str(path), "--json").json()["refused"] == []
    return module_cli


def names(items: list[dict]) -> list[str]:
    return [i["exercise"] for i in items]


def test_show_says_the_open_fitting_is_due(robin):
    assert robin.ok("show", "--json").json()["fitting_due"] is True
    assert "fitting 2 open: fitting due" in robin.ok("show").out
    assert robin.ok("show", "--as-of", day(10), "--json").json()["fitting_due"] is False  # 10 days old then


def test_the_fitting_report_of_the_open_and_of_a_closed_fitting(robin):
    now = robin.ok("fitting", "report", "--json").json()
    assert now["fitting"] == {"number": 2, "opened_at": at(20), "closed_at": None}
    assert [d["type"] for d in now["decisions"]] == ["fitting-open", "promote", "promote", "promote"]
    by_name = {e["exercise"]: e for e in now["exercises"]}
    assert by_name["Bridge"]["lights"] == {"green": 5, "amber": 1, "red": 0}
    assert by_name["Cat camel"]["sessions"] == 5
    assert by_name["Cat camel"]["lights"] == {"green": 3, "amber": 0, "red": 2}  # pain during 7; then a worse day
    assert by_name["Cat camel"]["next_day"] == {"better": 0, "same": 0, "worse": 1, "missing": 4}
    [suggestion] = now["suggestions"]
    assert (suggestion["rule_id"], suggestion["exercise"], len(suggestion["facts"])) == ("pain-monitoring",
                                                                                      "Cat camel", 2)
    assert (now["next_due"], now["due"]) == (at(6), True)
    first = robin.ok("fitting", "report", "1", "--json").json()
    assert first["fitting"]["closed_at"] == at(35) and first["exercises"] == []
    assert first["next_due"] == at(33)  # closed after 5 days: the next is due 7 days after it opened
    text = robin.ok("fitting", "report").out
    assert "next fitting due" in text and "fitting due" in text and "Cat camel: 5 session(s)" in text
    assert "consider regressing" in text and "not a diagnosis" in text
    missing = robin("fitting", "report", "3")
    assert missing.code == 1 and "no fitting 3" in missing.err and "1 to 2" in missing.err
    assert robin("fitting", "report", "0").code == 2


def test_explain_judges_each_clause_and_candidates_are_the_unpromoted_that_meet_it(robin):
    out = robin.ok("signature", "--explain", "cat camel", "--json").json()
    clauses = {c["clause"]: c for c in out["clauses"]}
    assert out["met"] is False and out["rule"]["rule_id"] == "signature-evidence"
    assert (clauses["max_pain_during"]["measured"], clauses["max_pain_during"]["met"]) == (7, False)
    assert (clauses["worse_responses"]["measured"], clauses["worse_responses"]["met"]) == (1, False)
    assert (clauses["exposures"]["required"], clauses["exposures"]["measured"], clauses["exposures"]["met"]) == (
        5, 5, True)
    text = robin.ok("signature", "--explain", "Cat camel").out
    assert "[ ] pain during never above 5" in text and "does not meet the rule yet" in text
    assert names(robin.ok("signature", "--candidates", "--json").json()["candidates"]) == ["Dead bug"]
    assert "Dead bug: 6 exposures on 6 days" in robin.ok("signature", "--candidates").out
    assert [e["name"] for e in robin.ok("signature", "--json").json()["exercises"]] == ["Bridge", "Row", "Band pull"]
    assert robin("signature", "--explain", "Bridge", "--candidates").code == 2
    unknown = robin("signature", "--explain", "Plank")
    assert unknown.code == 1 and "no exercise named 'Plank'" in unknown.err


def test_kits_fit_the_budget_and_the_day(robin):
    full = robin.ok("kit", "--json").json()
    assert (full["for"], full["minutes_budget"]) == (None, 10)
    assert [(e["exercise"], e["minutes"]) for e in full["exercises"]] == [("Bridge", 3.0), ("Row", 2.6),
                                                                          ("Band pull", 3.7)]
    assert full["minutes_estimated"] == 9.3 and full["left_out"] == []
    short = robin.ok("kit", "--minutes", "5", "--json").json()
    assert names(short["exercises"]) == ["Bridge"] and names(short["left_out"]) == ["Row", "Band pull"]
    travel = robin.ok("kit", "--for", "travel", "--json").json()
    assert names(travel["exercises"]) == ["Bridge", "Band pull"]
    assert travel["left_out"][0]["exercise"] == "Row" and "equipment" in travel["left_out"][0]["why"]
    flare = robin.ok("kit", "--for", "flare", "--json").json()
    assert [(e["exercise"], e["flare_mean_drop"]) for e in flare["exercises"]] == [("Bridge", 3.0),
                                                                                   ("Band pull", 2.0)]
    assert "stage 3" in flare["left_out"][0]["why"]
    assert "kit for flare: 6.7 of 10 min" in robin.ok("kit", "--for", "flare").out
    assert robin("kit", "--for", "beach").code == 2 and robin("kit", "--minutes", "0").code == 2


def test_flares_rank_what_was_done_in_them(robin):
    first, second = robin.ok("flares", "--json").json()["flares"]
    assert (first["start"], first["end"], first["peak_pain"]) == (at(9), at(7, 30), 8)
    assert [(e["exercise"], e["sessions"], e["mean_drop"], e["worse_next_day"]) for e in first["exposures"]] == [
        ("Bridge", 1, 3.0, 0), ("Dead bug", 1, 2.0, 0), ("Cat camel", 1, 1.0, 1)]
    assert (second["start"], second["end"], second["peak_pain"]) == (at(3), None, 5)
    assert names(second["exposures"]) == ["Band pull"]
    text = robin.ok("flares").out
    assert "still going" in text and "Bridge: 1 session(s), mean drop 3, 0 worse next day" in text


def reads(c) -> dict:
    """Every answer of this module's commands, without the moment each was asked at."""
    out = {}
    for args in (("show",), ("fitting", "report"), ("signature", "--explain", "Row"), ("kit", "--for", "flare"),
                 ("flares",)):
        data = c.ok(*args, "--json").json()
        for moment in ("at", "as_of", "days", "window_start"):
            data.pop(moment, None)
        out[" ".join(args)] = data
    return out


def test_the_same_answers_after_export_and_import(cli, fresh_cli, tmp_path):
    history_file(tmp_path / "history.jsonl")
    cli.ok("import", str(tmp_path / "history.jsonl"))
    cli.ok("export", "--format", "jsonl", "-o", str(tmp_path / "out.jsonl"))
    fresh_cli.ok("import", str(tmp_path / "out.jsonl"))
    assert reads(fresh_cli) == reads(cli)
