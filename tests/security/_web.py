"""Support of the dashboard's tests (no tests here): a cookie-keeping HTTP client of the web pages.

``WebClient`` speaks to a real server as a browser without JavaScript would:
it keeps the cookies the server sets, reads a form's CSRF field from the page,
and posts forms url-encoded, with the ``Origin`` and ``Sec-Fetch-Site`` headers
a browser sends (or others, to play a cross-site page). Used by the security
tests and by the browser tests' setup.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from tests.security._support import Reply, call

#: The dashboard's route templates, as the request log line writes them.
DASHBOARD_ROUTES = ["/", "/signout", "/program", "/history", "/sessions", "/tension", "/recap", "/conflicts",
                    "/signature", "/kit", "/outcomes", "/charts", "/charts/<name>.svg", "/web/static/<filename>",
                    "/favicon.ico", "/day", "/breaks", "/fitting", "/flares", "/pending", "/signature/explain"]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def set_cookie_headers(reply: Reply) -> list[str]:
    """Every ``Set-Cookie`` of a reply (``call`` keeps a repeated header's values a line each)."""
    return [line for line in reply.headers.get("set-cookie", "").split("\n") if line]


def cookies_of(reply: Reply) -> dict[str, str]:
    """The cookies a reply sets (name -> value; an empty value for a deletion)."""
    found = {}
    for header in set_cookie_headers(reply):
        key, _, value = header.split(";", 1)[0].partition("=")
        found[key.strip()] = value.strip().strip('"')
    return found


class WebClient:
    def __init__(self, base: str):
        self.base = base
        self.cookies: dict[str, str] = {}
        self.origin = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}"

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        jar = "; ".join(f"{k}={v}" for k, v in self.cookies.items() if v)
        return {**({"Cookie": jar} if jar else {}), **(extra or {})}

    def _keep(self, reply: Reply) -> Reply:
        for key, value in cookies_of(reply).items():
            self.cookies[key] = value
        return reply

    def get(self, target: str, headers: dict[str, str] | None = None) -> Reply:
        return self._keep(call(self.base, "GET", target, headers=self._headers(headers)))

    def post(self, target: str, form: dict[str, str], headers: dict[str, str] | None = None,
             same_site: bool = True) -> Reply:
        sent = {"Origin": self.origin, "Sec-Fetch-Site": "same-origin"} if same_site else {}
        return self._keep(call(self.base, "POST", target, raw=urlencode(form).encode(),
                               content_type="application/x-www-form-urlencoded",
                               headers=self._headers({**sent, **(headers or {})})))

    def csrf(self, target: str) -> str:
        page = self.get(target)
        found = CSRF.search(page.text)
        assert found, page
        return found.group(1)

    def sign_in(self, token: str) -> Reply:
        reply = self.post("/", {"csrf": self.csrf("/"), "token": token})
        assert reply.status == 303 and reply.headers.get("location", "").endswith("/program"), reply
        return reply

    def sign_out(self) -> Reply:
        return self.post("/signout", {"csrf": self.csrf("/program")})

    def session(self) -> str | None:
        return self.cookies.get("backstory_session") or None


def push_demo(device, now=None, zone: str = "Europe/Paris") -> int:
    """The Quick start's five weeks of history (``service.demo``), pushed by ``device``; how many mutations."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from api.limits import MAX_BATCH
    from service.demo import mutations

    made = []
    for m in mutations(now or datetime.now(UTC), ZoneInfo(zone)):
        device.seq += 1
        made.append({"mutation_id": m.mutation_id, "seq": device.seq, "type": m.type,
                     "occurred_at": m.occurred_at.isoformat(), "base_version": None, "args": m.args})
    for start in range(0, len(made), MAX_BATCH):
        results = device.push_ok(*made[start:start + MAX_BATCH])
        assert {r["status"] for r in results} == {"applied"}, [r for r in results if r["status"] != "applied"]
    return len(made)
