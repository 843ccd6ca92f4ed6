"""``/v1/devices``: pair a new device (its token is shown once), list and revoke the account's devices.

Revoking the device that paired the caller, or the account's last working
device other than the caller, is answered 409 ``confirmation-required`` (the
problem names the reasons and the ``confirm`` value) and changes nothing, until
the request is sent again with ``?confirm=<the revoked device's id>``. Every
revocation, who made it and whom it hit, is in the account's feed.

Only the caller's own account is ever reached: a device id of another account
(or no device at all) is 404, whatever is put in the URL.
"""

from __future__ import annotations

from uuid import UUID

from flask import current_app

from api.blueprint import ApiBlueprint
from api.context import backend, page_after, paged, principal
from api.errors import ApiProblem
from api.device_schemas import DeviceListSchema, PairRequestSchema, PairedSchema, RevokeQuerySchema, RevokedSchema
from api.schemas import PageQuerySchema
from domain.accounts import ConfirmationRequired
from domain.errors import NotFound, Refused

blp = ApiBlueprint("devices", __name__, url_prefix="/v1/devices", description="The account's devices")


@blp.route("", methods=["POST"])
@blp.protected()
@blp.arguments(PairRequestSchema)
@blp.response(201, PairedSchema)
@blp.alt_response(400, response="BAD_REQUEST")
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
def pair(body):
    """Pair a new device with this account; the new token is in this response only.

    An account has at most ``MAX_ACTIVE_DEVICES`` (20) unrevoked devices: one more is 403
    (``device-limit``; revoke one first). It pairs at most ``PAIRINGS_PER_HOUR`` (5) devices in
    any hour: one more is 429 with ``Retry-After``. Both are counted in the store.
    """
    from service.accounts import pair_device

    ctx = backend()
    return ctx.retrying(lambda: pair_device(ctx.app, principal(), body["name"], **pairing_caps()))


def pairing_caps() -> dict:
    """The account caps ``pair_device`` enforces, from the app's config (``api.limits``)."""
    config = current_app.config
    return {"max_active": config["MAX_ACTIVE_DEVICES"], "per_hour": config["PAIRINGS_PER_HOUR"]}


@blp.route("", methods=["GET"])
@blp.protected()
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, DeviceListSchema)
def devices(query):
    """The account's devices, revoked ones included, in the order they were paired, in pages."""
    from service.accounts import list_devices

    after = page_after(query, "devices", (int,))  # how many devices the earlier pages showed
    ctx = backend()
    every = ctx.retrying(lambda: list_devices(ctx.app, principal()))
    shown = after[0] if after else 0
    page = every[shown:shown + query["limit"]]
    return paged({"devices": page}, query, "devices", [shown + len(page)] if page else None,
                 shown + len(page) < len(every))


@blp.route("/<string:device_id>", methods=["DELETE"])
@blp.protected()
@blp.arguments(RevokeQuerySchema, location="query")
@blp.response(200, RevokedSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def revoke(query, device_id):
    """Revoke a device of this account: its token stops working at once (403). Revoking again is harmless.

    Revoking the device that paired the one asking, or the account's last working device other than the
    one asking, is answered 409 with the problem type `confirmation-required`, its `reasons` and `confirm`
    (the device's id), and changes nothing; sent again with `?confirm=<device id>` it is done. Every
    pairing and revocation is in the account's feed (`kind: device`, who did it in `data.by`).
    """
    from service.accounts import revoke_device

    try:
        wanted = str(UUID(device_id))
    except ValueError:
        raise NotFound("device", f"device: no device {device_id[:64]!r} in this account") from None
    confirmed = str(query.get("confirm")) == wanted  # another id confirms nothing: answered as if absent
    ctx = backend()
    try:
        return ctx.retrying(lambda: revoke_device(ctx.app, principal(), wanted, confirmed=confirmed))
    except ConfirmationRequired as e:
        raise ApiProblem(409, "confirmation-required", f"{e}; nothing was changed: to revoke it anyway, send "
                         f"DELETE /v1/devices/{wanted}?confirm={wanted}", title="Confirmation required",
                         confirm=wanted, reasons=e.reasons) from None
    except Refused as e:
        if e.rule == "device_revoked":
            return {"device_id": wanted, "revoked": True}
        raise
