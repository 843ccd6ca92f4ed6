"""The blueprint every endpoint group uses: strict request parsing and the shared OpenAPI bits.

Request parsing (webargs under flask-smorest) is tightened here: validation
problems are 400 (not 422), unknown query parameters are refused like unknown
body fields, a body that is not JSON (415) or not valid JSON, including NaN and
Infinity, is refused, and so is text no store can keep verbatim (NUL
characters, which PostgreSQL text refuses, and lone surrogates, which UTF-8
cannot encode), each named by its path.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, abort

from api import limits


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _bad_text(value: str) -> str | None:
    if "\x00" in value:
        return "must not contain NUL characters (U+0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (no lone surrogates)"
    return None


# In valid JSON a NUL or a lone surrogate can only be written as a \u escape (raw control
# characters are invalid, and raw surrogates are not UTF-8), so a body without these escapes
# needs no walk for them.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]")


def _nesting(text: str, limit: int) -> int:
    """How deeply a valid JSON text nests (at most ``limit + 1``), by peeling innermost brackets."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = 0
    while brackets and depth <= limit:
        brackets = brackets.replace("[]", "").replace("{}", "")
        depth += 1
    return depth


def surely_clean(text: str, max_depth: int = limits.MAX_JSON_DEPTH) -> bool:
    """True when the valid JSON ``text`` has no text problems: then ``text_problems`` need not walk it."""
    return _SUSPECT_ESCAPE.search(text) is None and _nesting(text, max_depth) < max_depth


def _dotted(path: tuple | None) -> str:
    parts = []
    while path is not None:
        path, key = path
        parts.append(str(key))
    return ".".join(reversed(parts))


def text_problems(document: Any, max_depth: int = limits.MAX_JSON_DEPTH,
                  listed: int = limits.MAX_LISTED_ERRORS) -> tuple[dict[str, list[str]], int]:
    """Strings (values and keys) no store can keep verbatim, and nesting beyond ``max_depth``, by dotted path.

    The first ``listed`` bad paths in document order, and how many more there were. A path is
    spelled out only for a problem (a body of 100,000 bad strings made 100,000 of them).
    """
    found: dict[str, list[str]] = {}
    more = 0

    def note(path: tuple | None, problem: str) -> None:
        nonlocal more
        if len(found) >= listed:
            more += 1  # counted, not named
            return
        found.setdefault(_dotted(path) or "body", []).append(problem)

    stack: list[tuple[tuple | None, Any, int]] = [(None, document, 0)]
    while stack:
        path, node, depth = stack.pop()
        if isinstance(node, (dict, list)) and depth >= max_depth:
            note(path, f"is nested too deeply (at most {max_depth} levels)")
            continue
        if isinstance(node, str):
            problem = _bad_text(node)
            if problem:
                note(path, problem)
        elif isinstance(node, dict):
            children = []
            for key, value in node.items():
                problem = _bad_text(key)
                child = (path, "?" if problem else key)
                if problem:
                    note(child, f"a key {problem}")
                children.append((child, value, depth + 1))
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(((path, i), node[i], depth + 1) for i in range(len(node) - 1, -1, -1))
    return dict(sorted(found.items())), more


class StrictParser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": ma.RAISE,
                                   "querystring": ma.RAISE}

    def _raw_load_json(self, req):
        data = req.get_data(cache=True)
        if not core.is_json(req.mimetype):
            if data:
                abort(415, messages={"json": {"body": ["must be JSON, sent with Content-Type: application/json"]}})
            return core.missing
        if not data:
            return core.missing
        try:
            text = data.decode("utf-8")
            document = json.loads(text, parse_constant=_no_constants, parse_float=_finite)
        except (ValueError, UnicodeDecodeError, RecursionError):
            abort(400, messages={"json": {"body": ["is not valid JSON (UTF-8, no NaN or Infinity)"]}})
        problems, more = ({}, 0) if surely_clean(text) else text_problems(document)
        if more:
            from api.errors import ApiProblem

            shown = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in list(problems.items())[:5])
            raise ApiProblem(400, "validation-error", f"{shown} (and {len(problems) - 5 + more} more)",
                             title="Invalid request", errors=problems, more_errors=more)
        if problems:
            abort(400, messages={"json": problems})
        return document


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()

    def protected(self) -> Callable:
        """Document a ``/v1`` operation: bearer token required; 401, 403, 413, 414, 429 and 503 possible.

        413 too on a read: a body over the cap is refused whatever the method (``api.app``).
        """

        def decorate(view: Callable) -> Callable:
            for status, ref in ((401, "UNAUTHORIZED"), (403, "FORBIDDEN"), (413, "REQUEST_ENTITY_TOO_LARGE"),
                                (414, "REQUEST_URI_TOO_LONG"), (429, "TOO_MANY_REQUESTS"),
                                (503, "SERVICE_UNAVAILABLE")):
                view = self.alt_response(status, response=ref)(view)
            return self.doc(security=[{"bearerAuth": []}])(view)

        return decorate
