"""The HTML report: self-contained, escaped, every section, and the period's program then and now."""

from __future__ import annotations

import re

import pytest

from service import charts
from service.report import SECTIONS, build
from tests.integration import chart_history as h
from tests.integration.chart_history import chart_store  # noqa: F401 (a fixture)


@pytest.fixture(scope="module")
def html(chart_store):  # noqa: F811
    ledger, _ = chart_store
    return build(ledger, h.at(50, 0), h.at(0, 23, 59))


def test_the_report_loads_nothing_and_runs_nothing(html):
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in html
    assert not re.search(r"<script|<link|<iframe|<object|<embed|<img|<[a-z][^>]*[\s:](src|href)=\"(?!#)|@import|url\(http", html, re.I)
    # the only URLs are the XML namespaces of the inline SVG
    assert set(re.findall(r"https?://[^\s\"')]+", html)) <= {
        "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://purl.org/dc/elements/1.1/",
        "http://creativecommons.org/ns#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "http://purl.org/dc/dcmitype/StillImage"}


def test_names_reasons_and_notes_are_text(html):
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "felt it &lt;/script&gt;&lt;b&gt;here&lt;/b&gt;" in html
    assert "flare &lt;/script&gt; too much" in html
    assert "</script>" not in html and "<b>here" not in html


def test_every_section_and_chart_is_there(html):
    for section in SECTIONS:
        assert f'<section id="{section.id}"' in html
    assert html.count("<svg ") == len(charts.names())
    for gid in ("series-before", "marks-progress", "series-missed", "tension-count-hip_flexors-both", "series-odi"):
        assert f'id="{gid}"' in html


def test_the_program_then_and_now_and_the_decisions_of_the_period(html):
    program = html[html.index('<section id="program"'):html.index('<section id="decisions"')]
    now, then = program.split("At the period")
    assert "Leg lift" in now and "Short plank" in now and "Side plank" in now  # deconstructed, still listed
    assert "Leg lift" not in then and "Dead bug" in then
    decisions = html[html.index('<section id="decisions"'):html.index('<section id="charts"')]
    for reason in ("easy for a week", "aggravates the QL", "hip pinch", "calms the back"):
        assert reason in decisions
    assert "first fitting" not in decisions  # the adds were before the period


def test_signature_outcomes_and_print_styles(html):
    signature = html[html.index('<section id="signature"'):html.index('<section id="outcomes"')]
    assert "Dead bug" in signature and "forced past the rule" in signature
    outcomes = html[html.index('<section id="outcomes"'):html.index('<section id="insights"')]
    assert "ODI" in outcomes and "improved" in outcomes and "not a diagnosis" in outcomes
    assert "@page { size: A4;" in html and "@media print" in html


def section(html: str, id_: str) -> str:
    start = html.index(f'<section id="{id_}"')
    return html[start:html.index("</section>", start)]


def test_the_insights_of_the_period(html):
    from service.insights import HEURISTICS_NOTE

    insights = section(html, "insights")
    assert html.count(HEURISTICS_NOTE) == 1 and HEURISTICS_NOTE in insights  # once
    lights = insights[insights.index('id="insights-lights"'):insights.index('id="insights-tension"')]
    rows = re.findall(r"<tr><td>([^<]*)</td>((?:<td class=\"num\">[^<]*</td>){4})", lights)
    counts = {name: re.findall(r">([^<]*)<", cells)[::2] for name, cells in rows}
    # the period (50 days ago to today) holds five Dead bug sessions (one green) and both of the hostile name's
    assert counts == {"Dead bug": ["5", "1", "4", "0"], "&lt;img src=x onerror=alert(1)&gt;": ["2", "0", "1", "1"]}
    tension = insights[insights.index('id="insights-tension"'):insights.index('id="insights-breaks"')]
    assert "<td>paraspinals</td><td>left</td>" in tension and ">5</td>" in tension and ">2.5</td>" in tension
    assert "consider regressing the position or range of &lt;img src=x onerror=alert(1)&gt;" in tension
    assert "1 red session(s) of &lt;img src=x onerror=alert(1)&gt;: consider regressing it" in tension
    breaks = insights[insights.index('id="insights-breaks"'):insights.index('id="insights-flares"')]
    assert "met on 1 of" in breaks and "at most 60 minutes without a break" in breaks
    flares = insights[insights.index('id="insights-flares"'):]
    assert f"{h.at(33, 7):%Y-%m-%d %H:%M}" in flares and f"{h.at(29, 9):%Y-%m-%d %H:%M}" in flares
    assert "&lt;img src=x onerror=alert(1)&gt; (1, 1, 0)" in flares  # one session, pain 6 -> 5
    assert "<img" not in insights


def test_a_flare_that_began_before_the_period_is_shown_from_it(chart_store):  # noqa: F811
    ledger, _ = chart_store
    insights = section(build(ledger, h.at(32, 0), h.at(0, 23, 59)), "insights")
    flares = insights[insights.index('id="insights-flares"'):]
    assert "before the period" in flares and f"{h.at(29, 9):%Y-%m-%d %H:%M}" in flares
    assert "(1, 1, 0)" in flares


def test_charts_drawn_in_a_helper_process_are_the_same_bytes(chart_store):  # noqa: F811
    """The CLI draws the report's charts in a forked helper while it reads (``service.charts._drawer``):
    the page is the same as drawn in turn, and a helper that dies is replaced by drawing here."""
    from service.charts._drawer import Drawer

    ledger, _ = chart_store
    now = h.at(0, 23, 59)
    html = build(ledger, h.at(50, 0), now, now)
    with Drawer(parallel=True) as drawer:
        assert drawer._pool is not None
        assert build(ledger, h.at(50, 0), now, now, drawer) == html
    with Drawer(parallel=True) as drawer:
        pending = drawer.submit("tension", charts.module("tension").collect(_source(ledger)), _source(ledger).zone)
        for process in list(drawer._pool._processes.values()):
            process.kill()
        assert pending.result().startswith(b"<?xml")
        assert build(ledger, h.at(50, 0), now, now, drawer) == html


def _source(ledger):
    from service.charts._source import Source

    return Source(ledger, h.at(50, 0), h.at(0, 23, 59))
