"""Each chart's content, read back from its SVG: lanes, markers, points and their titles.

The history (``chart_history``) is built through the one command path on a
real SQLite store, once for the module; every expected figure is worked out
by hand from it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from domain.errors import InvalidValue
from service import charts
from tests.integration import chart_history as h
from tests.integration.chart_history import chart_store  # noqa: F401 (a fixture)

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"


@pytest.fixture(scope="module")
def store(chart_store):  # noqa: F811
    return chart_store


def svg(ledger, name: str, **period) -> ET.Element:
    return ET.fromstring(charts.chart(ledger, name, **period))


def by_id(root: ET.Element) -> dict[str, ET.Element]:
    return {e.get("id"): e for e in root.iter() if e.get("id")}


def title(element: ET.Element) -> str:
    found = element.find(f"{SVG}title")
    assert found is not None, f"{element.get('id')} has no <title>"
    return found.text


def markers(root: ET.Element, gid: str) -> list[ET.Element]:
    return list(by_id(root)[gid].iter(f"{SVG}use"))


def test_timeline_has_a_lane_per_exercise_and_a_marker_per_decision_with_its_reason(store):
    ledger, ids = store
    root = svg(ledger, "timeline")
    found = by_id(root)
    for name, eid in ids["exercises"].items():
        assert name in title(found[f"lane-{eid}"])
    assert "paused" in title(found[f"lane-{ids['exercises']['Side plank']}-paused"])
    assert "deconstructed" in title(found[f"lane-{ids['exercises']['Side plank']}-deconstructed"])
    for kind in ("progress", "regress", "adapt", "deconstruct", "promote"):
        mark = found[f"point-v{ids['decisions'][kind]}"]
        assert mark.tag == f"{SVG}use"
        assert mark in markers(root, f"marks-{kind}")
    assert "reason: easy for a week" in title(found[f"point-v{ids['decisions']['progress']}"])
    regress = title(found[f"point-v{ids['decisions']['regress']}"])
    assert h.HOSTILE in regress and "flare </script> too much" in regress and "[flare]" in regress
    assert "adapt Leg lift · range: none -> partial · reason: hip pinch" in title(
        found[f"point-v{ids['decisions']['adapt']}"])
    assert "forced past the evidence rule · reason: calms the back" in title(
        found[f"point-v{ids['decisions']['promote']}"])
    assert "components: Leg lift, Short plank" in title(found[f"point-v{ids['decisions']['deconstruct']}"])
    # the deconstruction links to both components' lanes, inside the picture
    links = {a.get(XLINK) for a in root.iter(f"{SVG}a")}
    assert links == {f"#lane-{ids['exercises']['Leg lift']}", f"#lane-{ids['exercises']['Short plank']}"}
    assert all(a.get("target") is None for a in root.iter(f"{SVG}a"))
    # names are text, never markup: the hostile name is a label, no <img> element exists
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert h.HOSTILE in labels
    assert not list(root.iter("img")) and not list(root.iter(f"{SVG}img"))


def test_timeline_of_a_period_keeps_its_decisions_only(store):
    ledger, ids = store
    root = svg(ledger, "timeline", since=h.at(10, 0), until=h.at(0, 23))
    found = by_id(root)
    assert f"point-v{ids['decisions']['adapt']}" in found and f"point-v{ids['decisions']['promote']}" in found
    assert f"point-v{ids['decisions']['progress']}" not in found
    assert f"lane-{ids['exercises']['Side plank']}-paused" not in found
    assert f"lane-{ids['exercises']['Side plank']}-deconstructed" in found


def test_pain_chart_has_every_reading_the_mcid_band_and_the_flare(store):
    ledger, ids = store
    root = svg(ledger, "pain")
    found = by_id(root)
    sessions = [*ids["logs"], ids["hostile_log"], ids["red_log"]]
    assert {m.get("id") for m in markers(root, "series-before")} == {f"point-{i}-before" for i in sessions}
    assert {m.get("id") for m in markers(root, "series-after")} == {f"point-{i}-after" for i in sessions}
    assert [m.get("id") for m in markers(root, "series-next-day")] == [f"point-{ids['next_day']}-next-day"]
    assert [m.get("id") for m in markers(root, "series-checkin")] == [f"point-{i}-checkin" for i in ids["checkins"]]
    assert f"{h.HOSTILE} · pain before a session: 4" in title(found[f"point-{ids['hostile_log']}-before"])
    assert "Baseline pain 6" in title(found["mcid-band"]) and "2 points" in title(found["mcid-band"])
    flare = title(found[f"flare-{ids['flare']}"])
    assert flare.startswith(f"Flare from {h.at(33, 7):%Y-%m-%d %H:%M} to {h.at(29, 9):%Y-%m-%d %H:%M}")
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"Pain over time", "Pain (NPRS, 0-10 points)", "Date (Europe/Paris)"} <= texts


def test_breaks_chart_gives_the_longest_stretch_of_each_day_over(store):
    ledger, _ = store
    root = svg(ledger, "breaks")
    found = by_id(root)
    missed = found[f"point-{h.day(h.BREAK_DAY).isoformat()}"]
    met = found[f"point-{h.day(h.STEADY_DAY).isoformat()}"]
    assert missed in markers(root, "series-missed") and met in markers(root, "series-met")
    # 13:00 (a session) to 22:00; the 23:00 break is outside waking hours and does not count
    assert title(missed).startswith(f"{h.day(h.BREAK_DAY).isoformat()}: longest 540 min without a break, 4 breaks")
    assert title(met).startswith(f"{h.day(h.STEADY_DAY).isoformat()}: longest 45 min without a break, 18 breaks")
    assert "at most 60 minutes" in title(found["target"])


def test_breaks_data_follow_the_policy_defaults(store):
    ledger, _ = store
    data = charts.data(ledger, "breaks", since=h.at(h.BREAK_DAY, 0), until=h.at(h.STEADY_DAY, 23, 59))
    assert [(d["date"], d["breaks"], d["longest_without_break_min"], d["met_target"]) for d in data["days"]] == [
        (h.day(h.BREAK_DAY), 4, 540.0, False), (h.day(h.STEADY_DAY), 18, 45.0, True)]
    assert data["share_days_met"] == 0.5


def test_tension_chart_counts_each_muscle_by_side(store):
    ledger, _ = store
    found = by_id(svg(ledger, "tension"))
    assert title(found["tension-count-hip_flexors-both"]).startswith("hip flexors (both): noted 4 times, "
                                                                      "mean intensity 6")
    assert "noted 2 times, mean intensity 5; guarding 2" in title(found["tension-count-paraspinals-left"])
    assert "mean intensity 2.5" in title(found["tension-mean-paraspinals-right"])


def test_outcomes_chart_draws_each_instrument_with_its_mcid(store):
    ledger, _ = store
    root = svg(ledger, "outcomes")
    found = by_id(root)
    assert len(markers(root, "series-odi")) == 2
    assert len(markers(root, "series-nprs")) == 3  # the assessment and two check-ins
    assert "MCID 10" in title(found["mcid-odi"]) and "MCID 2" in title(found["mcid-nprs"])
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "ODI: improved (change -12.2, MCID 10" in texts and "not a diagnosis" in texts


def test_lights_chart_has_a_lane_per_exercise_and_a_shaped_marker_per_session(store):
    ledger, ids = store
    root = svg(ledger, "lights")
    found = by_id(root)
    dead_bug, hostile = ids["exercises"]["Dead bug"], ids["exercises"][h.HOSTILE]
    assert title(found[f"lane-{dead_bug}"]) == "Dead bug: 5 sessions: 1 green, 4 amber, 0 red"
    assert title(found[f"lane-{hostile}"]) == f"{h.HOSTILE}: 2 sessions: 0 green, 1 amber, 1 red"
    assert f"lane-{ids['exercises']['Side plank']}" not in found  # no session logged
    # every session once, in the series of its light; each light its own marker shape
    assert [m.get("id") for m in markers(root, "lights-red")] == [f"point-{ids['red_log']}"]
    assert [m.get("id") for m in markers(root, "lights-green")] == [f"point-{ids['logs'][-1]}"]
    assert {m.get("id") for m in markers(root, "lights-amber")} == {
        f"point-{i}" for i in [*ids["logs"][:-1], ids["hostile_log"]]}
    shapes = {light: {m.get(XLINK) for m in markers(root, f"lights-{light}")} for light in ("green", "amber", "red")}
    assert all(len(s) == 1 for s in shapes.values()) and len(set.union(*shapes.values())) == 3
    assert title(found[f"point-{ids['red_log']}"]) == (
        f"{h.at(31, 18):%Y-%m-%d %H:%M} · {h.HOSTILE} · red · pain during 7: above 5")
    assert title(found[f"point-{ids['logs'][-1]}"]).endswith("· Dead bug · green · pain after 2: at most 2")
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"Traffic lights per exercise", "Exercise", "Session date (Europe/Paris)", h.HOSTILE} <= set(texts)
    assert not list(root.iter("img")) and not list(root.iter(f"{SVG}img"))


def test_lights_data_are_the_sessions_lights_of_the_period(store):
    from service.insights.lights import judged_sessions
    from service.record import ledger_record

    ledger, ids = store
    since, until = h.at(35, 0), h.at(0, 23, 59)
    data = charts.data(ledger, "lights", since=since, until=until)
    judged = judged_sessions(ledger_record(ledger), since, until)
    assert [(p["id"], p["light"], p["reasons"]) for p in data["points"]] == [
        (s["id"], s["light"], s["light_reasons"]) for s in judged]
    assert ids["hostile_log"] not in {p["id"] for p in data["points"]}  # 45 days ago
    assert data["grouped"] is None


def test_lights_over_many_sessions_draw_each_weeks_or_months_worst_light(store):
    from service.charts.lights import _group, _tip

    start = h.at(100, 9)
    points = [{"id": str(i), "at": start + timedelta(days=i), "exercise_id": "e", "light": light,
               "reasons": []} for i, light in enumerate(["green"] * 5 + ["amber", "red", "green"])]
    for by, key in (("week", lambda at: "{}-W{:02d}".format(*at.isocalendar()[:2])),
                    ("month", lambda at: f"{at.year}-{at.month:02d}")):
        groups = _group(points, by)
        assert [g[by] for g in groups] == list(dict.fromkeys(key(p["at"]) for p in points))
        of_red = next(g for g in groups if g[by] == key(points[6]["at"]))
        assert of_red["light"] == "red" and of_red["id"] == f"{by}-{key(points[6]['at'])}-e"
        assert "1 red" in of_red["reasons"][0] and _tip(of_red, "Dead bug").startswith(f"{by} {of_red[by]} · ")
        assert all(g["at"].hour == 12 for g in groups)


def test_an_empty_period_says_so(store):
    ledger, _ = store
    for name, text in (("pain", "No pain recorded in this period"), ("lights", "No session logged in this period"),
                       ("timeline", "No exercise in the program in this period")):
        root = svg(ledger, name, since=h.at(80, 0), until=h.at(75, 0))
        assert by_id(root)["no-data"].find(f"{SVG}text").text == text


def test_output_is_deterministic_and_png_is_png(store):
    ledger, _ = store
    for name in charts.names():
        first = charts.chart(ledger, name, until=h.at(0, 0))
        assert first == charts.chart(ledger, name, until=h.at(0, 0)), name
        assert b"<dc:date>" not in first
    assert charts.chart(ledger, "tension", fmt="png").startswith(b"\x89PNG\r\n\x1a\n")


def test_unknown_chart_or_format_names_the_allowed_values(store):
    ledger, _ = store
    assert {"pain", "timeline", "breaks", "tension", "lights", "outcomes"} <= set(charts.names())
    with pytest.raises(InvalidValue, match=f"'heatmap' is not a chart; allowed: {', '.join(charts.names())}$") as e:
        charts.chart(ledger, "heatmap")
    assert e.value.field == "chart"
    with pytest.raises(InvalidValue, match="allowed: svg, png") as e:
        charts.chart(ledger, "pain", fmt="pdf")
    assert e.value.field == "format"


def test_weekly_means_over_many_points(store):
    from service.charts._common import weekly

    start = h.at(100, 9)
    points = [{"id": str(i), "at": start + timedelta(days=i), "pain": i % 3} for i in range(14)]
    weeks = weekly(points, "pain")
    assert sum(w["count"] for w in weeks) == 14
    assert all(w["id"].startswith("week-") for w in weeks)
