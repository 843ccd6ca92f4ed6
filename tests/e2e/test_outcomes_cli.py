"""The real CLI records outcome measures and weighs them (issue 13 items 1 and 2)."""

from __future__ import annotations

from tests.e2e.conftest import day, store_rows


def test_assess_outcomes_recap_and_refusals(cli):
    c = cli
    c.ok("init", "--name", "Sam", "--timezone", "UTC", "--at", day(60))
    first = c.ok("assess", "odi", "--answers", "3,2,1,-,0,2,1,1,2,-", "--at", day(50), "--json").json()
    assert (first["result"]["instrument"], first["result"]["score"]) == ("odi", 30.0)
    c.ok("assess", "odi", "--answers", "1,1,1,-,0,1,0,1,1,-", "--at", day(5))        # 6 / 40 = 15.0
    c.ok("assess", "rmdq", "--answers", "1,4,7,12", "--at", day(50))
    c.ok("assess", "psfs", "--activity", "lift-child=4", "--activity", "sit-1h=6", "--activity", "walk-30min=3",
         "--activity-name", "lift-child=Lift my child", "--at", day(50))
    text = c.ok("assess", "psfs", "--activity", "lift-child=7", "--activity", "sit-1h=6", "--activity",
                "walk-30min=3", "--activity", "stairs=5", "--activity-name", "lift-child=Lift my son",
                "--at", day(4)).out
    assert "psfs score 5.25" in text
    c.ok("assess", "nprs", "--pain", "6", "--at", day(50))
    c.ok("checkin", "--pain", "4", "--at", day(3))

    before = store_rows(c)
    refused = c("assess", "odi", "--answers", "3,2,1,-,0,2,-,1,-,0")
    assert refused.code == 1 and "answers: only 7 of 10 sections answered" in refused.err, refused.err
    bad = c("assess", "psfs", "--activity", "a=4", "--activity", "b=12", "--activity", "c=1")
    assert bad.code == 1 and "activity: activity b is 12; allowed 0..10" in bad.err and "Traceback" not in bad.err
    assert c("assess", "rmdq").code == 2
    assert store_rows(c) == before

    got = {i["instrument"]: i for i in c.ok("outcomes", "--json").json()["instruments"]}
    assert (got["odi"]["change"], got["odi"]["verdict"]) == (-15.0, "improved")
    assert got["rmdq"]["verdict"] == "single measurement"
    assert got["psfs"]["activities"][0]["name"] == "Lift my son" and got["psfs"]["verdict"] == "no important change"
    assert (got["nprs"]["latest"]["source"], got["nprs"]["verdict"]) == ("checkin", "improved")
    out = c.ok("outcomes").out
    assert "ODI: 30.0 on" in out and "-> improved" in out and "not a diagnosis" in out
    assert "not diagnoses" in c.ok("outcomes", "--help").out

    recap = c.ok("recap", "--since", day(10), "--json").json()
    assert [(a["instrument"], a["score"]) for a in recap["assessments"]] == [("odi", 15.0), ("psfs", 5.25)]
    assert "2 assessments:" in c.ok("recap", "--since", day(10)).out


def test_rmdq_both_ways_corrections_voids_and_an_assessment_a_few_minutes_ahead(cli):
    """The real CLI: RMDQ by --answers-yes-no and --answers, an assessment corrected and one voided moving the
    verdict across the MCID, and one recorded 5 minutes ahead (within the clock tolerance) counted at once."""
    from datetime import datetime, timedelta, timezone

    c = cli
    c.ok("init", "--name", "Sam", "--timezone", "Europe/Berlin", "--at", day(60))
    yes = {1, 2, 3, 5, 8, 13, 21, 22, 24}  # 9 statements apply
    base = c.ok("assess", "rmdq", "--answers-yes-no", ",".join("y" if n in yes else "n" for n in range(1, 25)),
                "--at", day(50), "--json").json()["result"]
    assert base["score"] == 9
    latest = c.ok("assess", "rmdq", "--answers", "1,4,7,12,20", "--at", day(10), "--json").json()["result"]

    def rmdq():
        return next(i for i in c.ok("outcomes", "--json").json()["instruments"] if i["instrument"] == "rmdq")

    assert (rmdq()["change"], rmdq()["verdict"]) == (-4, "no important change")  # just below the MCID of 5
    c.ok("correct", latest["fact_id"], "--answers", "1,4,7,12", "--reason", "misread one")
    assert (rmdq()["latest"]["score"], rmdq()["change"], rmdq()["verdict"]) == (4, -5, "improved")  # at it
    c.ok("correct", base["fact_id"], "--answers-yes-no", ",".join("y" if n in yes | {6} else "n" for n in range(1, 25)),
         "--reason", "missed one")
    assert (rmdq()["baseline"]["score"], rmdq()["change"], rmdq()["verdict"]) == (10, -6, "improved")  # above
    c.ok("void", latest["fact_id"], "--reason", "entered twice")
    assert (rmdq()["measurements"], rmdq()["verdict"]) == (1, "single measurement")

    ahead = (datetime.now(timezone.utc) + timedelta(minutes=5)).replace(microsecond=0).isoformat()
    c.ok("assess", "rmdq", "--answers", "1", "--at", ahead)
    assert (rmdq()["latest"]["score"], rmdq()["change"], rmdq()["verdict"]) == (1, -9, "improved")
