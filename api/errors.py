"""Every error the API answers, in one place, as ``application/problem+json`` (RFC 9457).

A problem has ``type``, ``title``, ``status`` and ``detail``; validation
problems add ``errors`` (``{"mutations.0.occurred_at": ["..."]}``: each bad
field named by its dotted path), a seq gap adds ``expected_seq``. The mapping:

- request validation (marshmallow/webargs, including flask-smorest's 422) -> 400
- ``AuthError`` -> 401 (with ``WWW-Authenticate: Bearer``) or 403
- ``NotFound`` -> 404; ``InvalidValue`` outside a push -> 400; ``Refused`` outside a push -> 409
- ``SeqError`` -> 409 with ``expected_seq`` (and ``reused`` when seqs of the batch carried other mutations)
- too large -> 413, 405 keeps its ``Allow`` header, rate limited -> 429 with ``Retry-After``
- an account's device cap -> 403 ``device-limit``; its pairing rate -> 429 ``pairing-rate`` with ``Retry-After``
- the store busy beyond the server's own retries, or the account's other devices saving first through
  them (``Contention``) -> 503 with ``Retry-After``
- anything else -> 500, with no internals in the body (the log has the traceback, not the message)

Domain problems inside a push are per-mutation results (``service.sync``), never HTTP errors.
"""

from __future__ import annotations

import logging
import math
import traceback
from typing import Any

from eventsourcing.persistence import OperationalError
from flask import Flask, Response, g, json
from werkzeug.exceptions import HTTPException

from domain.errors import DomainError, InvalidValue, NotFound, Refused
from service.accounts import AuthError, PairingLimit
from service.sync import Contention, SeqError

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://backstory.invalid/problems/"
log = logging.getLogger("backstory.api")


class ApiProblem(Exception):
    """A problem raised on purpose by the API's own code."""

    def __init__(self, status: int, slug: str, detail: str, *, title: str | None = None,
                 errors: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None,
                 **extra: Any):
        super().__init__(detail)
        self.status, self.slug, self.detail, self.title = status, slug, detail, title
        self.errors, self.headers, self.extra = errors, headers or {}, extra


class StoreBusy(Exception):
    """The store stayed busy (locked, pool exhausted) through the server's own retries."""


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(status: int, slug: str, detail: str, *, title: str | None = None,
            errors: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title or _title(status), "status": status,
                            "detail": detail}
    request_id = getattr(g, "request_id", None) if g else None
    if request_id:
        body["instance"] = f"urn:uuid:{request_id}"
    if errors:
        body["errors"], more = _listed(errors)
        if more:
            body["more_errors"] = more
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _listed(errors: dict[str, list[str]]) -> tuple[dict[str, list[str]], int]:
    """The first fields of ``errors`` with their first messages, and how many fields were left out.

    A body of many bad elements must not answer one entry per element (megabytes).
    """
    from api.limits import MAX_LISTED_ERRORS, MAX_LISTED_MESSAGES

    listed = {name: list(texts[:MAX_LISTED_MESSAGES]) for name, texts in list(errors.items())[:MAX_LISTED_ERRORS]}
    return listed, max(0, len(errors) - MAX_LISTED_ERRORS)


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"dotted.path": [messages]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            for path, texts in flatten(value, name).items():
                out.setdefault(path, []).extend(texts)
        return out
    if isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            return {prefix or "body": list(messages)}
        for value in messages:
            for path, texts in flatten(value, prefix).items():
                out.setdefault(path, []).extend(texts)
        return out
    return {prefix or "body": [str(messages)]}


def validation_problem(errors: dict[str, list[str]], status: int = 400, slug: str = "validation-error",
                       title: str = "Invalid request") -> Response:
    shown = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in list(errors.items())[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return problem(status, slug, f"{shown}{more}", title=title, errors=errors)


def _request_messages(error: HTTPException) -> dict[str, list[str]] | None:
    """The field errors webargs attached to an abort, keyed by field path (the location dropped)."""
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if not messages:
        return None
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "querystring", "view_args", "path",
                                                        "headers", "form", "files", "cookies"}:
        merged: dict[str, list[str]] = {}
        for location_messages in messages.values():
            for path, texts in flatten(location_messages).items():
                merged.setdefault(path, []).extend(texts)
        return merged
    return flatten(messages)


