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

from api.blueprint import ApiBlueprint
from api.context import backend, principal
from api.errors import ApiProblem
from api.schemas import (
    DeviceListSchema,
    NoQuerySchema,
    PairedSchema,
    PairRequestSchema,
    RevokedSchema,
    RevokeQuerySchema,
)
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
    """Pair a new device with this account; the new token is in this response only."""
    from service.accounts import pair_device

    ctx = backend()
    return ctx.retrying(lambda: pair_device(ctx.app, principal(), body["name"]))


@blp.route("", methods=["GET"])
@blp.protected()
@blp.arguments(NoQuerySchema, location="query")
@blp.response(200, DeviceListSchema)
def devices(_query):
    """The account's devices, revoked ones included."""
    from service.accounts import list_devices

    ctx = backend()
    return {"devices": ctx.retrying(lambda: list_devices(ctx.app, principal()))}


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
