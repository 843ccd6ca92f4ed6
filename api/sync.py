"""``POST /v1/sync/push`` and ``GET /v1/sync/pull`` (SPEC 5).

Push: the batch is checked as a whole (shape, caps) and then
handed to ``service.sync.push``, which applies each mutation atomically with
its outcome and saves the batch before this replies. Problems of one mutation
(a bad argument, a refused decision) are that mutation's result, never an HTTP
error; only protocol problems are (400, 409 seq gap, 413).

Pull: the account's feed after a cursor, from the projections, in feed
position order; see ``api.cursor``. It serves what the feed projection holds
after a bounded catch-up, and ``behind`` says how many stored events it has
not applied yet (0: the feed is complete up to now).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from flask import current_app

from api import cursor
from api.blueprint import ApiBlueprint
from api.context import backend, principal
from api.errors import ApiProblem
from api.sync_schemas import PullQuerySchema, PullResponseSchema, PushRequestSchema, PushResponseSchema

log = logging.getLogger("backstory.api")
blp = ApiBlueprint("sync", __name__, url_prefix="/v1/sync", description="Push mutations, pull the feed")


def _args_bytes(args: dict) -> int:
    return len(json.dumps(args, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _check_batch(mutations: list[dict]) -> None:
    config = current_app.config  # the batch cap is checked before validation (PushRequestSchema)
    args_cap = int(config["MAX_ARGS_BYTES"])
    too_big = {f"mutations.{i}.args": [f"at most {args_cap} bytes as JSON"]
               for i, m in enumerate(mutations) if _args_bytes(m["args"]) > args_cap}
    if too_big:
        raise ApiProblem(413, "args-too-large", f"a mutation's args are at most {args_cap} bytes as JSON: "
                                                f"{', '.join(too_big)}", errors=too_big, max_bytes=args_cap)


@blp.route("/push", methods=["POST"])
@blp.protected()
@blp.arguments(PushRequestSchema)
@blp.response(200, PushResponseSchema)
@blp.alt_response(409, response="CONFLICT", description="Seq gap, or seqs this device already used for other "
                  "mutations (listed in reused): the body names expected_seq; nothing was stored")
@blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
def push(body):
    """Push a batch of mutations; one result per mutation (applied, duplicate, conflict, rejected)."""
    from service.mutation import Mutation
    from service.sync import push as apply_batch

    mutations = body["mutations"]
    _check_batch(mutations)
    who = principal()
    batch = [Mutation(mutation_id=str(m["mutation_id"]), type=m["type"], occurred_at=m["occurred_at"],
                      device_id=str(who.device_id), args=m["args"], base_version=m["base_version"], seq=m["seq"])
             for m in mutations]
    ctx = backend()
    # A mutation too far in the future is rejected on its own (service.sync), never the whole batch.
    tolerance = timedelta(seconds=int(current_app.config["CLOCK_TOLERANCE_SECONDS"]))
    # The read models catch up when they are read (pull and every read endpoint), not here:
    # a push answers once its batch is durable.
    return _json(ctx.retrying(lambda: apply_batch(ctx.app, who, batch, tolerance=tolerance)))


def _json(body: dict):
    """A reply already in the shape its response schema documents, written without a second pass through it."""
    return current_app.response_class(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                                      mimetype="application/json")


@blp.route("/pull", methods=["GET"])
@blp.protected()
@blp.arguments(PullQuerySchema, location="query")
@blp.response(200, PullResponseSchema)
def pull(query):
    """The account's feed after a cursor: events, mutation outcomes and conflicts, in a stable order."""
    ctx = backend()
    who = principal()
    database_id = str(ctx.projections.database_id())
    account = str(who.account_id)
    try:
        after = cursor.decode(query["after"], database_id, account)
    except cursor.CursorError as e:
        raise ApiProblem(400, "bad-cursor", f"after: {e}", title="Unusable cursor", errors={"after": [str(e)]})
    ctx.catch_up()
    entries, has_more = ctx.projections.feed(who.program_id, after, query["limit"])
    position = entries[-1]["position"] if entries else after
    body = {"entries": entries, "next_cursor": cursor.encode(database_id, account, position), "has_more": has_more,
            "behind": ctx.projections.lag("feed")}
    # The entries are plain values already shaped by the feed projection (and documented by
    # PullResponseSchema); serialising them again through the schema doubled the cost of a pull.
    return _json(body)