def http_problem(error: HTTPException) -> Response | HTTPException:
    code = error.code or 500
    if code < 400:
        return error  # redirects (e.g. a missing trailing slash) pass through
    if code in (400, 422):
        errors = _request_messages(error)
        if errors:
            return validation_problem(errors)
        return problem(400, "bad-request", error.description or "the request is not valid")
    headers = {k: v for k, v in error.get_headers() if k.lower() not in ("content-type", "content-length")}
    if code == 413:
        from flask import current_app

        cap = current_app.config.get("MAX_CONTENT_LENGTH")
        return problem(413, "payload-too-large", f"the request body is larger than the cap of {cap} bytes",
                       errors={"body": [f"at most {cap} bytes"]}, max_bytes=cap)
    if code == 404:
        return problem(404, "not-found", "no such resource")
    if code == 405:
        return problem(405, "method-not-allowed", "this method is not allowed on this resource", headers=headers)
    if code >= 500:
        return problem(code, "server-error", "the server could not complete the request")
    detail = error.description or _title(code)
    errors = _request_messages(error)
    if errors:
        detail = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in errors.items())
    return problem(code, _title(code).lower().replace(" ", "-").replace("'", ""), detail, headers=headers,
                   errors=errors)


def _api_problem(error: ApiProblem) -> Response:
    return problem(error.status, error.slug, error.detail, title=error.title, errors=error.errors,
                   headers=error.headers, **error.extra)


def _auth_problem(error: AuthError) -> Response:
    if error.status == 401:
        return problem(401, "unauthorized", str(error),
                       headers={"WWW-Authenticate": 'Bearer realm="backstory"'})
    return problem(403, "forbidden", str(error))


def _seq_problem(error: SeqError) -> Response:
    extra = {} if error.reused is None else {"reused": error.reused}
    return problem(409, "seq-gap", str(error), title="Seq does not follow on", expected_seq=error.expected_seq,
                   **extra)


def _domain_problem(error: DomainError) -> Response:
    if isinstance(error, NotFound):
        return problem(404, "not-found", str(error), what=error.what)
    if isinstance(error, InvalidValue):
        return validation_problem({error.field: [str(error).removeprefix(f"{error.field}: ")]})
    if isinstance(error, PairingLimit):
        if error.retry_after is not None:
            return problem(429, "pairing-rate", str(error), title="Too many pairings", rule=error.rule,
                           headers={"Retry-After": str(max(1, math.ceil(error.retry_after)))})
        return problem(403, "device-limit", str(error), title="Too many devices", rule=error.rule)
    if isinstance(error, Refused):
        return problem(409, "refused", str(error), title="Refused", rule=error.rule)
    return problem(400, "domain-error", str(error))


def _busy_problem(error: Exception) -> Response:
    if not isinstance(error, StoreBusy):
        log.warning("store busy: %s (request %s)", type(error).__name__, getattr(g, "request_id", "-"))
    return problem(503, "busy", "the store is busy; retry shortly", headers={"Retry-After": "1"})


def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return http_problem(error)
    # The traceback's frames, not the message: a message may quote a request's content.
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error("unhandled %s (request %s)\n%s", type(error).__name__, getattr(g, "request_id", "-"), frames)
    log.debug("unhandled exception message: %s", error)
    return problem(500, "server-error", "the server could not complete the request")


def _http_server_problem(sock, status_int: int, reason: str, mesg: str) -> None:
    """What gunicorn answers a request it cannot read (bad request line or header, 414, 431), as a problem.

    gunicorn's own page is text/html and quotes the offending header or line;
    this one names only the status.
    """
    from gunicorn import util

    body = json.dumps({"type": TYPE_BASE + "unreadable-request", "title": reason, "status": status_int,
                       "detail": f"the HTTP request could not be read ({reason.lower()})"})
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
            f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n")
    util.write_nonblock(sock, (head + body).encode("latin-1"))


def install_http_server_problems() -> None:
    """Make the gunicorn running this process answer its own refusals as problem+json.

    Called by ``create_app``, which runs in each gunicorn worker (``backstory
    serve`` and ``gunicorn 'api.wsgi:app()'`` alike); a no-op outside gunicorn.
    """
    import sys

    util = sys.modules.get("gunicorn.util")
    if util is not None and "gunicorn.workers.base" in sys.modules:
        util.write_error = _http_server_problem


def register(app: Flask) -> None:
    app.register_error_handler(ApiProblem, _api_problem)
    app.register_error_handler(AuthError, _auth_problem)
    app.register_error_handler(SeqError, _seq_problem)
    app.register_error_handler(DomainError, _domain_problem)
    app.register_error_handler(StoreBusy, _busy_problem)
    app.register_error_handler(Contention, _busy_problem)
    app.register_error_handler(OperationalError, _busy_problem)
    app.register_error_handler(HTTPException, http_problem)
    app.register_error_handler(Exception, _unexpected)
