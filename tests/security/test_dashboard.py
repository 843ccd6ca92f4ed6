"""The dashboard's cookie, CSRF and isolation, against the package's real server (no browser needed).

A session cookie is HttpOnly, SameSite=Strict and a random secret the server
knows only by its hash: a forged, tampered or replayed-after-sign-out cookie,
or one whose device was revoked since, shows nothing and is sent to the
sign-in form. A POST without the form's CSRF token, or from another site, is
refused and changes nothing. Another account's session sees nothing of the
victim's, on every page and chart. The token is never put in a URL, a cookie
or the log.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.security._support import Device
from tests.security._web import WebClient, set_cookie_headers

pytestmark = pytest.mark.timeout(300)

PAGES = ["/program", "/program?as_of=2020-01-01", "/history", "/sessions", "/tension", "/recap", "/conflicts",
         "/signature", "/kit", "/outcomes", "/charts", "/day", "/day?date=2020-01-01", "/breaks", "/fitting",
         "/fitting?number=1", "/flares", "/pending", "/signature/explain"]
CHARTS = ["pain", "timeline", "breaks", "tension", "outcomes"]


def _signed_in(server, token: str) -> WebClient:
    client = WebClient(server.url)
    client.sign_in(token)
    return client


def _refused(reply) -> None:
    """Sent to the sign-in form, showing nothing."""
    assert reply.status == 303 and reply.headers["location"] in ("/", f"http://127.0.0.1:{reply_port(reply)}/"), reply


def reply_port(reply) -> str:
    return reply.headers.get("location", "").rsplit(":", 1)[-1].rstrip("/")


def test_sign_in_sets_a_strict_httponly_cookie_and_the_pages_show_the_program(server, victim):
    client = WebClient(server.url)
    form = client.get("/")
    assert form.status == 200 and 'method="post"' in form.text and 'type="password"' in form.text
    reply = client.sign_in(victim.phone.token)
    [header] = [h for h in set_cookie_headers(reply) if h.startswith("backstory_session=")]
    flags = {part.strip().lower() for part in header.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags and "secure" not in flags  # plain HTTP here
    assert victim.phone.token not in header and victim.phone.token.split("_", 2)[2] not in header
    assert victim.phone.token not in reply.headers["location"]
    page = client.get("/program")
    assert page.status == 200 and "Qzx Secret Squat" in page.text and "Wobbly Heron Pose" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    for target in PAGES:
        assert client.get(target).status == 200, target


@pytest.mark.parametrize("forge", ["random", "tampered", "token", "empty", "long", "other-name"])
def test_a_forged_or_tampered_cookie_shows_nothing(server, victim, forge):
    real = _signed_in(server, victim.phone.token).session()
    value = {"random": "A" * 43, "tampered": real[:-1] + ("A" if real[-1] != "A" else "B"),
             "token": victim.phone.token, "empty": "", "long": real * 50, "other-name": real}[forge]
    name = "session" if forge == "other-name" else "backstory_session"
    for target in ("/program", "/history", "/charts/timeline.svg"):
        reply = WebClient(server.url).get(target, headers={"Cookie": f"{name}={value}"})
        assert reply.status == 303 and reply.headers["location"].endswith("/"), (target, reply)
        assert not any(word in reply.text for word in victim.words)


def test_a_revoked_devices_session_ends_and_its_token_cannot_sign_in(server, victim):
    laptop = victim.phone.pair("web laptop qzx")
    client = _signed_in(server, laptop.token)
    assert client.get("/program").status == 200
    assert victim.phone.call("DELETE", f"/v1/devices/{laptop.device_id}").status == 200
    reply = client.get("/program")
    assert reply.status == 303 and "Qzx Secret Squat" not in reply.text
    again = WebClient(server.url)
    refused = again.post("/", {"csrf": again.csrf("/"), "token": laptop.token})
    assert refused.status == 403 and "revoked" in refused.text and again.session() is None


def test_signing_out_ends_the_session_even_for_a_copy_of_the_cookie(server, victim):
    client = _signed_in(server, victim.phone.token)
    copy = client.session()
    assert client.sign_out().status == 303
    assert client.session() is None  # the browser's cookie is deleted
    replay = WebClient(server.url).get("/program", headers={"Cookie": f"backstory_session={copy}"})
    assert replay.status == 303 and "Qzx Secret Squat" not in replay.text


def test_signing_in_again_ends_the_earlier_session(server, victim):
    client = _signed_in(server, victim.phone.token)
    before = client.session()
    fresh = WebClient(server.url)
    nonce = fresh.csrf("/")
    client.cookies["backstory_signin"] = fresh.cookies["backstory_signin"]  # the form of another tab
    assert client.post("/", {"csrf": nonce, "token": victim.phone.token}).status == 303
    assert client.session() not in (None, before)
    replay = WebClient(server.url).get("/program", headers={"Cookie": f"backstory_session={before}"})
    assert replay.status == 303


@pytest.mark.parametrize("attack", ["no-token", "wrong-token", "cross-origin", "cross-site-fetch", "null-origin"])
def test_a_post_without_the_forms_token_or_from_another_site_is_refused(server, victim, attack):
    client = _signed_in(server, victim.phone.token)
    csrf = client.csrf("/program")
    form = {"no-token": {}, "wrong-token": {"csrf": csrf[::-1]}}.get(attack, {"csrf": csrf})
    headers = {"cross-origin": {"Origin": "https://evil.example"},
               "cross-site-fetch": {"Sec-Fetch-Site": "cross-site"}, "null-origin": {"Origin": "null"}}.get(attack)
    reply = client.post("/signout", form, headers=headers)
    assert reply.status == 403 and ("another site" in reply.text or "security token" in reply.text), reply
    assert client.get("/program").status == 200  # still signed in: the forged sign-out changed nothing
    # The sign-in form too: a login CSRF (an attacker's account planted in the victim's browser) is refused.
    fresh = WebClient(server.url)
    nonce = fresh.csrf("/")
    signin = {**form, "token": victim.phone.token} if attack in ("no-token", "wrong-token") else \
        {"csrf": nonce, "token": victim.phone.token}
    refused = fresh.post("/", signin, headers=headers)
    assert refused.status == 403 and fresh.session() is None, refused


def test_another_accounts_session_sees_nothing_of_the_first(server, victim, attacker):
    client = _signed_in(server, attacker.token)
    secrets = victim.secrets
    seen = []
    targets = [*PAGES, *[f"/charts/{c}.svg" for c in CHARTS], *[f"/charts?name={c}" for c in CHARTS]]
    for target in targets:
        reply = client.get(target)
        assert reply.status in (200, 404), (target, reply)
        seen += [(target, s) for s in secrets if s.lower() in (reply.text + str(reply.headers)).lower()]
    assert seen == []
    # The victim's exercise is as unknown as a made-up one (the answer quotes only what was asked).
    theirs, made_up = (client.get(f"/history?exercise={quote(name)}") for name in ("Qzx Secret Squat", "Qzx Made Up"))
    assert theirs.status == made_up.status == 404
    assert theirs.text.replace("Qzx Secret Squat", "Qzx Made Up") == made_up.text
    theirs, made_up = (client.get(f"/signature/explain?exercise={quote(name)}")
                       for name in ("Qzx Secret Squat", "Qzx Made Up"))
    assert theirs.status == made_up.status == 404
    assert theirs.text.replace("Qzx Secret Squat", "Qzx Made Up") == made_up.text
    assert "Plain plank" in client.get("/program").text  # the attacker's own program


@pytest.mark.parametrize("token", ["bs1_" + "0" * 32 + "_" + "x" * 43, "not a token", "x" * 5000, "Bearer "])
def test_a_wrong_token_is_refused_without_being_echoed(server, token):
    client = WebClient(server.url)
    reply = client.post("/", {"csrf": client.csrf("/"), "token": token})
    assert reply.status in (400, 401) and client.session() is None, reply
    assert token.strip() not in reply.text and reply.mimetype == "text/html"


def test_a_token_in_a_url_is_refused_without_being_echoed(server, victim):
    client = WebClient(server.url)
    reply = client.get(f"/?token={quote(victim.phone.token)}")
    assert reply.status == 400 and victim.phone.token not in reply.text and "never goes in a URL" in reply.text
    assert client.session() is None


def test_hostile_names_are_text_in_the_html(server):
    device = Device.new_account(server, "hostile html")
    name, note = "<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>"
    results = device.push_ok(device.m("init", 3, name="Hostile </script> program"),
                             device.m("add", 2, name=name, position="1:supine", sets=2, reps=5, reason=note),
                             device.m("log", 1, exercise=name, pain_before=3, pain_after=2, note=note))
    assert {r["status"] for r in results} == {"applied"}, results
    client = _signed_in(server, device.token)
    for target in ("/program", "/history", "/sessions", "/recap", "/pending",
                   f"/signature/explain?exercise={quote(name)}"):
        page = client.get(target).text
        assert "&lt;img src=x onerror=alert(1)&gt;" in page, target
        assert "<img src=x" not in page and "<script>" not in page and "</script><" not in page, target


def test_the_tokens_and_session_secrets_never_reach_the_log(server, victim):
    client = _signed_in(server, victim.phone.token)
    secret = client.session()
    client.get(f"/history?exercise={quote('Qzx Secret Squat')}")
    client.sign_out()
    log = server.log_text()
    assert "GET /program 200" in log and "POST / 303" in log
    for text in (victim.phone.token, victim.phone.token.split("_", 2)[2], secret, "Qzx Secret Squat", "exercise="):
        assert text not in log
