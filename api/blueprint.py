"""The blueprint every endpoint group uses: strict request parsing and the shared OpenAPI bits.

Request parsing (webargs under flask-smorest) is tightened here: validation
problems are 400 (not 422), unknown query parameters are refused like unknown
body fields, a body that is not JSON (415) or not valid JSON, including NaN and
Infinity, is refused.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import marshmallow as ma
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, abort


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


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
            return json.loads(data.decode("utf-8"), parse_constant=_no_constants)
        except (ValueError, UnicodeDecodeError, RecursionError):
            abort(400, messages={"json": {"body": ["is not valid JSON (UTF-8, no NaN or Infinity)"]}})


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()

    def protected(self) -> Callable:
        """Document a ``/v1`` operation: bearer token required; 401, 403, 429 and 503 possible."""

        def decorate(view: Callable) -> Callable:
            for status, ref in ((401, "UNAUTHORIZED"), (403, "FORBIDDEN"), (429, "TOO_MANY_REQUESTS"),
                                (503, "SERVICE_UNAVAILABLE")):
                view = self.alt_response(status, response=ref)(view)
            return self.doc(security=[{"bearerAuth": []}])(view)

        return decorate
