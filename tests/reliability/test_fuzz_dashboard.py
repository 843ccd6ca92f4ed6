"""Dashboard fuzzing: generated queries, forms and cookies against every page of a real server.

The dashboard is HTML, outside the OpenAPI document schemathesis reads, so
hypothesis drives it here: on the fuzzing server (``_fuzz_support``: a seeded
store, ``backstory serve``), a signed-in client and an anonymous one ask every
page with generated query strings (the pages' own fields and others, hostile
text, out-of-range dates), post generated forms to the sign-in and sign-out
forms, and send generated cookies. Every answer is one the dashboard means (no
5xx), an HTML page carries its Content-Security-Policy, a generated text is
never echoed unescaped, and the server's log shows no 5xx either. The seed is
fixed, so a run is reproducible.
"""

from __future__ import annotations

import os
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.reliability.test_fuzz import live  # noqa: F401 (the fixture: one seeded server per backend)
from tests.security._support import call
from tests.security._web import WebClient

pytestmark = pytest.mark.timeout(600)

EXAMPLES = int(os.environ.get("BACKSTORY_FUZZ_EXAMPLES", "40"))
PAGES = ["/", "/program", "/history", "/sessions", "/tension", "/recap", "/conflicts", "/signature", "/kit",
         "/outcomes", "/charts", "/charts/timeline.svg", "/charts/pain.svg", "/charts/nothing.svg", "/signout",
         "/nowhere"]
FIELDS = ["as_of", "known_at", "since", "until", "after", "limit", "exercise", "name", "n", "muscle", "side",
          "minutes", "for", "token", "csrf", "x"]
#: A marker no page writes: a generated text carrying it must never come back unescaped.
MARK = "<qzq"
MEANT = {200, 303, 400, 403, 404, 405, 413, 414, 429}

texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["2026-02-30", "0001-01-01", "9999-12-31", "2026-W09-7", "20260301", "-1", "0", "501",
                     "Sam's exercise", "Dead bug", "' OR 1=1 --", "%00", "\u202e", "../../etc/passwd"]),
    st.dates().map(lambda d: d.isoformat()),
).map(lambda t: MARK + t if t and t[0] == "<" else t)
queries = st.dictionaries(st.sampled_from(FIELDS), texts, max_size=4)


@pytest.fixture(scope="module")
def site(live):
    """The fuzzing server (``test_fuzz.live``: a seeded store per backend) and a client signed in to it."""
    server, seeded = live
    signed_in = WebClient(server.url)
    signed_in.sign_in(seeded.token)
    yield server, signed_in
    log = server.log_text()
    assert " 500 " not in log and "Traceback" not in log, log[-3000:]


def _check(reply, sent: str) -> None:
    assert reply.status in MEANT, (reply.status, sent, reply.text[:500])
    if reply.mimetype == "text/html":
        assert "default-src 'none'" in reply.headers.get("content-security-policy", ""), sent
        assert MARK not in reply.text, (sent, reply.text[:500])


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@SETTINGS
@seed(20261206)
@given(page=st.sampled_from(PAGES), query=queries, signed=st.booleans())
def test_generated_queries_get_meant_answers(site, page, query, signed):
    server, client = site
    target = page + ("?" + urlencode(query) if query else "")
    reply = client.get(target) if signed else WebClient(server.url).get(target)
    _check(reply, target)


@SETTINGS
@seed(20261207)
@given(target=st.sampled_from(["/", "/signout", "/program"]), form=queries, same_site=st.booleans(),
       signed=st.booleans())
def test_generated_forms_get_meant_answers_and_never_sign_in(site, target, form, same_site, signed):
    server, client = site
    fresh = WebClient(server.url)
    if signed:  # a session of its own, so a sign-out it achieves ends nothing the other tests use
        fresh.cookies = dict(client.cookies)
        fresh.cookies.pop("backstory_session", None)
    reply = fresh.post(target, form, same_site=same_site)
    _check(reply, f"POST {target} {form}")
    assert fresh.session() is None  # no generated form holds a valid token


@SETTINGS
@seed(20261208)
@given(name=st.sampled_from(["backstory_session", "__Host-backstory_session", "backstory_signin", "x"]),
       value=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=";,\\\""),
                     max_size=120),
       page=st.sampled_from(PAGES))
def test_generated_cookies_show_nothing(site, name, value, page):
    server, _ = site
    reply = call(server.url, "GET", page, headers={"Cookie": f"{name}={value}"})
    _check(reply, f"{page} {name}={value}")
    assert "Sam" not in reply.text and "Dead bug" not in reply.text
