"""``/healthz`` (the process answers) and ``/readyz`` (ready or not: the store answers, the projections keep up).

``/readyz`` is public (a load balancer asks it) and says only ``ready`` or
503: how far the projections lag tells how busy every account is, so the lag
and each projection's position are shown only to the operator, whose token
(``OPERATOR_TOKEN``, ``BACKSTORY_OPERATOR_TOKEN``) comes as ``Authorization:
Bearer ...`` and is compared in constant time. A wrong one counts as a failed
authentication of the client's address (the same limit as a bad device
token); the answer is then the public one.

The projections lag too far when they are more than ``READY_MAX_LAG`` events
behind the store. Its default, ``DEFAULT_MAX_LAG``, applies on PostgreSQL,
where a follower keeps them current; on SQLite they catch up when they are
read, so a lag there says only that nobody read lately, and there is no
default limit (a configured one applies on both).
"""

from __future__ import annotations

import hmac
import logging

from flask import current_app, request

from api.blueprint import ApiBlueprint
from api.context import backend
from api.errors import ApiProblem
from api.forwarded import charge_failed_authentication
from api.schemas import HealthSchema, NoQuerySchema, ReadySchema

log = logging.getLogger("backstory.api")
blp = ApiBlueprint("health", __name__, description="Liveness and readiness")

#: Events the projections may lag behind the store (on PostgreSQL) before ``/readyz`` answers 503:
#: several seconds of the follower's catch-up (1,100-1,300 events/s with four devices pushing, bench/follow.py).
DEFAULT_MAX_LAG = 10_000
#: Shortest operator token accepted.
MIN_OPERATOR_TOKEN = 16


@blp.route("/healthz", methods=["GET"])
@blp.arguments(NoQuerySchema, location="query")
@blp.response(200, HealthSchema)
@blp.alt_response(414, response="REQUEST_URI_TOO_LONG")
def healthz(_query):
    """The process is alive (touches nothing else)."""
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.arguments(NoQuerySchema, location="query")
@blp.response(200, ReadySchema)
@blp.alt_response(414, response="REQUEST_URI_TOO_LONG")
@blp.alt_response(429, response="TOO_MANY_REQUESTS", description="Too many wrong operator tokens from this address")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE", description="The store does not answer, or the "
                                                                   "projections lag more than READY_MAX_LAG")
def readyz(_query):
    """Ready or not: the database answers and the projections keep up. The lag only for the operator's token."""
    operator = _is_operator()
    ctx = backend()
    try:
        ctx.app.recorder.max_notification_id()
    except Exception as e:  # noqa: BLE001 - any failure here means "not ready"
        log.warning("readiness: the store does not answer: %s", type(e).__name__)
        raise ApiProblem(503, "not-ready", "the database does not answer", headers={"Retry-After": "5"}) from None
    try:
        status = list(ctx.projections.status())
    except Exception as e:  # noqa: BLE001
        log.warning("readiness: projection status failed: %s", type(e).__name__)
        raise ApiProblem(503, "not-ready", "the projections cannot report their status",
                         headers={"Retry-After": "5"}) from None
    lags = [s.get("lag") for s in status if isinstance(s.get("lag"), int)]
    lag = max(lags) if lags else None
    limit = max_lag(ctx.url)
    if limit is not None and lag is not None and lag > limit:
        if operator:
            raise ApiProblem(503, "not-ready", f"the projections lag {lag} events behind the store (limit {limit})",
                             headers={"Retry-After": "5"}, lag=lag)
        raise ApiProblem(503, "not-ready", "the projections lag too far behind the store",
                         headers={"Retry-After": "5"})
    if not operator:
        return {"status": "ready"}
    return {"status": "ready", "database": "ok", "lag": lag, "projections": status}


def max_lag(url: str) -> int | None:
    """The configured lag limit, else the default on PostgreSQL and none on SQLite (see the module doc)."""
    configured = current_app.config.get("READY_MAX_LAG")
    if configured is not None:
        return int(configured)
    from service.config import parse_store

    return None if parse_store(url).is_sqlite else DEFAULT_MAX_LAG


def _is_operator() -> bool:
    """Whether the request carries the operator's token; a wrong token counts against the client's address."""
    header = request.headers.get("Authorization")
    if header is None:
        return False
    expected = current_app.config.get("OPERATOR_TOKEN") or ""
    scheme, _, given = header.partition(" ")
    if expected and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode()):
        return True
    charge_failed_authentication()
    return False
