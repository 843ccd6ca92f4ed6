"""Who is signed in, and which forms are believed: the dashboard's cookie, CSRF and security headers.

Every page but the sign-in form and the stylesheet needs a live session
(``api.web.sessions``): without one the browser is sent to ``/``. A session's
device is then charged like an API request (``api.app.admit``: the same rate
limits, the same principal, so every read reaches only that account).

Cookies: ``backstory_session`` (the session's secret) and ``backstory_signin``
(the sign-in form's CSRF nonce), both ``HttpOnly``, ``SameSite=Strict``,
``Path=/``; over HTTPS, or with ``SECURE_COOKIE`` set (``BACKSTORY_SECURE_COOKIE=1``
behind a proxy that ends TLS), they are ``Secure`` and named with the
``__Host-`` prefix, which a browser accepts only from a secure origin for the whole host.

A POST is believed only when its ``csrf`` field equals the session's token (the
sign-in form: the nonce of its cookie, double-submitted) and, when the browser
says where it comes from (``Origin``, ``Sec-Fetch-Site``), it comes from this
very site. Every dashboard answer carries a ``Content-Security-Policy`` that
allows no script at all, styles from this site only, and no framing.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, url_for

from api.context import backend
from api.web import bp
from api.web.sessions import Session, Sessions

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
#: Endpoints reached without a session.
OPEN = frozenset(("web.signin", "web.signin_post", "web.static", "web.favicon"))


class SessionsHolder:
    """The app's ``Sessions``, made at the first dashboard request (the API alone never creates its table)."""

    def __init__(self):
        self._sessions: Sessions | None = None
        self._lock = threading.Lock()

    def get(self) -> Sessions:
        with self._lock:
            if self._sessions is None:
                self._sessions = Sessions(backend().url)
            return self._sessions


def sessions() -> Sessions:
    return current_app.extensions["backstory_web"].get()


def secure() -> bool:
    return bool(request.is_secure or current_app.config.get("SECURE_COOKIE"))


def cookie_name(base: str) -> str:
    return f"__Host-{base}" if secure() else base


def set_cookie(response, base: str, value: str, max_age: int) -> None:
    response.set_cookie(cookie_name(base), value, max_age=max_age, path="/", secure=secure(), httponly=True,
                        samesite="Strict")


def clear_cookie(response, base: str) -> None:
    response.delete_cookie(cookie_name(base), path="/", secure=secure(), httponly=True, samesite="Strict")


def session_secret() -> str | None:
    return request.cookies.get(cookie_name("backstory_session"))


def current() -> Session:
    return g.web_session


class CsrfRefused(Exception):
    """A POST not sent by this dashboard's own form (403)."""


def check_post(expected: str | None) -> None:
    """Refuse a POST that is cross-site or lacks the form's CSRF token (``CsrfRefused``)."""
    origin = request.headers.get("Origin")
    # Behind a proxy that rewrites Host, X-Forwarded-Host names the site (a page of another site cannot set it).
    hosts = {request.host, request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()}
    if origin is not None and (origin == "null" or urlsplit(origin).netloc not in hosts):
        raise CsrfRefused("the form was sent from another site")
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        raise CsrfRefused("the form was sent from another site")
    sent = request.form.get("csrf", "")
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused("the form's security token is missing or out of date; reload the page and send it again")


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


@bp.before_request
def _signed_in():
    if request.endpoint in OPEN:
        return None
    from api.app import admit

    ctx = backend()
    found = ctx.retrying(lambda: sessions().find(ctx.app, session_secret()))
    if found is None:
        response = redirect(url_for("web.signin"), 303)
        clear_cookie(response, "backstory_session")
        return response
    g.web_session = found
    admit(found.principal)
    return None


@bp.after_request
def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)  # a chart sets its own, stricter
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"  # no-referrer would make a form's Origin "null"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.endpoint not in ("web.static", "web.favicon"):
        response.headers["Cache-Control"] = "no-store"
    return response

