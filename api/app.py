"""The application factory: ``create_app(config) -> Flask``, the API's composition root.

One ``BackstoryApp`` (the event store) and one ``Projections`` (the read
models) per Flask app. Every ``/v1`` request needs ``Authorization: Bearer
TOKEN`` and only ever reaches that token's own account. Requests are rate
limited per device and per account (by their cost) and logged as one line (method, route, status, duration,
device id): never a header, a token, a body, a query string, a name, a note or
a pain value.

Config keys (all optional):

- ``DATABASE_URL``: the store (default ``service.config.resolve_url()``: ``BACKSTORY_DB`` or the SQLite file)
- ``MAX_CONTENT_LENGTH``, ``MAX_BATCH``, ``MAX_ARGS_BYTES``, ``MAX_QUERY_BYTES``,
  ``CLOCK_TOLERANCE_SECONDS``: the caps (``api.limits``)
- ``RATE_LIMIT`` (requests per second per device, 0 turns it off), ``RATE_BURST``;
  ``ACCOUNT_RATE_LIMIT``, ``ACCOUNT_RATE_BURST``: the same for all of an account's devices together
  (default ``limits.ACCOUNT_RATE_FACTOR`` times the device's)
- ``MAX_ACTIVE_DEVICES``, ``PAIRINGS_PER_HOUR``: an account's device caps (``api.limits``)
- ``READY_MAX_LAG``: ``/readyz`` answers 503 when the projections lag more (default: ``api.health``)
- ``OPERATOR_TOKEN``: a secret that makes ``/readyz`` show the projections' lag (default: none, it never does)
- ``TRUSTED_PROXIES``: reverse proxies whose ``X-Forwarded-For`` is believed (``api.forwarded``)
- ``PROJECTIONS_FACTORY``: ``callable(app, url)`` building the projections (default ``projections.Projections``)
- ``REQUEST_CATCH_UP``: notifications a request applies to the read models, at most, before it reads
- ``STORE_BUSY_RETRIES``: retries of a request's store work while the database is locked or busy
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, g, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from api import errors, limits
from api.context import Backend, backend
from api.errors import ApiProblem
from api.forwarded import charge_failed_authentication, parse_networks
from api.ratelimit import TokenBuckets, cost_of, retry_after
from api.schemas import Iso, ProblemSchema

log = logging.getLogger("backstory.api")
_RULE_ARG = re.compile(r"<(?:\w+:)?(\w+)>")

DEFAULTS: dict[str, Any] = {
    "MAX_CONTENT_LENGTH": limits.MAX_BODY_BYTES,
    "MAX_BATCH": limits.MAX_BATCH,
    "MAX_ARGS_BYTES": limits.MAX_ARGS_BYTES,
    "MAX_QUERY_BYTES": limits.MAX_QUERY_BYTES,
    "CLOCK_TOLERANCE_SECONDS": limits.CLOCK_TOLERANCE_SECONDS,
    "RATE_LIMIT": limits.RATE_LIMIT,
    "RATE_BURST": limits.RATE_BURST,
    "ACCOUNT_RATE_LIMIT": None,  # ACCOUNT_RATE_FACTOR times RATE_LIMIT
    "ACCOUNT_RATE_BURST": None,  # and times RATE_BURST
    "MAX_ACTIVE_DEVICES": limits.MAX_ACTIVE_DEVICES,
    "PAIRINGS_PER_HOUR": limits.PAIRINGS_PER_HOUR,
    "READY_MAX_LAG": None,
    "OPERATOR_TOKEN": None,
    "TRUSTED_PROXIES": (),
    "STORE_BUSY_RETRIES": 4,
    "REQUEST_CATCH_UP": limits.REQUEST_CATCH_UP,
    "API_TITLE": "backstory sync API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
}


def _header(description: str, required: bool, schema: dict) -> dict:
    return {"description": description, "required": required, "schema": schema}


#: The headers some problems carry, documented on their shared responses.
_PROBLEM_HEADERS = {
    401: {"WWW-Authenticate": _header("Bearer realm=\"backstory\"", True, {"type": "string"})},
    405: {"Allow": _header("The methods this resource allows", True, {"type": "string"})},
    429: {"Retry-After": _header("Seconds to wait before trying again", True,
                                 {"type": "integer", "minimum": 1})},
    503: {"Retry-After": _header("Seconds to wait before trying again", False,
                                 {"type": "integer", "minimum": 1})},
}


#: What the shared responses mean here, where the status phrase says too little.
_DESCRIPTIONS = {
    403: "The device was revoked, or (pairing) the account has its most active devices: revoke one first",
    429: "Rate limited: too many requests from this device or from all of this account's devices (large "
         "pages and recaps count more), too many failed logins from this address, or (pairing) too many "
         "pairings this hour; wait Retry-After seconds",
}


class BackstoryApi(Api):
    """flask-smorest's Api with RFC 9457 problems: the documented error schema and the error handler."""

    ERROR_SCHEMA = ProblemSchema
    # No catch-all "default" response: each operation lists the statuses it can answer, so a
    # client (or a fuzzer's status check) can tell an undocumented status, a 500 above all.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error):
        return errors.http_problem(error)

    def _register_responses(self):
        import http

        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": _DESCRIPTIONS.get(status, status.phrase)}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, errors.PROBLEM_JSON)
                if status in _PROBLEM_HEADERS:
                    response["headers"] = _PROBLEM_HEADERS[status]
            elif not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, errors.PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def _projections_factory(config: dict):
    factory = config.get("PROJECTIONS_FACTORY")
    if factory is not None:
        return factory
    from projections import (
        Projections,  # lazily: the read side is built only with an app
    )

    return Projections


