"""``/healthz`` (the process answers) and ``/readyz`` (the store answers; the projections' lag)."""

from __future__ import annotations

import logging

from flask import current_app

from api.blueprint import ApiBlueprint
from api.context import backend
from api.errors import ApiProblem
from api.schemas import HealthSchema, NoQuerySchema, ReadySchema

log = logging.getLogger("backstory.api")
blp = ApiBlueprint("health", __name__, description="Liveness and readiness")


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
@blp.alt_response(503, response="SERVICE_UNAVAILABLE", description="The store does not answer, or the "
                                                                   "projections lag more than READY_MAX_LAG")
def readyz(_query):
    """Ready: the database answers; reports the projections' position and lag."""
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
    limit = current_app.config.get("READY_MAX_LAG")
    if limit is not None and lag is not None and lag > int(limit):
        raise ApiProblem(503, "not-ready", f"the projections lag {lag} events behind the store (limit {limit})",
                         headers={"Retry-After": "5"}, lag=lag)
    return {"status": "ready", "database": "ok", "lag": lag, "projections": status}
