"""Signing in with a device token, and out; the dashboard's error pages.

``GET /`` shows the form (or goes to the program when signed in); ``POST /``
reads the token from the form's body, checks it as the API checks a bearer
token (``service.accounts.authenticate``; a wrong one is charged to the
client's address like a failed API login), opens a session and sets its cookie.
The token is never put in a URL, a cookie or a log; a URL carrying one is
refused without echoing it. ``POST /signout`` ends the session on the server.
"""

from __future__ import annotations

from flask import make_response, redirect, render_template, request, url_for

from api.context import backend
from api.errors import ApiProblem, StoreBusy
from api.web import bp, guard
from api.web.sessions import SESSION_SECONDS
from domain.errors import DomainError, NotFound
from service.accounts import AuthError, authenticate

#: A device token is about 90 characters; anything much longer is not one.
MAX_TOKEN_CHARS = 200


def _form(status: int = 200, error: str | None = None):
    kept = request.cookies.get(guard.cookie_name("backstory_signin"), "")
    nonce = kept if 20 <= len(kept) <= 64 and kept.replace("-", "").replace("_", "").isalnum() else guard.new_nonce()
    response = make_response(render_template("web/signin.html", csrf=nonce, error=error), status)
    guard.set_cookie(response, "backstory_signin", nonce, 3600)
    return response


@bp.route("/", methods=["GET"])
def signin():
    if any(key.lower() in ("token", "authorization", "access_token") for key in request.args):
        return _form(400, "A token never goes in a URL: paste it in the form below. "
                          "Anyone who saw that address should be treated as having it: revoke the device.")
    ctx = backend()
    if ctx.retrying(lambda: guard.sessions().find(ctx.app, guard.session_secret())) is not None:
        return redirect(url_for("web.program"), 303)
    return _form()


@bp.route("/", methods=["POST"])
def signin_post():
    from api.forwarded import charge_failed_authentication

    try:
        guard.check_post(request.cookies.get(guard.cookie_name("backstory_signin")))
    except guard.CsrfRefused as e:
        return _form(403, str(e))
    token = request.form.get("token", "").strip()
    if not token:
        return _form(400, "token: paste a device token (it starts with bs1_)")
    if len(token) > MAX_TOKEN_CHARS:
        return _form(400, f"token: a device token is at most {MAX_TOKEN_CHARS} characters")
    ctx = backend()
    try:
        who = ctx.retrying(lambda: authenticate(ctx.app, f"Bearer {token}"))
    except AuthError as e:
        charge_failed_authentication()  # 429 (an ApiProblem) once this address failed too often
        return _form(e.status, "This device has been revoked." if e.status == 403 else "That token is not valid.")
    ctx.retrying(lambda: guard.sessions().end(guard.session_secret()))  # a session held before ends: no fixation
    secret = ctx.retrying(lambda: guard.sessions().open(who))
    response = redirect(url_for("web.program"), 303)
    guard.set_cookie(response, "backstory_session", secret, SESSION_SECONDS)
    guard.clear_cookie(response, "backstory_signin")
    return response


@bp.route("/signout", methods=["POST"])
def signout():
    try:
        guard.check_post(guard.current().csrf)
    except guard.CsrfRefused as e:
        return error_page(403, str(e))
    ctx = backend()
    ctx.retrying(lambda: guard.sessions().end(guard.session_secret()))
    response = redirect(url_for("web.signin"), 303)
    guard.clear_cookie(response, "backstory_session")
    return response


@bp.route("/favicon.ico", methods=["GET"])
def favicon():
    """The icon a browser asks for by itself (an SVG document, a chart opened alone, has no link to one)."""
    return bp.send_static_file("favicon.svg")


# ----- errors, as pages ---------------------------------------------------------------------------


def error_page(status: int, message: str, headers: dict | None = None):
    response = make_response(render_template("web/error.html", status=status, message=message), status)
    response.headers.update(headers or {})
    return response


@bp.errorhandler(ApiProblem)
def _problem(e: ApiProblem):
    return error_page(e.status, e.detail, e.headers)


@bp.errorhandler(DomainError)
def _domain(e: DomainError):
    if isinstance(e, NotFound):
        return error_page(404, str(e))
    return error_page(400, str(e))


@bp.errorhandler(AuthError)
def _auth(e: AuthError):
    return error_page(e.status, str(e))


@bp.errorhandler(StoreBusy)
def _busy(_e):
    return error_page(503, "The store is busy; reload the page in a moment.", {"Retry-After": "1"})