def create_app(config: dict | None = None) -> Flask:
    """A Flask app serving one store; ``config`` overrides ``DEFAULTS`` (see the module doc)."""
    from service.application import BackstoryApp, schema_lock
    from service.config import parse_store, resolve_url

    config = dict(config or {})
    flask_app = Flask(__name__)
    flask_app.config.update(DEFAULTS)
    flask_app.config.update(config)
    flask_app.json.sort_keys = False  # keep the schemas' field order on the wire
    url = flask_app.config.get("DATABASE_URL") or resolve_url()
    flask_app.config["DATABASE_URL"] = url
    flask_app.config["TRUSTED_PROXIES"] = parse_networks(flask_app.config["TRUSTED_PROXIES"])

    with schema_lock(url):
        store = BackstoryApp(parse_store(url).env)
        try:
            projections = _projections_factory(flask_app.config)(store, url)
        except BaseException:
            store.close()
            raise
    config = flask_app.config
    limiter = TokenBuckets(float(config["RATE_LIMIT"] or 0), int(config["RATE_BURST"]))
    factor = limits.ACCOUNT_RATE_FACTOR
    per_account = TokenBuckets(float(config["ACCOUNT_RATE_LIMIT"] if config["ACCOUNT_RATE_LIMIT"] is not None
                                     else factor * float(config["RATE_LIMIT"] or 0)),
                               int(config["ACCOUNT_RATE_BURST"] or factor * int(config["RATE_BURST"])))
    flask_app.extensions["backstory"] = Backend(store, projections, url, limiter,
                                                busy_retries=int(config["STORE_BUSY_RETRIES"]),
                                                account_limiter=per_account,
                                                catch_up_limit=int(config["REQUEST_CATCH_UP"]))

    api = BackstoryApi(flask_app, spec_kwargs={
        "info": {"description": "Sync and read API of backstory (SPEC 5, 7.2). Errors are application/problem+json "
                                "(RFC 9457)."},
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "A device token (bs1_...)"})
    api.register_field(Iso, "string", None)
    errors.register(flask_app)
    errors.install_http_server_problems()
    _hooks(flask_app)

    from api import day, devices, fhir, fittings, health, outcomes, pending, policies, reads, sync, tension, toolkit

    for blueprint in (sync.blp, devices.blp, reads.blp, outcomes.blp, policies.blp, fhir.blp, health.blp,
                      fittings.blp, toolkit.blp, tension.blp, day.blp, pending.blp):
        api.register_blueprint(blueprint)
    from api.web import register as register_dashboard

    register_dashboard(flask_app)
    return flask_app


