"""schemathesis hooks for the API fuzz test: the checks our own contract adds to schemathesis's.

Loaded by the schemathesis CLI through ``SCHEMATHESIS_HOOKS=tests.reliability._fuzz_hooks``.
``problem_details``: every 4xx/5xx answer is ``application/problem+json`` with
the RFC 9457 members, its ``status`` equal to the HTTP status, and field
errors shaped ``{"dotted.path": ["message", ...]}``. ``positive_400_names_a_rule``:
a 400 to a request the document calls valid names only fields whose rule the
document cannot state (``SEMANTIC_400``). ``no_secret_echo``: no answer
carries a token (``bs1_...``) other than a freshly paired device's own.
"""

from __future__ import annotations

import json
import re

import schemathesis

PROBLEM_JSON = "application/problem+json"
_TOKEN = re.compile(rb"bs1_[0-9a-f]{32}_[A-Za-z0-9_-]{20,}")
_REQUIRED = {"type": str, "title": str, "status": int, "detail": str}


def _header(response, name: str) -> str:
    values = response.headers.get(name.lower()) or response.headers.get(name) or []
    return values[0] if isinstance(values, list) and values else (values or "")


def problem_errors(status: int, content_type: str, content: bytes) -> list[str]:
    """What is wrong with an error answer, as sentences (empty when it is a proper problem)."""
    wrong = []
    if content_type.split(";")[0].strip() != PROBLEM_JSON:
        wrong.append(f"Content-Type is {content_type!r}, not {PROBLEM_JSON}")
    try:
        body = json.loads(content)
    except ValueError:
        return wrong + [f"the body is not JSON: {content[:200]!r}"]
    if not isinstance(body, dict):
        return wrong + [f"the body is not an object: {body!r}"[:300]]
    for key, kind in _REQUIRED.items():
        if not isinstance(body.get(key), kind):
            wrong.append(f"{key} is missing or not a {kind.__name__}")
    if body.get("status") != status:
        wrong.append(f"status {body.get('status')!r} differs from the HTTP status {status}")
    errors = body.get("errors")
    if errors is not None and not (isinstance(errors, dict) and all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(t, str) for t in v)
            for k, v in errors.items())):
        wrong.append(f"errors is not {{path: [messages]}}: {errors!r}"[:300])
    return wrong


@schemathesis.check
def problem_details(ctx, response, case):
    if response.status_code < 400:
        return None
    wrong = problem_errors(response.status_code, _header(response, "Content-Type"), response.content or b"")
    if wrong:
        raise AssertionError(f"{response.status_code} is not a proper problem: " + "; ".join(wrong))
    return None


#: The fields a 400 may name for a request the document calls valid: rules OpenAPI 3.0 cannot state
#: (a calendar date, since after until, a recap over a year, a cursor no pull or page made, occurred_at before 1900 or in the future,
#: text with NUL characters). Any other 400 to a schema-valid request is a failure.
_RANGE = re.compile(r"since|until")
_PAGE = re.compile(r"since|until|after")  # a read page's cursor, like pull's, must be one the server made
SEMANTIC_400 = {
    "/v1/sync/pull": re.compile(r"after"),
    "/v1/program": re.compile(r"as_of|known_at"),
    "/v1/history": _PAGE, "/v1/exercises/{exercise}/history": _PAGE, "/v1/sessions": _PAGE,
    "/v1/conflicts": re.compile(r"after"),
    "/v1/recap": _RANGE,  # and at most MAX_RECAP_DAYS between them
    "/v1/export/fhir": _RANGE,  # as the recap's
    "/v1/tension": _RANGE,  # since after until
    "/v1/day": re.compile(r"date"),  # a calendar date
    "/v1/breaks": _RANGE,  # as the recap's
    "/v1/sync/push": re.compile(r"mutations\.\d+\.(occurred_at|args(\..+)?)"),
    "/v1/devices": re.compile(r"name|after"),
}


@schemathesis.check
def positive_400_names_a_rule(ctx, response, case):
    meta = case.meta
    if response.status_code != 400 or meta is None or not meta.generation.mode.is_positive:
        return None
    try:
        named = list((json.loads(response.content).get("errors") or {}).keys())
    except (ValueError, AttributeError):
        named = []
    allowed = SEMANTIC_400.get(case.operation.path)
    if allowed is None or not named or not all(allowed.fullmatch(name) for name in named):
        raise AssertionError(f"a schema-valid request got 400 naming {named or 'no field'}; "
                             "only a rule the document cannot state may refuse it")
    return None


@schemathesis.check
def no_secret_echo(ctx, response, case):
    found = set(_TOKEN.findall(response.content or b""))
    if not found:
        return None
    if response.status_code == 201 and case.operation.path == "/v1/devices" and len(found) == 1:
        return None  # pairing answers the new device's token, once
    raise AssertionError(f"the answer carries {len(found)} token(s)")
