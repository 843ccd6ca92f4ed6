"""The dashboard in process (Flask's test client on a real store): cookies over HTTPS, expiry, refusals as pages.

Over HTTPS, or with ``SECURE_COOKIE`` set behind a proxy, the cookies are
``Secure`` and ``__Host-`` named; a session past its expiry is refused and
deleted; a bad date or a too-long recap is a 400 page naming the field, as the
JSON endpoint names it; a read-only page refuses other methods.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from api.web.sessions import web_sessions
from tests.integration.test_api_support import Client, fresh_app


@pytest.fixture
def site(store_url):
    flask_app = fresh_app(store_url)
    sam = Client.new_account(flask_app, "sam")
    assert sam.push(sam.m("init", 40, name="Sam", timezone="Europe/Paris"),
                    sam.m("add", 30, name="Dead bug", position="1:supine", sets=3, reps=8)).status_code == 200
    yield flask_app, sam
    flask_app.extensions["backstory"].close()


def _sign_in(flask_app, token: str, base_url: str = "http://localhost/"):
    client = flask_app.test_client()
    form = client.get("/", base_url=base_url)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.get_data(as_text=True)).group(1)
    origin = base_url.rstrip("/")
    reply = client.post("/", data={"csrf": csrf, "token": token}, base_url=base_url,
                        headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"})
    return client, form, reply


@pytest.mark.parametrize("how", ["https", "configured"])
def test_cookies_are_secure_and_host_prefixed_over_https(store_url, how):
    flask_app = fresh_app(store_url, SECURE_COOKIE=how == "configured")
    try:
        sam = Client.new_account(flask_app, "sam")
        assert sam.push(sam.m("init", 2, name="Sam")).status_code == 200
        base = "https://localhost/" if how == "https" else "http://localhost/"
        client, form, reply = _sign_in(flask_app, sam.token, base)
        for answer, name in ((form, "__Host-backstory_signin"), (reply, "__Host-backstory_session")):
            header = next(h for h in answer.headers.getlist("Set-Cookie") if h.startswith(name + "="))
            assert {"Secure", "HttpOnly", "Path=/", "SameSite=Strict"} <= {p.strip() for p in header.split(";")}
        assert reply.status_code == 303
        assert client.get("/program", base_url=base).status_code == 200
    finally:
        flask_app.extensions["backstory"].close()


def test_an_expired_session_is_refused_and_deleted(site):
    flask_app, sam = site
    client, _, reply = _sign_in(flask_app, sam.token)
    assert client.get("/program").status_code == 200
    sessions = flask_app.extensions["backstory_web"].get()
    with sessions.engine.begin() as conn:  # the clock moves past the session's end
        conn.execute(update(web_sessions).values(expires_at=0.0))
    assert client.get("/program").status_code == 303
    with sessions.engine.connect() as conn:
        assert conn.execute(select(web_sessions)).first() is None


@pytest.mark.parametrize(("target", "field"), [("/program?as_of=2026-02-30", "as_of"),
                                               ("/program?known_at=yesterday-ish", "known_at"),
                                               ("/recap?since=2020-01-01&until=2026-01-01", "since"),
                                               ("/history?since=2999-01-01", "since"),
                                               ("/program?colour=red", "colour")])
def test_bad_input_is_a_page_naming_the_field(site, target, field):
    flask_app, sam = site
    client, _, _ = _sign_in(flask_app, sam.token)
    reply = client.get(target)
    text = reply.get_data(as_text=True)
    assert reply.status_code == 400 and reply.mimetype == "text/html" and f"{field}:" in text, text[-800:]
    api = sam.get("/v1" + target.split("?")[0], **dict(p.split("=") for p in target.split("?")[1].split("&")))
    assert api.status_code == 400 and field in api.json["errors"]  # the JSON endpoint says the same


def test_pages_are_read_only(site):
    flask_app, sam = site
    client, _, _ = _sign_in(flask_app, sam.token)
    for method in ("post", "put", "delete"):
        assert getattr(client, method)("/program").status_code == 405


@pytest.mark.parametrize(("value", "secure"), [("1", True), ("true", True), ("0", False), ("off", False)])
def test_secure_cookie_is_read_from_the_environment(value, secure):
    from api.wsgi import config_from_env

    assert config_from_env({"BACKSTORY_DB": "sqlite:////tmp/x.sqlite", "BACKSTORY_SECURE_COOKIE": value}
                           )["SECURE_COOKIE"] is secure