# ----- per-request hooks: request id, caps, authentication, rate limiting, the log line -----------


def _hooks(flask_app: Flask) -> None:
    @flask_app.before_request
    def _begin():
        g.started = time.perf_counter()
        g.request_id = uuid.uuid4().hex
        g.device_id = None
        cap = flask_app.config["MAX_QUERY_BYTES"]
        if len(request.query_string) > cap:
            raise ApiProblem(414, "uri-too-long", f"the query string is longer than the cap of {cap} bytes",
                             errors={"query": [f"at most {cap} bytes"]})
        if request.url_rule is None or not request.path.startswith("/v1/"):
            return
        _authenticate()
        _check_streamed_body(flask_app.config["MAX_CONTENT_LENGTH"])

    @flask_app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = getattr(g, "request_id", "-")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")  # a note's HTML is never run as a page
        started = getattr(g, "started", None)
        took = (time.perf_counter() - started) * 1000 if started else 0.0
        route = (_RULE_ARG.sub(r"<\1>", request.url_rule.rule) if request.url_rule is not None
                 else _safe_path(request.path))
        method = request.method if request.method in _METHODS else "OTHER"  # any token is a method to HTTP
        log.info("%s %s %s %.1fms device=%s", method, route, response.status_code, took,
                 getattr(g, "device_id", None) or "-")
        return response


def _check_streamed_body(cap: int | None) -> None:
    """A chunked body (no Content-Length) over the cap is 413 too.

    Werkzeug stops reading such a body at the cap and hands on what it read,
    so without this a body over the cap was silently cut short (a 400 at best).
    """
    if cap is None or request.content_length is not None or "chunked" not in request.headers.get(
            "Transfer-Encoding", "").lower():
        return
    if len(request.get_data(cache=True)) >= cap:
        raise ApiProblem(413, "payload-too-large", f"the request body is larger than the cap of {cap} bytes",
                         errors={"body": [f"at most {cap} bytes"]}, max_bytes=cap)


_KNOWN_FIRST = ("v1", "healthz", "readyz", "openapi.json")
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def _safe_path(path: str) -> str:
    """An unmatched path for the log: its first segment if it is one of ours, else ``?`` (a path may carry names)."""
    first = path.strip("/").split("/", 1)[0]
    return "/" + (first if first in _KNOWN_FIRST else "?") + ("/..." if "/" in path.strip("/") else "")


def _authenticate() -> None:
    from service.accounts import AuthError, authenticate

    ctx = backend()
    header = request.headers.get("Authorization")
    try:
        who = ctx.retrying(lambda: authenticate(ctx.app, header))
    except AuthError:
        # Failed attempts count per client address (valid tokens are never slowed by them).
        charge_failed_authentication()
        raise
    admit(who)


def admit(who) -> None:
    """Make ``who`` the request's principal and charge the request to its device and account (429 when over).

    The API's bearer token and the dashboard's session cookie both end here.
    """
    ctx = backend()
    g.principal = who
    g.device_id = str(who.device_id)
    cost = cost_of(request.endpoint, request.args)
    for limiter, key, whose in ((ctx.limiter, f"device:{who.device_id}", "this device"),
                                (ctx.account_limiter, f"account:{who.account_id}", "this account's devices")):
        wait = limiter.take(key, cost) if limiter is not None else 0.0
        if wait:
            raise ApiProblem(429, "rate-limited", f"too many requests from {whose}; slow down",
                             headers={"Retry-After": retry_after(wait)})
