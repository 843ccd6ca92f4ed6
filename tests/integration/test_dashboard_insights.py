"""The dashboard's insight pages (issue 14 item 3): day, breaks, fitting, flares, pending, signature candidates
and evidence, each signed in and read against its JSON endpoint's answer, with a hostile exercise name as text."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

import pytest

from tests.integration.test_api_support import Client, fresh_app
from tests.integration.test_dashboard import _sign_in

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def site(store_url):
    flask_app = fresh_app(store_url)
    sam = Client.new_account(flask_app, "sam")
    m = sam.m
    r = sam.push(m("init", 40, name="Sam", timezone="Europe/Paris"),
                 m("add", 39, name=HOSTILE, position="1:supine", sets=3, reps=10),
                 m("add", 39, name="Row", position="3", sets=3, reps=8),
                 m("fitting-open", 18),
                 *[m("log", 17 - d, exercise=name, pain_before=4, pain_during=2, pain_after=2)
                   for d in range(5) for name in (HOSTILE, "Row")],
                 m("flare-start", 9, pain=7), m("log", 8.5, exercise=HOSTILE, pain_before=7, pain_during=6,
                                                pain_after=4),
                 m("next-day", 8, exercise=HOSTILE, verdict="worse"), m("flare-end", 7.5),
                 *[m("break", 2 + h / 24, kind="walk", seconds=60) for h in (1, 2, 3)],
                 m("progress", 1.5, exercise="Row", reps=10, reason="easy", force=True),
                 m("log", 1, exercise="Row", pain_before=3, pain_during=2, pain_after=1))
    assert r.status_code == 200 and {x["status"] for x in r.json["results"]} == {"applied"}, r.json
    client, _, _ = _sign_in(flask_app, sam.token)
    yield client, sam
    flask_app.extensions["backstory"].close()


def page(client, target: str) -> str:
    reply = client.get(target)
    text = reply.get_data(as_text=True)
    assert reply.status_code == 200 and reply.mimetype == "text/html", (target, text[-800:])
    assert HOSTILE not in text  # never markup
    return text


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_day_shows_the_days_breaks_target_and_stretch(site):
    client, sam = site
    date = max(sam.get("/v1/breaks").json["days"], key=lambda d: d["breaks"])["date"]
    api = sam.get("/v1/day", date=date).json
    text = plain(page(client, f"/day?date={date}"))
    assert f"Breaks {len(api['breaks'])} (target {api['breaks_target']})" in text, text
    stretch = api["longest_without_break_min"]
    assert f"Longest stretch without a break {stretch:g} min" in text
    assert ("Target met yes" if api["met_target"] else "Target met no") in text
    flare_day = sam.get("/v1/flares").json["flares"][0]["exposures"][0]["facts"][0]
    when = next(s["occurred_at"] for s in sam.get("/v1/sessions", limit=100).json["sessions"] if s["id"] == flare_day)
    api = sam.get("/v1/day", date=when).json
    html = page(client, f"/day?date={quote(when)}")
    assert '<td data-label="Exercise">&lt;img src=x onerror=alert(1)&gt;</td>' in html
    lights = re.findall(r'<td data-label="Light"><strong>(\w+)</strong>', html)
    assert lights == [s["light"] for s in api["sessions"]] and lights


def test_breaks_shows_each_day_and_the_share_met(site):
    client, sam = site
    api = sam.get("/v1/breaks").json
    html = page(client, "/breaks")
    text = plain(html)
    for d in api["days"]:
        assert re.search(rf"{d['date']}</a></th><td data-label=\"Breaks\">{d['breaks']}</td>", html), html
    if api["share_days_met"] is not None:
        assert f"{round(api['share_days_met'] * 100)}%" in text


def test_the_fitting_report_and_a_bad_number(site):
    client, sam = site
    api = sam.get("/v1/fittings/report", number=1).json
    html = page(client, "/fitting?number=1")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    text = plain(html)
    for e in api["exercises"]:
        lights, nd = e["lights"], e["next_day"]
        assert (f"{e['exercise']} {e['sessions']} {lights['green']} / {lights['amber']} / {lights['red']} "
                f"{nd['better']} / {nd['same']} / {nd['worse']} / {nd['missing']}") in text, text
    for x in api["suggestions"]:
        assert x["message"] in text
    bad = client.get("/fitting?number=0")
    assert bad.status_code == 400 and "number:" in bad.get_data(as_text=True)
    assert client.get("/fitting?number=2").status_code == 404


def test_flares_show_peak_pain_and_each_exposure(site):
    client, sam = site
    api = sam.get("/v1/flares").json
    assert api["flares"]
    text = plain(page(client, "/flares"))
    for f in api["flares"]:
        assert f"Peak pain: {f['peak_pain']}" in text
        for e in f["exposures"]:
            assert f"{e['exercise']} {e['sessions']} {e['mean_drop']:g} {e['worse_next_day']}" in text, text


def test_pending_lists_the_sessions_awaiting_their_next_day(site):
    client, sam = site
    api = sam.get("/v1/pending").json
    assert "Row" in [p["exercise"] for p in api["pending"]]
    html = page(client, "/pending")
    shown = re.findall(r'<td data-label="Exercise">([^<]*)</td>', html)
    assert [unescape(name) for name in shown] == [p["exercise"] for p in api["pending"]]


def test_signature_candidates_and_explain_as_the_api_says(site):
    client, sam = site
    candidates = sam.get("/v1/signature/candidates").json["candidates"]
    assert [c["exercise"] for c in candidates] == ["Row"]
    html = page(client, "/signature")
    for c in candidates:
        assert f"{c['exercise']} explain {c['exposures']} {c['days']}" in plain(html)
    assert "<option>&lt;img src=x onerror=alert(1)&gt;</option>" in page(client, "/signature/explain")
    api = sam.get("/v1/exercises/Row/signature-evidence").json
    text = plain(page(client, "/signature/explain?exercise=Row"))
    assert text.count(" yes ") + text.count(" no ") >= len(api["clauses"])
    for c in api["clauses"]:
        assert f"{c['summary']}" in text and ("yes" if c["met"] else "no") in text
    assert ("every clause is met" in text) == (api["met"] and not api["signature"])
    hostile = page(client, "/signature/explain?exercise=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert "<h2>&lt;img src=x onerror=alert(1)&gt;</h2>" in hostile
    assert client.get("/signature/explain?exercise=Nope").status_code == 404


@pytest.mark.parametrize(("target", "field"), [("/day?date=2026-02-30", "date"), ("/breaks?since=2020-01-01", "since"),
                                               ("/flares?colour=red", "colour"), ("/pending?x=1", "x")])
def test_bad_input_names_the_field_as_the_api_does(site, target, field):
    client, _ = site
    reply = client.get(target)
    assert reply.status_code == 400 and f"{field}:" in reply.get_data(as_text=True)


def test_each_page_costs_what_its_json_endpoint_costs(store_url):
    from api.ratelimit import cost_of

    flask_app = fresh_app(store_url)
    try:
        endpoints = {rule.rule: rule.endpoint for rule in flask_app.url_map.iter_rules()}
        pairs = {"/day": "/v1/day", "/breaks": "/v1/breaks", "/fitting": "/v1/fittings/report",
                 "/flares": "/v1/flares", "/pending": "/v1/pending",
                 "/signature/explain": "/v1/exercises/<string:exercise>/signature-evidence"}
        assert {page: cost_of(endpoints[page], {}) for page in pairs} == \
            {page: cost_of(endpoints[api], {}) for page, api in pairs.items()}
    finally:
        flask_app.extensions["backstory"].close()
